using System.Text.Json.Nodes;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;

namespace LlmApi.Api.Llm;

/// <summary>
/// The original's routes, in Ollama's format: <c>/api/llm/chat</c>, <c>/api/llm/models</c>, <c>/api/llm/health</c>.
/// As in the original, the header <c>x-tenant-id</c> must name the caller's own tenant.
/// </summary>
internal static class LlmChatApi
{
    public const string TenantHeader = "x-tenant-id";

    public static IEndpointRouteBuilder MapLlmApi(this IEndpointRouteBuilder app)
    {
        var llm = app.MapGroup("/api/llm").WithTags("LLM (Ollama format)");
        llm.MapPost("/chat", ChatAsync).RequireAuthorization(AuthenticationSetup.ModelAccessPolicy);
        llm.MapGet("/models", ModelsAsync).RequireAuthorization(AuthenticationSetup.ModelAccessPolicy);
        llm.MapGet("/health", HealthAsync).AllowAnonymous();
        return app;
    }

    internal static async Task<IResult> ChatAsync(JsonObject body, Caller caller, ChatGateway gateway, HttpContext http) =>
        TenantHeaderMismatch(http, caller) ?? await gateway.ChatAsync(http, caller, body, ChatFormat.Ollama);

    internal static async Task<IResult> ModelsAsync(Caller caller, ModelCatalog catalog, UpstreamClient upstream, HttpContext http)
    {
        if (TenantHeaderMismatch(http, caller) is { } mismatch)
        {
            return mismatch;
        }

        if (upstream.Upstream is null)
        {
            return ChatGateway.NoUpstream();
        }

        var models = await catalog.ListAsync(caller, http.RequestAborted);
        return TypedResults.Json(new JsonObject
        {
            ["models"] = new JsonArray([.. models.Select(m => m.Raw.DeepClone())]),
            ["tenant_id"] = caller.TenantId.ToString("D"),
        });
    }

    internal static async Task<Results<Ok<LlmHealth>, ProblemHttpResult>> HealthAsync(ModelCatalog catalog, UpstreamClient upstream, CancellationToken cancellationToken) =>
        await catalog.IsReachableAsync(cancellationToken)
            ? TypedResults.Ok(new LlmHealth("healthy", upstream.Upstream!.Provider))
            : TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable",
                detail: upstream.Upstream is null ? "No model upstream is configured." : "The model upstream does not answer.");

    private static ProblemHttpResult? TenantHeaderMismatch(HttpContext http, Caller caller) =>
        Guid.TryParse(http.Request.Headers[TenantHeader], out var claimed) && claimed == caller.TenantId
            ? null
            : Problems.Forbidden($"The {TenantHeader} header must name the caller's own tenant.");
}

internal sealed record LlmHealth(string Status, LlmProvider Provider);
