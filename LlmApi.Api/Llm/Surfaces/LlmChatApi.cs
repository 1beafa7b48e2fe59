using System.Text.Json;
using System.Text.Json.Nodes;
using LlmApi.Api.ApiKeys;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Llm.Formats;
using LlmApi.Api.Llm.Pipeline;
using LlmApi.Api.Llm.Routing;
using LlmApi.Api.Llm.Upstreams;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Llm.Surfaces;

/// <summary>
/// The original's routes, in Ollama's format, exactly as they were: <c>/api/llm/chat</c> (not streamed unless asked),
/// <c>/api/llm/models</c>, <c>/api/llm/health</c>. The header <c>x-tenant-id</c> must name the caller's own tenant, and
/// answers name the caller (<c>tenant_id</c>, <c>user_id</c>).
/// </summary>
internal static class LlmChatApi
{
    public const string TenantHeader = "x-tenant-id";

    public static IEndpointRouteBuilder MapLlmApi(this IEndpointRouteBuilder app)
    {
        var llm = app.MapGroup("/api/llm").WithTags("LLM (Ollama format)");
        var tenantHeader = new DocumentedHeader(TenantHeader, "The caller's own tenant id, as the original API required.");
        llm.MapPost("/chat", ChatAsync).RequireModelAccess()
            .WithMetadata(new RequestSizeLimitAttribute(ModelCalls.MaxRequestBodyBytes), tenantHeader, KeyCheckedAtAdmission.Instance);
        llm.MapGet("/models", Models).RequireModelAccess().WithMetadata(tenantHeader);
        llm.MapGet("/health", Health).AllowAnonymous();
        return app;
    }

    internal static async Task<IResult> ChatAsync(JsonElement body, Caller caller, ModelGateway gateway, IOptions<LlmOptions> options, HttpContext http) =>
        TenantHeaderMismatch(http, caller) is { } mismatch
            ? await gateway.RefuseAsync(http, caller, mismatch)
            : await ModelCalls.HandleAsync(ClientApi.OllamaChat, body, caller, gateway, options, http,
                streamByDefault: false, annotate: answer => AddCaller(answer, caller));

    internal static IResult Models(Caller caller, ModelRouter router, UpstreamPool pool, HttpContext http) =>
        TenantHeaderMismatch(http, caller) ?? (pool.IsConfigured
            ? TypedResults.Json(new JsonObject { ["models"] = OllamaApi.TagList(router, caller), ["tenant_id"] = caller.TenantId.ToString("D") }, WireJson.Options)
            : (IResult)GatewayResults.NoUpstream());

    /// <summary>200 while at least one upstream is in rotation, else 503; both list every upstream's state and load.</summary>
    internal static IResult Health(UpstreamPool pool)
    {
        var upstreams = pool.All.Select(UpstreamStatus.Of).ToList();
        var healthy = upstreams.Count(u => u.State == UpstreamState.Healthy);
        if (healthy > 0)
        {
            return TypedResults.Ok(new LlmHealth(healthy == upstreams.Count ? "healthy" : "degraded", upstreams));
        }

        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable",
            detail: upstreams.Count == 0 ? "No model upstream is configured." : "No model upstream is in rotation.",
            extensions: new Dictionary<string, object?> { ["upstreams"] = upstreams });
    }

    private static ProblemHttpResult? TenantHeaderMismatch(HttpContext http, Caller caller) =>
        Guid.TryParse(http.Request.Headers[TenantHeader], out var claimed) && claimed == caller.TenantId
            ? null
            : Problems.Forbidden($"The {TenantHeader} header must name the caller's own tenant.");

    /// <summary>The original API named the caller in every Ollama-format answer: <c>tenant_id</c> and <c>user_id</c>.</summary>
    private static void AddCaller(JsonObject answer, Caller caller)
    {
        answer["tenant_id"] = caller.TenantId.ToString("D");
        answer["user_id"] = caller.UserOrNull?.UserId.ToString("D");
    }
}

internal sealed record LlmHealth(string Status, IReadOnlyList<UpstreamStatus> Upstreams);
