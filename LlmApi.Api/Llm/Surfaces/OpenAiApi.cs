using System.Text.Json.Nodes;
using LlmApi.Api.Auth;
using LlmApi.Api.Llm.Formats;
using LlmApi.Api.Llm.Pipeline;
using LlmApi.Api.Llm.Routing;
using LlmApi.Api.Llm.Upstreams;

namespace LlmApi.Api.Llm.Surfaces;

/// <summary>
/// OpenAI-compatible routes: any OpenAI SDK works against the gateway with <c>base_url=http://host/v1</c> and an API key
/// or a user's token as its key. Errors here have OpenAI's shape (see <see cref="OpenAiErrorWriter"/>).
/// </summary>
internal static class OpenAiApi
{
    public static bool IsOpenAiPath(PathString path) => path.StartsWithSegments("/v1");

    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").WithTags("OpenAI-compatible").RequireModelAccess();
        v1.MapModelCall("/chat/completions", ClientApi.OpenAiChat, streamByDefault: false);
        v1.MapModelCall("/completions", ClientApi.OpenAiCompletion, streamByDefault: false);
        v1.MapModelCall("/embeddings", ClientApi.OpenAiEmbeddings, streamByDefault: false);
        v1.MapGet("/models", ListModels);
        // Model ids may contain slashes (meta-llama/Llama-3.1-8B-Instruct).
        v1.MapGet("/models/{**id}", GetModel);
        return app;
    }

    internal static IResult ListModels(Caller caller, ModelRouter router, UpstreamPool pool) => !pool.IsConfigured
        ? GatewayResults.NoUpstream()
        : TypedResults.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. ModelCalls.Visible(router, caller).Select(m => (JsonNode)ModelCalls.OpenAiModel(m))]),
        }, WireJson.Options);

    internal static async Task<IResult> GetModel(string id, Caller caller, ModelRouter router, UpstreamPool pool, CancellationToken cancellationToken)
    {
        if (!pool.IsConfigured)
        {
            return GatewayResults.NoUpstream();
        }

        return caller.Key?.Allows(id) != false && await router.ResolveAsync(id, cancellationToken) is { Targets: [var target, ..] }
            ? TypedResults.Json(ModelCalls.OpenAiModel(new PublicModel(id, target.Upstream, target.Upstream.ModelDetails.GetValueOrDefault(target.ServedModel))), WireJson.Options)
            : GatewayResults.ModelNotFound(id);
    }
}
