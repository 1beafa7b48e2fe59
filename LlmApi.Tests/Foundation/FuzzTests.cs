using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmApi.Tests.Infrastructure;
using LlmApi.Tests.Llm;

namespace LlmApi.Tests.Foundation;

/// <summary>
/// Thousands of malformed requests, generated from a fixed seed, to every route the OpenAPI document describes and
/// to the routes around it: no answer is a 5xx, and every 4xx is a complete problem document (OpenAI's error shape
/// under /v1). A failure names the request, so it can be replayed.
/// </summary>
[Collection(SharedApi.Name)]
public class FuzzTests(ApiFixture fixture)
{
    // The suite's run is fixed; FUZZ_SEED and FUZZ_REQUESTS explore further (a failure names its seed to replay it).
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var seed) ? seed : 20261126;
    private static readonly int Requests = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_REQUESTS"), out var count) ? count : 3000;

    private static readonly string[] Accepts = ["application/json", "text/html", "application/xml", "*/*", "application/problem+json", "image/png", ""];
    private static readonly string[] ContentTypes =
        ["application/json", "application/json; charset=utf-8", "application/json; charset=bogus", "application/json; charset=utf-7", "application/json; charset=",
            "text/plain", "application/x-www-form-urlencoded", "", "application/json; boundary=x"];

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // the same requests translated for an OpenAI-format model server
    public async Task Thousands_of_malformed_requests_never_get_a_5xx_and_every_4xx_is_a_problem_document(bool openAiUpstream)
    {
        using var client = openAiUpstream ? fixture.CreateOpenAiBackedClient() : fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, _, member) = await client.CreateMemberAsync(admin);
        var (_, key) = await client.CreateKeyAsync(admin.Token);
        var routes = await RoutesAsync(client);
        var random = new Random(Seed);
        string?[] credentials = [null, admin.Token, member, key, "garbage", "llmk_" + new string('0', 80), admin.Token[..^3] + "abc"];

        var failures = new List<string>();
        for (var i = 0; i < Requests; i++)
        {
            var (method, template) = routes[random.Next(routes.Count)];
            var path = FillPath(template, random, admin);
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (credentials[random.Next(credentials.Length)] is { } credential)
            {
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + credential);
            }

            if (random.Next(3) == 0)
            {
                request.Headers.TryAddWithoutValidation("Accept", Accepts[random.Next(Accepts.Length)]);
            }

            if (random.Next(4) == 0)
            {
                request.Headers.TryAddWithoutValidation(LlmChatApiHeader, random.Next(2) == 0 ? admin.TenantId.ToString() : Uri.EscapeDataString(Junk(random)));
            }

            if (method is "POST" or "PATCH" or "PUT" || random.Next(10) == 0)
            {
                request.Content = Body(random);
                var type = ContentTypes[random.Next(ContentTypes.Length)];
                request.Content.Headers.Remove("Content-Type");
                if (type.Length > 0)
                {
                    request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
                }
            }

            using var response = await client.SendAsync(request);
            if (await ProblemWithAsync(response, path, method) is { } problem)
            {
                failures.Add($"#{i} {method} {path}: {problem}");
            }
        }

        var errors = (openAiUpstream ? fixture.OpenAiBacked : fixture.Api).Logs.Lines.Where(l => l.StartsWith("Error ", StringComparison.Ordinal)).TakeLast(3);
        Assert.True(failures.Count == 0, $"{failures.Count} of {Requests} requests (seed {Seed}):\n" + string.Join('\n', failures.Take(20))
            + "\nLast errors logged:\n" + string.Join('\n', errors));
    }

    private const string LlmChatApiHeader = "x-tenant-id";

    /// <summary>
    /// What is wrong with an answer, or null: a 5xx, or a 4xx that is not a whole problem document. With
    /// <paramref name="upstreamFailures"/>, 502, 503 and 504 are answers too (a model server failed), held to the 4xx's shape.
    /// </summary>
    internal static async Task<string?> ProblemWithAsync(HttpResponseMessage response, string path, string method, bool upstreamFailures = false)
    {
        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        if (status >= 500 && !(upstreamFailures && status is 502 or 503 or 504))
        {
            return $"{status} {text[..Math.Min(200, text.Length)]}";
        }

        if (status < 400 || method == "HEAD") // an answer to HEAD has no body by definition
        {
            return null;
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        JsonElement body;
        try
        {
            body = JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException)
        {
            return $"{status} with a body that is not JSON ({mediaType}): {text[..Math.Min(100, text.Length)]}";
        }

        if (path.StartsWith("/v1", StringComparison.Ordinal))
        {
            return mediaType == "application/json" && body.TryGetProperty("error", out var error) && error.TryGetProperty("message", out _)
                ? null
                : $"{status} not in OpenAI's error shape ({mediaType})";
        }

        var isProblem = body.TryGetProperty("status", out var s) && s.GetInt32() == status && body.TryGetProperty("title", out _);
        return isProblem && (mediaType == "application/problem+json" || (mediaType == "application/json" && body.TryGetProperty("error", out _)))
            ? null
            : $"{status} not a problem document ({mediaType}): {text[..Math.Min(100, text.Length)]}";
    }

    /// <summary>Every route of the OpenAPI document, and a few it leaves out (model management, unknown paths).</summary>
    private static async Task<List<(string Method, string Template)>> RoutesAsync(HttpClient client)
    {
        var document = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var routes = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Select(m => (m.Name.ToUpperInvariant(), p.Name)))
            .ToList();
        routes.AddRange([("POST", "/api/pull"), ("DELETE", "/api/delete"), ("GET", "/v1/nothing"), ("POST", "/api/nothing"), ("PUT", "/api/users"), ("GET", "/metrics")]);
        return routes;
    }

    private static string FillPath(string template, Random random, TenantAccount admin)
    {
        var path = System.Text.RegularExpressions.Regex.Replace(template, @"\{[^}]+\}", _ => random.Next(4) switch
        {
            0 => Guid.NewGuid().ToString(),
            1 => admin.UserId.ToString(),
            2 => Uri.EscapeDataString(Junk(random)),
            _ => "..%2F..%2Fetc",
        });
        if (random.Next(3) == 0)
        {
            path += "?" + string.Join('&', Enumerable.Range(0, random.Next(1, 4)).Select(_ =>
                $"{new[] { "limit", "cursor", "from", "to", "groupBy", "tenantId", "action" }[random.Next(7)]}={Uri.EscapeDataString(Junk(random))}"));
        }

        return path;
    }

    private static ByteArrayContent Body(Random random)
    {
        switch (random.Next(8))
        {
            case 0:
                return new ByteArrayContent([]);
            case 1:
                var bytes = new byte[random.Next(1, 64)];
                random.NextBytes(bytes);
                return new ByteArrayContent(bytes);
            case 2:
                return new ByteArrayContent(Encoding.UTF8.GetBytes("{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"" + (random.Next(2) == 0 ? "\\ud800" : "\\udfff x") + "\"}]}"));
            case 3:
                return new ByteArrayContent([.. "{\"email\":\""u8, 0xFF, 0xFE, .. "\",\"password\":\"x\"}"u8]);
            case 4 when RandomJson(random, depth: 0) is JsonObject { Count: > 0 } obj:
                // One member twice: the first again, ahead of the rest, with another value.
                return new ByteArrayContent(Encoding.UTF8.GetBytes($"{{\"{obj.First().Key}\":{Scalar(random).ToJsonString()},{obj.ToJsonString()[1..]}"));
            default:
                return new ByteArrayContent(Encoding.UTF8.GetBytes(RandomJson(random, depth: 0).ToJsonString()));
        }
    }

    /// <summary>JSON shaped like the API's requests, with fields of the wrong type, missing, or out of range.</summary>
    private static JsonNode RandomJson(Random random, int depth)
    {
        string[] fields = ["model", "messages", "role", "content", "stream", "options", "num_predict", "max_tokens", "n", "tools", "tool_calls", "images",
            "prompt", "input", "format", "response_format", "email", "password", "domain", "tenantId", "tenantName", "username", "settings", "name",
            "status", "limits", "requestsPerMinute", "models", "currentPassword", "newPassword", "stream_options", "type", "image_url", "url", "text"];
        if (depth > 3 || random.Next(5) == 0)
        {
            return Scalar(random);
        }

        if (random.Next(4) == 0)
        {
            return new JsonArray([.. Enumerable.Range(0, random.Next(4)).Select(_ => RandomJson(random, depth + 1))]);
        }

        var obj = new JsonObject();
        foreach (var field in Enumerable.Range(0, random.Next(1, 6)).Select(_ => fields[random.Next(fields.Length)]).Distinct())
        {
            obj[field] = field == "model" && random.Next(2) == 0 ? new[] { "llama3", "mistral", "embedder" }[random.Next(3)] : RandomJson(random, depth + 1);
        }

        return obj;
    }

    private static JsonValue Scalar(Random random) => random.Next(7) switch
    {
        0 => JsonValue.Create(random.Next(-5, 5) * Math.Pow(10, random.Next(0, 12))),
        1 => JsonValue.Create(random.Next(2) == 0),
        2 => JsonValue.Create(new string('a', random.Next(0, 5000))),
        3 => JsonValue.Create("user"),
        4 => JsonValue.Create(Junk(random)),
        5 => JsonValue.Create(Guid.NewGuid().ToString()),
        _ => JsonValue.Create("2026-13-45"),
    };

    private static string Junk(Random random)
    {
        const string Alphabet = "aZ09-_.:/\\%{}[]\"'<>&;$ \u00e9\u4e2d";
        return new string([.. Enumerable.Range(0, random.Next(0, 24)).Select(_ => Alphabet[random.Next(Alphabet.Length)])]);
    }
}
