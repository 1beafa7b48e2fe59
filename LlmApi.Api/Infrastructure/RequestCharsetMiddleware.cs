using Microsoft.Net.Http.Headers;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Refuses a request body declared in a character set other than UTF-8 (or with an empty or unknown one) with 415,
/// before anything tries to decode it: JSON is UTF-8 (RFC 8259), and an unknown charset would otherwise surface as
/// an exception from deep inside body binding.
/// </summary>
internal sealed class RequestCharsetMiddleware(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problems)
    {
        // Parsed only when it names a charset at all: every model call sends a content type, few send a charset.
        if (context.Request.ContentType is { } contentType
            && contentType.Contains("charset", StringComparison.OrdinalIgnoreCase)
            && MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            && mediaType.Parameters.Any(p => p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase))
            && !(mediaType.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || mediaType.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)))
        {
            context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            await problems.WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails =
                {
                    Status = StatusCodes.Status415UnsupportedMediaType,
                    Title = "Unsupported media type",
                    Detail = "Request bodies are JSON in UTF-8; send Content-Type: application/json (charset utf-8 or none).",
                },
            });
            return;
        }

        await next(context);
    }
}
