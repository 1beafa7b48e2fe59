using System.Globalization;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Llm.Formats;

namespace LlmApi.Api.Llm.Pipeline;

/// <summary>
/// The gateway's refusals and failures as problem+json, each with a machine-readable <c>code</c> (and <c>param</c>
/// where a field is at fault) that the OpenAI error writer carries into OpenAI's error shape on <c>/v1</c>.
/// </summary>
internal static class GatewayResults
{
    public static ProblemHttpResult NoUpstream() => Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable",
        "No model upstream is configured (Llm:Upstreams or the connection string 'llm').", "no_upstream_configured");

    /// <summary>The caller's API key no longer works (deleted, or its tenant suspended): as authentication answers it.</summary>
    public static ProblemHttpResult KeyRefused(HttpContext http, string detail)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return Problem(StatusCodes.Status401Unauthorized, "Unauthorized", detail, "invalid_api_key");
    }

    public static ProblemHttpResult ModelNotFound(string model) => Problem(StatusCodes.Status404NotFound, "Model not found",
        $"The model '{model}' does not exist or is not served here.", "model_not_found", "model");

    public static ProblemHttpResult ModelNotAllowed(string model) => Problem(StatusCodes.Status403Forbidden, "Forbidden",
        $"This API key may not use the model '{model}'.", "model_not_allowed", "model");

    public static ValidationProblem Untranslatable(TranslationException refusal) => TypedResults.ValidationProblem(
        new Dictionary<string, string[]> { [refusal.Field] = [refusal.Message] },
        detail: $"{refusal.Field}: {refusal.Message}",
        extensions: new Dictionary<string, object?> { ["code"] = "unsupported_parameter", ["param"] = refusal.Field });

    public static ProblemHttpResult TooManyRequests(HttpContext http, LimitRefusal refusal)
    {
        http.Response.Headers.RetryAfter = refusal.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
            detail: $"The {refusal.Scope}'s {refusal.Limit} limit is reached; retry after {refusal.RetryAfterSeconds} s.",
            extensions: new Dictionary<string, object?>
            {
                ["limit"] = refusal.Limit,
                ["scope"] = refusal.Scope,
                ["retryAfter"] = refusal.RetryAfterSeconds,
                ["code"] = refusal.Limit == "monthlyTokenBudget" ? "insufficient_quota" : "rate_limit_exceeded",
            });
    }

    /// <summary>Every attempt failed, or no upstream could take the call.</summary>
    public static ProblemHttpResult Unavailable(HttpContext http, string model, UpstreamOutcome outcome)
    {
        if (outcome.TimedOut)
        {
            return Problem(StatusCodes.Status504GatewayTimeout, "Gateway timeout", $"No model server for '{model}' answered in time.", "upstream_timeout");
        }

        if (outcome.Result == AttemptResult.NoneAvailable || outcome.RetryAfter is not null)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling((outcome.RetryAfter ?? TimeSpan.FromSeconds(1)).TotalSeconds));
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable",
                $"Every model server for '{model}' is busy or out of rotation; retry after {seconds} s.", "upstream_unavailable");
        }

        return Problem(StatusCodes.Status502BadGateway, "Bad gateway", $"The model servers for '{model}' failed or could not be reached.", "upstream_error");
    }

    public static ProblemHttpResult Timeout(TimeSpan timeout) => Problem(StatusCodes.Status504GatewayTimeout, "Gateway timeout",
        $"The model upstream did not answer within {timeout.TotalSeconds:0} s.", "upstream_timeout");

    public static ProblemHttpResult InvalidAnswer() => Problem(StatusCodes.Status502BadGateway, "Bad gateway",
        "The model upstream answered with something that is not a valid answer.", "upstream_invalid_response");

    public static ProblemHttpResult Unreachable() => Problem(StatusCodes.Status502BadGateway, "Bad gateway",
        "The model upstream could not be reached or broke off its answer.", "upstream_error");

    /// <summary>An upstream refused the request itself (unknown model, bad parameter): its message is the caller's to read.</summary>
    public static ProblemHttpResult Refused(int status, string? message) => Problem(status, "Upstream refused the request",
        message is null ? $"The model upstream refused the request with status {status}." : message.Length > 500 ? message[..500] : message,
        status == StatusCodes.Status404NotFound ? "model_not_found" : "upstream_refused");

    public static ProblemHttpResult Problem(int status, string title, string detail, string code, string? param = null) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail,
            extensions: param is null
                ? new Dictionary<string, object?> { ["code"] = code }
                : new Dictionary<string, object?> { ["code"] = code, ["param"] = param });

    /// <summary>A problem answer shaped for the Ollama surface of a 403: model management is not for tenants.</summary>
    public static ProblemHttpResult ManagementForbidden() =>
        Problems.Forbidden("Model management (pull, push, create, copy, delete) is not available through the gateway; ask the operator.");
}
