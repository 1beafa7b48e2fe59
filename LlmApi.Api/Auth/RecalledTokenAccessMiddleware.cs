using System.Security.Claims;
using LlmApi.Api.ApiKeys;

namespace LlmApi.Api.Auth;

/// <summary>
/// Runs the access check (<see cref="AccessValidator"/>) of a token this replica has validated before at the top of
/// the request pipeline, and leaves its outcome for the bearer scheme, which applies it (<see cref="AuthenticationSetup"/>).
/// The check is one Redis round trip on every request. Awaited where the scheme asks for it, deep in the authentication
/// stack, it suspended and later resumed every asynchronous method above it (the middleware, the authentication
/// service, the handler and its events): 5-8% of <c>/api/auth/me</c>'s CPU in two A/B runs (docs/benchmarks.md,
/// issue 11, thirty-second pass). Awaited here, only this method waits, and the rest of the pipeline runs on the answer.
/// Nothing else changes: the same check on every request, its refusal a 401 with the same reason, and a Redis failure
/// during it thrown where authentication runs, inside the exception handler, as before.
/// </summary>
internal sealed class RecalledTokenAccessMiddleware(RequestDelegate next, CachingTokenHandler tokens, AccessValidator validator)
{
    public Task InvokeAsync(HttpContext context, Caller caller) =>
        !ApiKey.IsPresentedBy(context.Request) && BearerToken(context.Request) is { } token && tokens.Recall(token) is { } identity
            ? CheckThenContinueAsync(context, caller, identity)
            : next(context);

    /// <summary>The token in an <c>Authorization: Bearer</c> header, read as the bearer scheme reads it; null when there is none.</summary>
    private static string? BearerToken(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && authorization["Bearer ".Length..].Trim() is { Length: > 0 } token
            ? token
            : null;
    }

    private async Task CheckThenContinueAsync(HttpContext context, Caller caller, ClaimsIdentity identity)
    {
        var check = validator.ValidateAsync(new ClaimsPrincipal(identity), caller);
        // Waits for the check without throwing what it failed with: that is thrown where authentication reads it.
        await ((Task)check).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        context.Features.Set(new RecalledTokenAccess(check));
        await next(context);
    }
}

/// <summary>The access check of a recalled token, made ahead of authentication, and finished.</summary>
internal sealed record RecalledTokenAccess(Task<AccessDecision> Check)
{
    /// <summary>The decision; throws what the check failed with, as the check itself would have at this point.</summary>
    public AccessDecision Result() => Check.GetAwaiter().GetResult();
}
