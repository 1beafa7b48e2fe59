using System.Text.Json;
using Microsoft.Net.Http.Headers;

namespace LlmApi.Api.Llm.Surfaces;

/// <summary>
/// On Ollama's own routes, a client that accepts <c>application/json</c> but not <c>application/problem+json</c> (as
/// ollama-js does) gets the problem document as <c>application/json</c>: such clients read a failure's message from
/// its <c>error</c> member only when the media type says JSON. Every other client gets problem+json as everywhere.
/// </summary>
internal sealed class OllamaErrorWriter(Microsoft.Extensions.Options.IOptions<ProblemDetailsOptions> options) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        if (http.GetEndpoint()?.Metadata.GetMetadata<OllamaSurface>() is null)
        {
            return false;
        }

        var accept = http.Request.GetTypedHeaders().Accept;
        return accept.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            && !accept.Any(a => a.MediaType.Equals("application/problem+json", StringComparison.OrdinalIgnoreCase));
    }

    public async ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        options.Value.CustomizeProblemDetails?.Invoke(context); // the conventions every problem gets, Ollama's "error" member included
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(JsonSerializer.Serialize(context.ProblemDetails, Formats.WireJson.Options), http.RequestAborted);
    }
}
