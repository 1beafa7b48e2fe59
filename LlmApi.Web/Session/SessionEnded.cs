using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Diagnostics;

namespace LlmApi.Web.Session;

/// <summary>Why a console session ended without its user signing out; the sign-in page says it in words.</summary>
internal enum SessionEndReason
{
    Ended,
    Expired,
    TenantSuspended,
    UserDeactivated,
    OperatorKeyChanged,
}

/// <summary>The API no longer accepts this session's credential (401): revoked, expired, suspended, deactivated.</summary>
internal sealed class SessionEndedException(SessionEndReason reason) : Exception($"The console session ended: {reason}.")
{
    public SessionEndReason Reason { get; } = reason;
}

/// <summary>Signs the browser out and sends it to sign-in, saying why, wherever in a page the API answered 401.</summary>
internal sealed class SessionEndedHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not SessionEndedException ended)
        {
            return false;
        }

        await httpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        httpContext.Response.Redirect($"{httpContext.Request.PathBase}/signin?ended={ended.Reason}");
        return true;
    }
}

internal static class SignOutEndpoint
{
    /// <summary>
    /// <c>POST /signout</c> (a form with the antiforgery token): ends the API session the console holds, then the
    /// console's own. The API's answer does not matter: the console session ends either way.
    /// </summary>
    public static void MapSignOut(this IEndpointRouteBuilder app) =>
        app.MapPost("/signout", async (HttpContext http, Api.ConsoleApi api, ConsoleSession session) =>
        {
            if (!session.IsOperator && http.User.Identity?.IsAuthenticated == true)
            {
                try
                {
                    await api.LogoutAsync();
                }
                catch (SessionEndedException)
                {
                    // Ended already (elsewhere, or expired): signing out is what was asked, and it is done.
                }
            }

            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect("~/signin?signedOut=true");
        }).WithMetadata(new RequireAntiforgeryTokenAttribute());
}
