using System.Text.Json.Nodes;
using LlmApi.Api.Auth;
using LlmApi.Api.Llm.Formats;
using LlmApi.Api.Llm.Pipeline;
using LlmApi.Api.Llm.Routing;
using LlmApi.Api.Llm.Upstreams;

namespace LlmApi.Api.Llm.Surfaces;

/// <summary>Marks Ollama's own routes, whose problem answers also carry Ollama's <c>error</c> member for its clients.</summary>
internal sealed class OllamaSurface
{
    public static readonly OllamaSurface Instance = new();
}

/// <summary>
/// Ollama's own API under its own paths, so that Ollama clients (ollama-js, ollama-python, OllamaSharp, Open WebUI)
/// work with the gateway as their host and <c>Authorization: Bearer &lt;key or token&gt;</c>. The tenant comes from the
/// credential. As in Ollama, <c>stream</c> defaults to true. Model management is never exposed to tenants.
/// </summary>
internal static class OllamaApi
{
    /// <summary>The Ollama API version whose routes and shapes the gateway serves.</summary>
    public const string CompatibleVersion = "0.12.6";

    private static readonly TimeSpan ProxyTimeout = TimeSpan.FromSeconds(10);

    public static IEndpointRouteBuilder MapOllamaApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Ollama-compatible").WithMetadata(OllamaSurface.Instance);
        var models = api.MapGroup(string.Empty).RequireModelAccess();
        models.MapModelCall("/chat", ClientApi.OllamaChat, streamByDefault: true);
        models.MapModelCall("/generate", ClientApi.OllamaGenerate, streamByDefault: true);
        models.MapModelCall("/embed", ClientApi.OllamaEmbed, streamByDefault: false);
        models.MapModelCall("/embeddings", ClientApi.OllamaEmbeddings, streamByDefault: false);
        models.MapGet("/tags", Tags);
        models.MapPost("/show", ShowAsync);
        models.MapGet("/ps", RunningAsync);
        api.MapGet("/version", () => TypedResults.Ok(new { version = CompatibleVersion })).AllowAnonymous();

        // Pulling, pushing, creating, copying and deleting models changes the fleet for every tenant: operators only.
        api.MapPost("/pull", GatewayResults.ManagementForbidden).AllowAnonymous();
        api.MapPost("/push", GatewayResults.ManagementForbidden).AllowAnonymous();
        api.MapPost("/create", GatewayResults.ManagementForbidden).AllowAnonymous();
        api.MapPost("/copy", GatewayResults.ManagementForbidden).AllowAnonymous();
        api.MapDelete("/delete", GatewayResults.ManagementForbidden).AllowAnonymous();
        api.MapMethods("/blobs/{digest}", ["HEAD", "POST"], GatewayResults.ManagementForbidden).AllowAnonymous();
        return app;
    }

    internal static IResult Tags(Caller caller, ModelRouter router, UpstreamPool pool) => !pool.IsConfigured
        ? GatewayResults.NoUpstream()
        : TypedResults.Json(new JsonObject { ["models"] = TagList(router, caller) }, WireJson.Options);

    public static JsonArray TagList(ModelRouter router, Caller caller) =>
        [.. ModelCalls.Visible(router, caller).Select(m => (JsonNode)ModelCalls.OllamaTag(m))];

    /// <summary>A model's details: from its Ollama server as it tells them; for other servers, what is known.</summary>
    internal static async Task<IResult> ShowAsync(JsonObject body, Caller caller, ModelRouter router, UpstreamPool pool, UpstreamHttp http, CancellationToken cancellationToken)
    {
        var name = JsonRead.String(body["model"]) ?? JsonRead.String(body["name"]);
        if (string.IsNullOrWhiteSpace(name))
        {
            return Infrastructure.Problems.Invalid("model", "The model field is required and must be a string.");
        }

        if (!pool.IsConfigured)
        {
            return GatewayResults.NoUpstream();
        }

        if (caller.Key?.Allows(name) == false || await router.ResolveAsync(name, cancellationToken) is not { } route)
        {
            return GatewayResults.ModelNotFound(name);
        }

        var ollama = route.Targets.Where(t => t.Upstream.Provider == LlmProvider.Ollama && t.Upstream.IsAvailable).ToList();
        foreach (var target in ollama)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProxyTimeout);
            try
            {
                using var response = await http.SendAsync(target.Upstream, HttpMethod.Post, "api/show",
                    WireJson.Utf8(new JsonObject { ["model"] = target.ServedModel }), timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    return TypedResults.Json(await UpstreamJson.ReadObjectAsync(response.Content, timeout.Token), WireJson.Options);
                }
            }
            catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // try the next server of the model
            }
        }

        if (ollama.Count > 0)
        {
            return GatewayResults.Unreachable();
        }

        return TypedResults.Json(new JsonObject
        {
            ["modelfile"] = string.Empty,
            ["parameters"] = string.Empty,
            ["template"] = string.Empty,
            ["details"] = new JsonObject { ["format"] = string.Empty, ["family"] = string.Empty, ["parameter_size"] = string.Empty, ["quantization_level"] = string.Empty },
            ["model_info"] = new JsonObject(),
            ["capabilities"] = new JsonArray("completion"),
        }, WireJson.Options);
    }

    /// <summary>The models loaded on the Ollama servers now, limited to those the caller may use.</summary>
    internal static async Task<IResult> RunningAsync(Caller caller, ModelRouter router, UpstreamPool pool, UpstreamHttp http, CancellationToken cancellationToken)
    {
        if (!pool.IsConfigured)
        {
            return GatewayResults.NoUpstream();
        }

        var visible = ModelCalls.Visible(router, caller).Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var lists = await Task.WhenAll(pool.All.Where(u => u.Provider == LlmProvider.Ollama && u.IsAvailable).Select(async upstream =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProxyTimeout);
            try
            {
                using var response = await http.SendAsync(upstream, HttpMethod.Get, "api/ps", null, timeout.Token);
                var body = response.IsSuccessStatusCode ? JsonObject.Create(await UpstreamJson.ReadObjectAsync(response.Content, timeout.Token)) : null;
                return (body?["models"] as JsonArray ?? []).OfType<JsonObject>().Where(m => JsonRead.String(m["name"]) is { } n && visible.Contains(n)).ToList();
            }
            catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return [];
            }
        }));
        return TypedResults.Json(new JsonObject { ["models"] = new JsonArray([.. lists.SelectMany(l => l).Select(m => (JsonNode)m.DeepClone())]) }, WireJson.Options);
    }
}
