using System.Net.Http.Headers;
using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

/// <summary>Model calls made as a REST client or an OpenAI SDK would make them.</summary>
public static class LlmCalls
{
    public static object Messages(string text = "hi") => new[] { new { role = "user", content = text } };

    /// <summary>POST /api/llm/chat in Ollama's format, with the caller's tenant in x-tenant-id.</summary>
    public static HttpRequestMessage OllamaChat(string credential, Guid tenantId, string model = "llama3", bool stream = false, int? maxTokens = null)
    {
        var request = ApiCalls.Request(HttpMethod.Post, "/api/llm/chat", credential, new
        {
            model,
            messages = Messages(),
            stream,
            options = maxTokens is null ? null : new { num_predict = maxTokens },
        });
        request.Headers.Add("x-tenant-id", tenantId.ToString());
        return request;
    }

    /// <summary>POST /v1/chat/completions in OpenAI's format.</summary>
    public static HttpRequestMessage OpenAiChat(string credential, string model = "llama3", bool stream = false, int? maxTokens = null) =>
        ApiCalls.Request(HttpMethod.Post, "/v1/chat/completions", credential, new { model, messages = Messages(), stream, max_tokens = maxTokens });

    public static async Task<HttpResponseMessage> SendStreamingAsync(this HttpClient client, HttpRequestMessage request, CancellationToken cancellationToken = default) =>
        await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    /// <summary>Creates an API key with the admin's token; returns its id and clear value.</summary>
    public static async Task<(Guid KeyId, string Key)> CreateKeyAsync(this HttpClient client, string adminToken, object? body = null)
    {
        using var response = await client.SendAsync(HttpMethod.Post, "/api/keys", adminToken, body ?? new { name = "ci" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (created.GetProperty("keyId").GetGuid(), created.GetProperty("key").GetString()!);
    }

    /// <summary>Sets a tenant's limits as the platform operator.</summary>
    public static Task SetTenantLimitsAsync(this HttpClient client, ApiFixture fixture, Guid tenantId, object limits) =>
        client.SetTenantLimitsAsync(fixture.OperatorKey, tenantId, limits);

    public static async Task SetTenantLimitsAsync(this HttpClient client, string operatorKey, Guid tenantId, object limits)
    {
        using var request = ApiCalls.Request(HttpMethod.Patch, $"/api/admin/tenants/{tenantId}", null, new { limits });
        request.Headers.Add("X-Operator-Key", operatorKey);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public static void Bearer(this HttpRequestMessage request, string credential) =>
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
}
