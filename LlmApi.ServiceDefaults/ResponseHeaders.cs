using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Headers every answer of a service carries: <c>X-Content-Type-Options: nosniff</c>, <c>Cache-Control: no-store</c>
/// unless the endpoint chose otherwise (answers carry tokens, keys and tenant data, none of which a cache should keep;
/// static files set their own), and whatever headers the service adds for itself (the console: its content security
/// policy). The <c>Server</c> header is switched off in Kestrel's options.
/// </summary>
public sealed class ResponseHeadersMiddleware
{
    private readonly RequestDelegate _next;
    private readonly Func<object, Task> _apply;

    public ResponseHeadersMiddleware(RequestDelegate next, KeyValuePair<string, string>[] serviceHeaders)
    {
        _next = next;
        // Made once: the callback registered on every answer allocates nothing.
        _apply = state =>
        {
            var headers = ((HttpContext)state).Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            if (!headers.ContainsKey(HeaderNames.CacheControl))
            {
                headers.CacheControl = "no-store";
            }

            foreach (var (name, value) in serviceHeaders)
            {
                headers[name] = value;
            }

            return Task.CompletedTask;
        };
    }

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(_apply, context);
        return _next(context);
    }
}

public static class ResponseHeadersExtensions
{
    public static IApplicationBuilder UseResponseHeaders(this IApplicationBuilder app, params KeyValuePair<string, string>[] serviceHeaders) =>
        app.UseMiddleware<ResponseHeadersMiddleware>([serviceHeaders]);
}
