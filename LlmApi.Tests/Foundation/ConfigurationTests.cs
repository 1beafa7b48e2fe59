using LlmApi.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace LlmApi.Tests.Foundation;

[Collection(SharedApi.Name)]
public class ConfigurationTests(ApiFixture fixture)
{
    [Theory]
    [InlineData("")]
    [InlineData("only-31-bytes-long-signing-key!")]
    public async Task The_api_refuses_to_start_with_a_signing_key_under_32_bytes_and_names_the_setting(string key)
    {
        var settings = new Dictionary<string, string?>(fixture.Settings) { ["Jwt:SigningKey"] = key };

        var (exitCode, output) = await ApiProcess.RunUntilExitAsync(settings);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Hosting failed to start", output, StringComparison.Ordinal);
        Assert.Contains($"{nameof(OptionsValidationException)}: Jwt:SigningKey", output, StringComparison.Ordinal);
        if (key.Length > 0)
        {
            Assert.DoesNotContain(key, output, StringComparison.Ordinal); // the refusal names the setting, not the secret
        }
    }

    [Fact]
    public async Task OpenApi_describes_the_routes_and_the_bearer_scheme_and_the_docs_ui_is_served()
    {
        using var client = fixture.CreateClient();

        var document = await client.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/auth/login", document, StringComparison.Ordinal);
        Assert.Contains("\"bearer\"", document, StringComparison.Ordinal);
        Assert.Contains("alice@acme.example.com", document, StringComparison.Ordinal); // request examples

        using var docs = await client.GetAsync("/api-docs");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode); // redirected to the Scalar UI
        Assert.StartsWith("/scalar", docs.RequestMessage!.RequestUri!.AbsolutePath, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_declares_how_every_route_is_authorized_and_the_headers_it_needs()
    {
        using var client = fixture.CreateClient();

        var paths = (await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/openapi/v1.json")).GetProperty("paths");
        string[] Schemes(string path, string method) => paths.GetProperty(path).GetProperty(method).TryGetProperty("security", out var security)
            ? [.. security.EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name))]
            : [];

        // Routes with a {id:guid} parameter too: the requirement comes from the endpoint, not from matching paths.
        Assert.Equal(["Bearer"], Schemes("/api/users/{userId}", "get"));
        Assert.Equal(["Bearer"], Schemes("/api/keys/{keyId}", "delete"));
        Assert.Equal(["Bearer"], Schemes("/api/auth/sessions/{sessionId}", "delete"));
        Assert.Equal(["OperatorKey"], Schemes("/api/admin/tenants/{tenantId}", "patch"));
        Assert.Empty(Schemes("/api/auth/login", "post"));
        var chatHeaders = paths.GetProperty("/api/llm/chat").GetProperty("post").GetProperty("parameters").EnumerateArray()
            .Select(p => p.GetProperty("name").GetString());
        Assert.Contains("x-tenant-id", chatHeaders);
    }
}
