using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmApi.Api.Llm.Formats;

namespace LlmApi.Api.Llm.Upstreams;

/// <summary>
/// HTTP to the model servers, through the handlers of one named client of IHttpClientFactory (pooled, rotated, traced
/// and measured inside the handler). Responses return as soon as their headers arrive, so streams are forwarded chunk
/// by chunk. No retry or timeout lives here: the gateway's pipeline decides both, per upstream. Sent through an
/// <see cref="HttpMessageInvoker"/> over the factory's handler, as reverse proxies such as YARP send: an
/// <see cref="HttpClient"/> per call added a client, its cancellation source and a source linked to the call's token
/// (its timeout and pending-request cancellation, neither used here), about 0.6 KB a call.
/// </summary>
internal sealed class UpstreamHttp(IHttpMessageHandlerFactory handlers)
{
    public const string ClientName = "llm-upstreams";

    /// <param name="body">UTF-8 JSON to send, if any.</param>
    public async Task<HttpResponseMessage> SendAsync(Upstream upstream, HttpMethod method, string path, byte[]? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, upstream.Address(path));
        if (upstream.Definition.Key is { } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        if (body is not null)
        {
            // Sent with a Content-Length rather than chunked: not every model server accepts chunked request bodies.
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        // The factory's handler for this moment (it rotates them), not disposed here: the factory ends each in its time.
        using var invoker = new HttpMessageInvoker(handlers.CreateHandler(ClientName), disposeHandler: false);
        return await invoker.SendAsync(request, cancellationToken);
    }

    /// <summary>The path of an upstream's model list: Ollama's tags, or OpenAI's models under the base URL.</summary>
    public static string ModelsPath(LlmProvider provider) => provider == LlmProvider.Ollama ? "api/tags" : "models";

    /// <summary>Reads an upstream's model list: each model's id with the upstream's own description of it.</summary>
    public async Task<Dictionary<string, JsonObject>> ListModelsAsync(Upstream upstream, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(upstream, HttpMethod.Get, ModelsPath(upstream.Provider), null, cancellationToken);
        response.EnsureSuccessStatusCode();
        var body = JsonObject.Create(await UpstreamJson.ReadObjectAsync(response.Content, cancellationToken))!;
        var (list, idField) = upstream.Provider == LlmProvider.Ollama ? (body["models"], "name") : (body["data"], "id");
        var models = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var model in (list as JsonArray ?? []).OfType<JsonObject>())
        {
            if (model[idField] is JsonValue id && id.TryGetValue<string>(out var name) && name.Length > 0)
            {
                models[name] = model;
            }
        }

        return models;
    }
}
