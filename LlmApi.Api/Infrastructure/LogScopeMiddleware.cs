using LlmApi.Api.Auth;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Puts the verified tenant and user on every log line of an authenticated request, as structured scope fields
/// (<c>TenantId</c>, <c>UserId</c>), so logs can be filtered per tenant without handlers repeating them.
/// </summary>
internal sealed class LogScopeMiddleware(RequestDelegate next, ILogger<LogScopeMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context, Caller caller)
    {
        if (!caller.IsKnown)
        {
            await next(context);
            return;
        }

        using (logger.BeginScope(new Dictionary<string, object>
        {
            ["TenantId"] = caller.TenantId,
            ["UserId"] = caller.UserId,
        }))
        {
            await next(context);
        }
    }
}
