using System.Net.Http.Json;
using System.Text.Json.Nodes;
using LlmApi.Api.Auth;

namespace LlmApi.Api.Llm;

/// <summary>The upstream's models, as the caller may use them (an API key's allow-list applies).</summary>
internal sealed class ModelCatalog(UpstreamClient upstream)
{
    /// <summary>The models as the upstream describes them (Ollama's tag objects or OpenAI's model objects), by id.</summary>
    public async Task<IReadOnlyList<(string Id, JsonObject Raw)>> ListAsync(Caller caller, CancellationToken cancellationToken)
    {
        var target = upstream.Upstream ?? throw new InvalidOperationException("No model upstream is configured.");
        using var response = await upstream.GetAsync(ModelsPath(target), cancellationToken);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken) ?? [];
        var models = target.Provider == LlmProvider.Ollama
            ? (body["models"] as JsonArray ?? []).OfType<JsonObject>().Select(m => (Id: m["name"]?.GetValue<string>() ?? m["model"]?.GetValue<string>() ?? string.Empty, Raw: m))
            : (body["data"] as JsonArray ?? []).OfType<JsonObject>().Select(m => (Id: m["id"]?.GetValue<string>() ?? string.Empty, Raw: m));
        return models.Where(m => m.Id.Length > 0 && (caller.Key?.Allows(m.Id) ?? true)).ToList();
    }

    /// <summary>Whether the upstream answers at all (for the public health route).</summary>
    public async Task<bool> IsReachableAsync(CancellationToken cancellationToken)
    {
        if (upstream.Upstream is not { } target)
        {
            return false;
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            using var response = await upstream.GetAsync(ModelsPath(target), timeout.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    private static string ModelsPath(LlmUpstream target) => target.Provider == LlmProvider.Ollama ? "api/tags" : "v1/models";
}
