using System.Text.Json.Nodes;
using LlmApi.Api.Auth;

namespace LlmApi.Api.Llm;

/// <summary>OpenAI-compatible routes, so that any OpenAI SDK works against the gateway by changing its base URL.</summary>
internal static class OpenAiApi
{
    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").WithTags("OpenAI-compatible").RequireAuthorization(AuthenticationSetup.ModelAccessPolicy);
        v1.MapPost("/chat/completions", (JsonObject body, Caller caller, ChatGateway gateway, HttpContext http) =>
            gateway.ChatAsync(http, caller, body, ChatFormat.OpenAI));
        v1.MapGet("/models", ModelsAsync);
        return app;
    }

    internal static async Task<IResult> ModelsAsync(Caller caller, ModelCatalog catalog, UpstreamClient upstream, CancellationToken cancellationToken)
    {
        if (upstream.Upstream is not { } target)
        {
            return ChatGateway.NoUpstream();
        }

        var models = await catalog.ListAsync(caller, cancellationToken);
        var owner = target.Provider == LlmProvider.Ollama ? "ollama" : "upstream";
        return TypedResults.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. models.Select(m => (JsonNode)new JsonObject
            {
                ["id"] = m.Id,
                ["object"] = "model",
                ["created"] = m.Raw["created"]?.DeepClone() ?? 0,
                ["owned_by"] = m.Raw["owned_by"]?.DeepClone() ?? owner,
            })]),
        });
    }
}
