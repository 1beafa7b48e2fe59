namespace LlmApi.Web.Session;

/// <summary>Every log line of a signed-in request carries who it was for: tenant, user, or the operator.</summary>
internal sealed class LogScopeMiddleware(RequestDelegate next, ILogger<LogScopeMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context, ConsoleSession session)
    {
        if (context.User.Identity?.IsAuthenticated != true)
        {
            await next(context);
            return;
        }

        using (logger.BeginScope(session.IsOperator
            ? new Dictionary<string, object?> { ["Actor"] = "operator" }
            : new Dictionary<string, object?> { ["TenantId"] = session.TenantId, ["UserId"] = session.UserId }))
        {
            await next(context);
        }
    }
}
