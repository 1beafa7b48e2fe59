using System.Text.Json;

namespace LlmApi.Api.Llm.Surfaces;

/// <summary>
/// Writes every error under <c>/v1</c> in OpenAI's shape, <c>{"error": {"message", "type", "param", "code"}}</c>, so that
/// OpenAI SDKs raise their typed errors with a readable message. It sits before the default problem+json writer and
/// sees every problem the API answers there: the gateway's, validation, authentication, unknown routes and exceptions.
/// </summary>
internal sealed class OpenAiErrorWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => OpenAiApi.IsOpenAiPath(context.HttpContext.Request.Path);

    public async ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var http = context.HttpContext;
        var status = problem.Status ?? http.Response.StatusCode;
        var (param, message) = problem is HttpValidationProblemDetails { Errors.Count: > 0 } validation
            ? (validation.Errors.First().Key, string.Join(' ', validation.Errors.First().Value))
            : (Extension(problem, "param"), problem.Detail ?? problem.Title ?? "The request failed.");
        var code = Extension(problem, "code") ?? status switch
        {
            StatusCodes.Status401Unauthorized => "invalid_api_key",
            StatusCodes.Status404NotFound => "not_found",
            StatusCodes.Status429TooManyRequests => "rate_limit_exceeded",
            StatusCodes.Status503ServiceUnavailable => "service_unavailable",
            _ => null,
        };
        var type = status switch
        {
            StatusCodes.Status401Unauthorized => "authentication_error",
            StatusCodes.Status403Forbidden => "permission_error",
            StatusCodes.Status429TooManyRequests => code == "insufficient_quota" ? "insufficient_quota" : "rate_limit_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        };

        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(JsonSerializer.Serialize(new OpenAiError(new OpenAiErrorBody(message, type, param, code)), Formats.WireJson.Options), http.RequestAborted);
    }

    private static string? Extension(Microsoft.AspNetCore.Mvc.ProblemDetails problem, string name) =>
        problem.Extensions.TryGetValue(name, out var value) ? value?.ToString() : null;

    private sealed record OpenAiError(OpenAiErrorBody Error);

    private sealed record OpenAiErrorBody(string Message, string Type, string? Param, string? Code);
}
