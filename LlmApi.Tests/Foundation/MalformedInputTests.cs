using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using LlmApi.Tests.Infrastructure;
using LlmApi.Tests.Llm;

namespace LlmApi.Tests.Foundation;

/// <summary>The defects found by attacking the API with malformed input: each answers a clear 4xx, and nothing bad is stored.</summary>
[Collection(SharedApi.Name)]
public class MalformedInputTests(ApiFixture fixture)
{
    private static StringContent Json(string json, string contentType = "application/json") =>
        new(json, new MediaTypeHeaderValue(contentType));

    private static HttpRequestMessage Raw(HttpMethod method, string path, string? token, HttpContent content)
    {
        var request = ApiCalls.Request(method, path, token);
        request.Content = content;
        return request;
    }

    [Fact]
    public async Task A_lone_surrogate_in_tenant_settings_is_refused_and_nothing_is_stored()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();

        using var patch = await client.SendAsync(Raw(HttpMethod.Patch, "/api/tenant", admin.Token, Json("""{"settings":{"note":"\ud800"}}""")));

        var problem = await patch.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("$.settings.note", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        using var tenant = await client.SendAsync(HttpMethod.Get, "/api/tenant", admin.Token);
        Assert.Equal(HttpStatusCode.OK, tenant.StatusCode);
        Assert.Empty((await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("settings").EnumerateObject());
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", admin.Token));
        using var list = ApiCalls.Request(HttpMethod.Get, "/api/admin/tenants", null);
        list.Headers.Add("X-Operator-Key", fixture.OperatorKey);
        using var page = await client.SendAsync(list);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        using var _ = JsonDocument.Parse(await page.Content.ReadAsStringAsync()); // one whole, valid document
    }

    [Fact]
    public async Task A_lone_surrogate_in_a_typed_field_is_refused()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();

        using var response = await client.SendAsync(Raw(HttpMethod.Patch, "/api/tenant", admin.Token, Json("""{"name":"Bad \udc00 name"}""")));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("/api/chat", """{"model":"llama3","messages":["hi"]}""", "messages[0]")]
    [InlineData("/api/chat", """{"model":"llama3","messages":[{"role":"user","content":"hi"}],"options":"x"}""", "options")]
    [InlineData("/api/chat", """{"model":"llama3","messages":[{"role":"user","content":[1]}]}""", "messages[0].content")]
    [InlineData("/v1/chat/completions", """{"model":"llama3","messages":[{"role":"user","content":[{"type":"text","text":7}]}]}""", "messages[0].content[0].text")]
    [InlineData("/v1/chat/completions", """{"model":"llama3","messages":[{"role":"user","content":"\ud800"}]}""", "$.messages[0].content")]
    [InlineData("/api/llm/chat", """{"model":"llama3","messages":"hi"}""", "messages")]
    [InlineData("/v1/chat/completions", "[1,2]", "The request body must be a JSON object.")]
    [InlineData("/api/chat", "\"hi\"", "The request body must be a JSON object.")]
    [InlineData("/api/generate", "null", "The request body must be a JSON object.")]
    [InlineData("/v1/chat/completions", """{"model":"llama3","messages":[{"role":"user","content":"hi"}],"temperature":2.5}""", "temperature must be a number from 0 to 2.")]
    [InlineData("/v1/chat/completions", """{"model":"llama3","messages":[{"role":"user","content":"hi"}],"top_p":"high"}""", "top_p must be a number from 0 to 1.")]
    [InlineData("/v1/completions", """{"model":"llama3","prompt":"hi","presence_penalty":-3}""", "presence_penalty must be a number from -2 to 2.")]
    public async Task Malformed_chat_bodies_are_400_naming_the_field(string path, string body, string field)
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        using var request = Raw(HttpMethod.Post, path, admin.Token, Json(body));
        request.Headers.Add("x-tenant-id", admin.TenantId.ToString());

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(field, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    // A repeated member means one thing to one parser and another to the next (System.Text.Json reads the last, others
    // the first): a model request forwarded as it came could name one model to the gateway and another upstream.
    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"llama3","model":"other","messages":[{"role":"user","content":"hi"}]}""", "model", "$")]
    [InlineData("/v1/chat/completions", """{"model":"llama3","messages":[{"role":"user","content":"hi","content":"more"}]}""", "content", "$.messages[0]")]
    [InlineData("/v1/chat/completions", """{"model":"llama3","\u006dodel":"other","messages":[{"role":"user","content":"hi"}]}""", "model", "$")]
    [InlineData("/api/chat", """{"model":"llama3","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":1,"num_predict":9999}}""", "num_predict", "$.options")]
    [InlineData("/api/llm/chat", """{"model":"llama3","model":"other","messages":[{"role":"user","content":"hi"}]}""", "model", "$")]
    [InlineData("/api/show", """{"model":"llama3","model":"other"}""", "model", "$")]
    public async Task A_member_named_twice_is_400_naming_it_and_where(string path, string body, string member, string where)
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        using var request = Raw(HttpMethod.Post, path, admin.Token, Json(body));
        request.Headers.Add("x-tenant-id", admin.TenantId.ToString());

        using var response = await client.SendAsync(request);

        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"The member '{member}' appears more than once in {where};", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_member_named_twice_in_a_typed_body_is_400_and_changes_nothing()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (memberId, _, _) = await client.CreateMemberAsync(admin);

        async Task<string?> RefusedAsync(HttpMethod method, string path, string body)
        {
            using var response = await client.SendAsync(Raw(method, path, admin.Token, Json(body)));
            return (await response.AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("detail").GetString();
        }

        // The serializer alone would take the last: a promotion to admin, a second password, another tenant's domain.
        Assert.Equal("The member 'role' appears more than once in $; each member may appear once.",
            await RefusedAsync(HttpMethod.Patch, $"/api/users/{memberId}", """{"role":"user","role":"admin"}"""));
        Assert.Contains("'password' appears more than once in $;",
            await RefusedAsync(HttpMethod.Post, "/api/auth/login", $$"""{"email":"{{admin.Email}}","password":"wrong","password":"{{admin.Password}}","domain":"{{admin.Domain}}"}"""),
            StringComparison.Ordinal);
        var domain = $"twice-{Guid.NewGuid():N}.example.com";
        Assert.Contains("'domain' appears more than once in $;", await RefusedAsync(HttpMethod.Post, "/api/auth/register",
            $$"""{"tenantName":"Twice","domain":"{{domain}}","domain":"{{domain}}","username":"twice","email":"t@{{domain}}","password":"a long enough password"}"""),
            StringComparison.Ordinal);
        Assert.Contains("'requestsPerMinute' appears more than once in $;", await RefusedAsync(HttpMethod.Post, "/api/keys",
            """{"name":"twice","requestsPerMinute":1,"requestsPerMinute":1000}"""), StringComparison.Ordinal);
        // Nested: named as a member of the object that repeats it, as in documents and model requests.
        using var limits = Raw(HttpMethod.Patch, $"/api/admin/tenants/{admin.TenantId}", null,
            Json("""{"limits":{"requestsPerMinute":1,"requestsPerMinute":1000000}}"""));
        limits.Headers.Add("X-Operator-Key", fixture.OperatorKey);
        using var refusedLimits = await client.SendAsync(limits);
        Assert.Contains("The member 'requestsPerMinute' appears more than once in $.limits;",
            (await refusedLimits.AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var member = await client.SendAsync(HttpMethod.Get, $"/api/users/{memberId}", admin.Token);
        Assert.Equal("user", (await member.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("role").GetString());
        using var tenant = await client.SendAsync(HttpMethod.Get, "/api/tenant", admin.Token);
        var tenantLimits = (await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("limits");
        Assert.True(!tenantLimits.TryGetProperty("requestsPerMinute", out var perMinute) || perMinute.ValueKind == JsonValueKind.Null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(HttpMethod.Post, "/api/auth/login", null,
            new { email = $"t@{domain}", password = "a long enough password", domain })).StatusCode);
        using var keys = await client.SendAsync(HttpMethod.Get, "/api/keys", admin.Token);
        Assert.Equal(0, (await keys.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task A_member_named_twice_in_tenant_settings_is_refused_and_nothing_is_stored()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();

        using var patch = await client.SendAsync(Raw(HttpMethod.Patch, "/api/tenant", admin.Token,
            Json("""{"settings":{"theme":{"color":"red","size":1,"color":"blue"}}}""")));

        var problem = await patch.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("'color' appears more than once in $.settings.theme", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        using var tenant = await client.SendAsync(HttpMethod.Get, "/api/tenant", admin.Token);
        Assert.Empty((await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("settings").EnumerateObject());

        using var many = await client.SendAsync(Raw(HttpMethod.Patch, "/api/tenant", admin.Token, Json(
            "{\"settings\":{" + string.Join(',', Enumerable.Range(0, 40).Select(i => $"\"k{i}\":{i}")) + ",\"k7\":0}}")));
        Assert.Contains("'k7' appears more than once in $.settings", (await many.AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_utf8_bytes_are_400()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var bytes = Encoding.UTF8.GetBytes("""{"model":"llama3","messages":[{"role":"user","content":"XX"}]}""");
        var at = Array.IndexOf(bytes, (byte)'X');
        bytes[at] = 0xFF;
        bytes[at + 1] = 0xFE;
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await client.SendAsync(Raw(HttpMethod.Post, "/v1/chat/completions", admin.Token, content));

        await response.AssertOpenAiErrorAsync(HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("application/json; charset=bogus")]
    [InlineData("application/json; charset=utf-7")]
    [InlineData("application/json; charset=")]
    [InlineData("application/json; Charset=ISO-8859-1")]
    public async Task A_body_in_another_charset_is_415_on_every_json_route(string contentType)
    {
        using var client = fixture.CreateClient();
        foreach (var path in new[] { "/api/auth/login", "/api/auth/register" })
        {
            var content = new ByteArrayContent("{}"u8.ToArray());
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            using var response = await client.SendAsync(Raw(HttpMethod.Post, path, null, content));
            await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
        }
    }

    [Theory]
    [InlineData("text/html")]
    [InlineData("application/xml")]
    public async Task Errors_keep_their_status_whatever_the_accept_header_says(string accept)
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, _, member) = await client.CreateMemberAsync(admin);
        var logLinesBefore = fixture.Api.Logs.Lines.Count(l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal));

        foreach (var (token, expected) in new[] { ((string?)null, HttpStatusCode.Unauthorized), (member, HttpStatusCode.Forbidden) })
        {
            using var request = ApiCalls.Request(HttpMethod.Get, "/api/users", token);
            request.Headers.Accept.ParseAdd(accept);
            using var response = await client.SendAsync(request);
            await response.AssertProblemAsync(expected);
        }

        Assert.Equal(logLinesBefore, fixture.Api.Logs.Lines.Count(l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("POST", "/api/auth/login", "")]
    [InlineData("POST", "/api/auth/login", "[1,2]")]
    [InlineData("POST", "/api/auth/login", """{"email":42}""")]
    [InlineData("POST", "/api/auth/register", """{"tenantName":{}}""")]
    public async Task Details_speak_in_the_apis_terms_not_the_frameworks(string method, string path, string body)
    {
        using var client = fixture.CreateClient();

        using var response = await client.SendAsync(Raw(new HttpMethod(method), path, null, Json(body)));

        var detail = (await response.AssertProblemAsync(HttpStatusCode.BadRequest)).GetProperty("detail").GetString()!;
        foreach (var internals in new[] { "Service", "parameter", "System.", "LlmApi", "Request\"" })
        {
            Assert.DoesNotContain(internals, detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Answers_carry_nosniff_no_store_and_no_server_header()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();

        using var login = await client.LoginAsync(admin.Email, admin.Password, admin.Domain);
        using var key = await client.SendAsync(HttpMethod.Post, "/api/keys", admin.Token, new { name = "cache test" });

        foreach (var response in new[] { login, key })
        {
            Assert.Equal("nosniff", string.Join(',', response.Headers.GetValues("X-Content-Type-Options")));
            Assert.True(response.Headers.CacheControl?.NoStore);
            Assert.False(response.Headers.Contains("Server"));
        }
    }

    [Theory]
    [InlineData("/api/auth/login", false)]
    [InlineData("/api/llm/chat", true)]
    [InlineData("/v1/chat/completions", true)]
    public async Task A_body_the_client_abandons_ends_its_connection_without_a_warning(string path, bool withKey)
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var key = withKey ? (await client.CreateKeyAsync(admin.Token)).Key : null;
        bool Broken(string line) => line.Contains("Connection processing ended abnormally", StringComparison.Ordinal);
        var brokenBefore = fixture.Api.Logs.Lines.Count(Broken);

        // A body declared as 200 bytes that stops after a valid start; while the server waits for the rest, the client
        // closes its side. The server ends the request and the connection without a warning. (ASP.NET Core 10, reading
        // JSON from the request's PipeReader, left it mid-read, and Kestrel logged a warning with a stack for each.)
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(System.Net.IPAddress.Loopback, client.BaseAddress!.Port);
        var head = $"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n"
            + (key is null ? "" : $"Authorization: Bearer {key}\r\n") + "\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head + """{"model":"llama3","messages":["""));
        await Task.Delay(TimeSpan.FromMilliseconds(300)); // the server reads what came and waits for the rest
        socket.Shutdown(SocketShutdown.Send);
        using var closed = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            Assert.Equal(0, await socket.ReceiveAsync(new byte[256], SocketFlags.None, closed.Token));
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Closed by a reset: as good an end as any for a request that cannot be answered.
        }

        await Task.Delay(TimeSpan.FromMilliseconds(300)); // the warning came as Kestrel closed the connection
        Assert.Equal(brokenBefore, fixture.Api.Logs.Lines.Count(Broken));
    }
}
