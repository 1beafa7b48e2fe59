using System.Security.Claims;
using System.Text.Json;
using LlmApi.Web.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.WebUtilities;

namespace LlmApi.Web.Session;

/// <summary>
/// Who is signed in to the console: a tenant's admin or user (with the API token of their own session), or the platform
/// operator (with the operator key). The credential lives in the server-side ticket (<see cref="RedisTicketStore"/>)
/// and is only ever sent to the API.
/// </summary>
internal sealed class ConsoleSession(IHttpContextAccessor accessor, TimeProvider clock)
{
    /// <summary>
    /// A cookie's name: <c>__Secure-</c> when it is Secure, so browsers take it only over HTTPS. (Not <c>__Host-</c>:
    /// the cookies are scoped to the console's path, <c>/console</c> on the API's host, which that prefix forbids.)
    /// Browsers refuse the prefix on a cookie that is not Secure (a local HTTP run).
    /// </summary>
    public static string CookieName(string name, bool secure) => (secure ? "__Secure-" : string.Empty) + name;
    public const string AdminRole = "admin";
    public const string UserRole = "user";
    public const string OperatorRole = "operator";
    public const string AdminPolicy = "console-admin";
    public const string OperatorPolicy = "console-operator";
    public const string TenantUserPolicy = "console-tenant-user";

    /// <summary>How long an operator stays signed in: the key does not expire, the console's session does.</summary>
    public static readonly TimeSpan OperatorSessionLifetime = TimeSpan.FromHours(8);

    private const string CredentialName = "credential";

    private static class Claims
    {
        public const string UserId = "user_id";
        public const string TenantId = "tenant_id";
        public const string TenantName = "tenant_name";
        public const string TenantDomain = "tenant_domain";
        public const string Email = "email";
    }

    private ClaimsPrincipal User => accessor.HttpContext?.User ?? new ClaimsPrincipal();

    public bool IsOperator => User.IsInRole(OperatorRole);

    public bool IsAdmin => User.IsInRole(AdminRole);

    public string DisplayName => User.Identity?.Name ?? string.Empty;

    public string? Email => User.FindFirstValue(Claims.Email);

    public Guid? UserId => Guid.TryParse(User.FindFirstValue(Claims.UserId), out var id) ? id : null;

    public Guid? TenantId => Guid.TryParse(User.FindFirstValue(Claims.TenantId), out var id) ? id : null;

    public string? TenantName => User.FindFirstValue(Claims.TenantName);

    public string? TenantDomain => User.FindFirstValue(Claims.TenantDomain);

    /// <summary>The credential of this console session for the API, or null when nobody is signed in.</summary>
    public Task<string?> CredentialAsync() =>
        accessor.HttpContext is { } http ? http.GetTokenAsync(CredentialName) : Task.FromResult<string?>(null);

    /// <summary>Signs a tenant's user in with the token the API gave them; the session ends when the token does.</summary>
    public Task SignInUserAsync(HttpContext http, SignInResult signIn)
    {
        var identity = new ClaimsIdentity(CookieAuthenticationDefaults.AuthenticationScheme, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaims(
        [
            new(ClaimTypes.Name, signIn.User.Username),
            new(ClaimTypes.Role, signIn.User.Role == AdminRole ? AdminRole : UserRole),
            new(Claims.UserId, signIn.User.UserId.ToString("D")),
            new(Claims.Email, signIn.User.Email),
            new(Claims.TenantId, signIn.Tenant.TenantId.ToString("D")),
            new(Claims.TenantName, signIn.Tenant.Name),
            new(Claims.TenantDomain, signIn.Tenant.Domain),
        ]);
        return SignInAsync(http, identity, signIn.Token, TokenExpiry(signIn.Token) ?? clock.GetUtcNow().AddHours(1));
    }

    public Task SignInOperatorAsync(HttpContext http, string operatorKey)
    {
        var identity = new ClaimsIdentity(CookieAuthenticationDefaults.AuthenticationScheme, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaims([new(ClaimTypes.Name, "Operator"), new(ClaimTypes.Role, OperatorRole)]);
        return SignInAsync(http, identity, operatorKey, clock.GetUtcNow() + OperatorSessionLifetime);
    }

    private static Task SignInAsync(HttpContext http, ClaimsIdentity identity, string credential, DateTimeOffset expires)
    {
        var properties = new AuthenticationProperties { ExpiresUtc = expires, IsPersistent = false, AllowRefresh = false };
        properties.StoreTokens([new AuthenticationToken { Name = CredentialName, Value = credential }]);
        return http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity), properties);
    }

    /// <summary>When the API's token expires (its <c>exp</c>); the console's session ends with it.</summary>
    private static DateTimeOffset? TokenExpiry(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(WebEncoders.Base64UrlDecode(parts[1]));
            return json.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out var seconds)
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : null;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }
}
