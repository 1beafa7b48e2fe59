using LlmApi.Api.Auth;
using Microsoft.AspNetCore.Diagnostics;
using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// The one place where exceptions become RFC 9457 problem+json. Handlers do not catch: bad input surfaces here as
/// <see cref="BadHttpRequestException"/> (400, 413, 415), Redis outages and a full sign-in queue as 503 with Retry-After,
/// a failing model upstream as 502, everything else as a 500 without details.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problemDetails, ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            BadHttpRequestException bad => (bad.StatusCode, TitleFor(bad.StatusCode), DetailFor(bad)),
            // A socket closed under a write is the same moment as an unreachable store, so the same answer.
            _ when exception is RedisConnectionException or RedisTimeoutException || RedisFailure.IsSocketClosedMidWrite(exception) =>
                (StatusCodes.Status503ServiceUnavailable, "Service unavailable", "The data store is unreachable; try again shortly."),
            // What Redis answers while a replica is being promoted or a cluster reshapes: a wait, not a fault.
            RedisServerException server when IsTransient(server.Message) =>
                (StatusCodes.Status503ServiceUnavailable, "Service unavailable", "The data store is changing over; try again shortly."),
            // The client's own refusal to write to a node it has just seen turn into a replica.
            RedisCommandException command when command.Message.Contains("cannot be issued to a replica", StringComparison.Ordinal) =>
                (StatusCodes.Status503ServiceUnavailable, "Service unavailable", "The data store is changing over; try again shortly."),
            ServiceOverloadedException overloaded => (StatusCodes.Status503ServiceUnavailable, "Service unavailable", overloaded.Message),
            ReplicationTimeoutException => (StatusCodes.Status503ServiceUnavailable, "Service unavailable",
                "The change could not be confirmed on every replica of the data store; it may not have been kept. Try again shortly."),
            // The model upstream is the API's only outbound HTTP: a failed call to it is a bad gateway, not our fault.
            HttpRequestException => (StatusCodes.Status502BadGateway, "Bad gateway", "The model upstream could not be reached or failed."),
            OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested =>
                (StatusCodes.Status499ClientClosedRequest, "Client closed request", null),
            _ => (StatusCodes.Status500InternalServerError, "An unexpected error occurred", null),
        };

        if (status >= 500)
        {
            LogUnhandled(logger, exception, httpContext.Request.Method, httpContext.Request.Path);
        }

        httpContext.Response.StatusCode = status;
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            httpContext.Response.Headers.RetryAfter = "1";
        }

        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }

    private static bool IsTransient(string message) =>
        message.StartsWith("READONLY", StringComparison.Ordinal) || message.StartsWith("LOADING", StringComparison.Ordinal)
        || message.StartsWith("MASTERDOWN", StringComparison.Ordinal) || message.StartsWith("CLUSTERDOWN", StringComparison.Ordinal)
        || message.StartsWith("TRYAGAIN", StringComparison.Ordinal)
        // A blocked WAIT whose primary is demoted mid-wait is released with UNBLOCKED; NOREPLICAS, with too few replicas.
        || message.StartsWith("UNBLOCKED", StringComparison.Ordinal) || message.StartsWith("NOREPLICAS", StringComparison.Ordinal);

    private static string TitleFor(int status) => status switch
    {
        StatusCodes.Status413PayloadTooLarge => "Request body too large",
        StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
        _ => "Bad request",
    };

    // In the API's terms: the framework's own messages name its types and parameters ("Did you mean to use a Service
    // instead?"), which tell a client nothing and a attacker how the service is built.
    private static string DetailFor(BadHttpRequestException bad) => bad switch
    {
        { InnerException: RefusedJsonException refused } => refused.Message,
        { InnerException: System.Text.Json.JsonException json } when json.Message.StartsWith("Duplicate property", StringComparison.Ordinal) =>
            DuplicateMemberException.DescribePath(json.Path),
        { InnerException: System.Text.Json.JsonException json } when json.Message.Contains("could not be converted", StringComparison.Ordinal) =>
            $"The value at {json.Path ?? "$"} has the wrong type or format.",
        { InnerException: System.Text.Json.JsonException json } =>
            $"The request body is not valid JSON (at {json.Path ?? "$"}, line {json.LineNumber + 1}, byte {json.BytePositionInLine}).",
        { StatusCode: StatusCodes.Status415UnsupportedMediaType } => "Request bodies must be JSON: send Content-Type: application/json.",
        { StatusCode: StatusCodes.Status413PayloadTooLarge } => "The request body is larger than this route accepts.",
        { Message: var message } when message.Contains("body", StringComparison.OrdinalIgnoreCase) => "A JSON request body is required.",
        { Message: var message } when message.StartsWith("Failed to bind parameter", StringComparison.Ordinal) => "A route or query value has the wrong format.",
        _ => "The request could not be read.",
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Request {Method} {Path} failed")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
