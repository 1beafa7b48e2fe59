using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm;

/// <summary>
/// The HTTP client of the model upstream (a typed client from IHttpClientFactory, so handlers are pooled and traced).
/// Responses are returned as soon as their headers arrive, so that streams can be forwarded chunk by chunk.
/// </summary>
internal sealed class UpstreamClient(HttpClient http, ConfiguredUpstream configured)
{
    private readonly LlmUpstream? _upstream = configured.Value;

    public LlmUpstream? Upstream => _upstream;

    public async Task<HttpResponseMessage> PostAsync(string path, JsonObject body, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Post, path);
        // Sent with a Content-Length rather than chunked: not every model server accepts chunked request bodies.
        request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    public async Task<HttpResponseMessage> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, path);
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    private HttpRequestMessage Request(HttpMethod method, string path)
    {
        var target = _upstream ?? throw new InvalidOperationException("No model upstream is configured.");
        var request = new HttpRequestMessage(method, new Uri(target.Endpoint, path));
        if (target.Key is { } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return request;
    }
}

/// <summary>The upstream read from the connection string at start, or none.</summary>
internal sealed record ConfiguredUpstream(LlmUpstream? Value);
