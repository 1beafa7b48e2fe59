using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Writes a problem when no other writer would, as problem+json: the default writer declines clients whose Accept
/// header lists neither JSON nor <c>*/*</c> (a browser's <c>text/html</c>), and then an error turned into an empty 500.
/// This API answers only JSON, so an error keeps its status and its document whatever the Accept header says.
/// Registered after the default writer, so it only takes what that one declined.
/// </summary>
internal sealed class FallbackProblemWriter(IOptions<ProblemDetailsOptions> options, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json)
    : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public async ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        problem.Status ??= http.Response.StatusCode;
        // The default writer fills these in for the problems it writes; the framework's bare ones (405, 404) have none.
        problem.Title ??= Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        problem.Extensions.TryAdd("traceId", Activity.Current?.Id ?? http.TraceIdentifier);
        options.Value.CustomizeProblemDetails?.Invoke(context);
        http.Response.ContentType = "application/problem+json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(problem, json.Value.SerializerOptions), http.RequestAborted);
    }
}
