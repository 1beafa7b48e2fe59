using LlmApi.Api.Auth;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Puts the verified tenant and user on every log line of an authenticated request, as structured scope fields
/// (<c>TenantId</c>, and <c>UserId</c> or <c>ApiKeyId</c>), so logs can be filtered per tenant without handlers repeating them.
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

        // The scope's fields as a list (what logging providers enumerate), not a dictionary built per request.
        var scope = new List<KeyValuePair<string, object>>(2) { new("TenantId", caller.TenantId) };
        if (caller.UserOrNull is { } user)
        {
            scope.Add(new("UserId", user.UserId));
        }

        if (caller.Key is { } key)
        {
            scope.Add(new("ApiKeyId", key.KeyId));
        }

        using (logger.BeginScope(scope))
        {
            await next(context);
        }
    }
}
