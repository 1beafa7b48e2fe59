using System.Net.Http.Headers;
using System.Text.Json;

namespace LlmApi.Tests.Infrastructure;

/// <summary>A registered tenant with its first admin, as a client of the API holds it.</summary>
public sealed record TenantAccount(Guid TenantId, string Domain, Guid UserId, string Email, string Password, string Token, Guid SessionId);

/// <summary>Calls of the public API that many tests need, made exactly as a REST client would make them.</summary>
public static class ApiCalls
{
    public const string Password = "correct horse battery";

    public static string UniqueDomain(string prefix = "t") => $"{prefix}-{Guid.NewGuid():N}.example.com";

    public static async Task<TenantAccount> RegisterAsync(this HttpClient client, string? domain = null, string password = Password)
    {
        domain ??= UniqueDomain();
        var email = $"admin@{domain}";
        using var response = await client.PostAsJsonAsync("/api/auth/register", new
        {
            tenantName = "Tenant " + domain[..8],
            domain,
            username = "admin",
            email,
            password,
        });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return new TenantAccount(
            body.GetProperty("tenant").GetProperty("tenantId").GetGuid(), domain,
            body.GetProperty("user").GetProperty("userId").GetGuid(), email, password,
            body.GetProperty("token").GetString()!, body.GetProperty("sessionId").GetGuid());
    }

    public static async Task<HttpResponseMessage> LoginAsync(this HttpClient client, string email, string password, string domain) =>
        await client.PostAsJsonAsync("/api/auth/login", new { email, password, domain });

    public static async Task<string> LoginTokenAsync(this HttpClient client, string email, string password, string domain)
    {
        using var response = await client.LoginAsync(email, password, domain);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }

    /// <summary>Creates a user in the admin's tenant; returns the new user's id.</summary>
    public static async Task<Guid> CreateUserAsync(this HttpClient client, string adminToken, string email, string role = "user", string password = Password)
    {
        using var response = await client.SendAsync(Request(HttpMethod.Post, "/api/users", adminToken,
            new { username = "member", email, password, role }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user").GetProperty("userId").GetGuid();
    }

    /// <summary>Creates a plain user in the admin's tenant and signs them in.</summary>
    public static async Task<(Guid UserId, string Email, string Token)> CreateMemberAsync(this HttpClient client, TenantAccount admin, string name = "member")
    {
        var email = $"{name}@{admin.Domain}";
        var userId = await client.CreateUserAsync(admin.Token, email);
        return (userId, email, await client.LoginTokenAsync(email, Password, admin.Domain));
    }

    public static HttpRequestMessage Request(HttpMethod method, string path, string? token, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return request;
    }

    public static async Task<HttpResponseMessage> SendAsync(this HttpClient client, HttpMethod method, string path, string? token, object? body = null)
    {
        using var request = Request(method, path, token, body);
        return await client.SendAsync(request);
    }

    public static async Task<HttpStatusCode> StatusAsync(this HttpClient client, HttpMethod method, string path, string? token, object? body = null)
    {
        using var response = await client.SendAsync(method, path, token, body);
        return response.StatusCode;
    }

    /// <summary>Asserts an RFC 9457 answer: the status, problem+json media type, and the status repeated in the body.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        return problem;
    }

    /// <summary>Asserts OpenAI's error shape (as on <c>/v1</c>): the status, JSON, and <c>error.message</c>, <c>type</c>, <c>code</c>.</summary>
    public static async Task<JsonElement> AssertOpenAiErrorAsync(this HttpResponseMessage response, HttpStatusCode status, string? code = null)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("type").GetString()));
        Assert.True(error.TryGetProperty("param", out _));
        if (code is not null)
        {
            Assert.Equal(code, error.GetProperty("code").GetString());
        }

        return error;
    }
}
