using System.Security.Claims;
using System.Text.Encodings.Web;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.ApiKeys;

/// <summary>
/// Authenticates <c>Authorization: Bearer llmk_...</c>. The key names its tenant and id; one Redis round trip reads
/// the key and the tenant, the secret is compared in constant time with the stored hash, and the tenant must be
/// active. A deleted key is gone from Redis, so it stops working on every replica at once. On model routes a key
/// verified earlier comes from <see cref="ApiKeyCache"/> without that round trip: their admission script checks it.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyVerifier verifier, ApiKeyCache cache)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    /// <summary>Where an API key may stand in for a token: routes marked with <see cref="AcceptsApiKeys"/>.</summary>
    public static bool IsAccepted(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<AcceptsApiKeys>() is not null;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!ApiKey.IsPresentedBy(Request))
        {
            return AuthenticateResult.NoResult();
        }

        var header = Request.Headers.Authorization.ToString();

        if (!ApiKey.TryParse(header.AsMemory("Bearer ".Length).Trim(), out var tenantId, out var keyId, out var secret))
        {
            return AuthenticateResult.Fail("The API key is malformed.");
        }

        if (Context.GetEndpoint()?.Metadata.GetMetadata<KeyCheckedAtAdmission>() is not null
            && cache.TryGet(keyId, out var known) && known.Key.TenantId == tenantId && known.SecretMatches(secret.Span))
        {
            Context.RequestServices.GetRequiredService<Caller>().Set(known.Key, known.Tenant, checkPending: true);
            return AuthenticateResult.Success(new AuthenticationTicket(known.Principal, SchemeName));
        }

        var (key, tenant, failure) = await verifier.VerifyAsync(tenantId, keyId, stored => stored.SecretMatches(secret.Span), secret);
        if (failure is not null)
        {
            return AuthenticateResult.Fail(failure);
        }

        Context.RequestServices.GetRequiredService<Caller>().Set(key!, tenant!, checkPending: false);
        return AuthenticateResult.Success(new AuthenticationTicket(PrincipalOf(key!), SchemeName));
    }

    /// <summary>
    /// Who a key's requests run as: its tenant and its id. Built once per cached key (<see cref="ApiKeyCache"/>) and
    /// shared by its requests, which only read it.
    /// </summary>
    public static ClaimsPrincipal PrincipalOf(ApiKey key) => new(new ClaimsIdentity(
        [new Claim(ApiClaims.TenantId, key.TenantId.ToString("D")), new Claim("key_id", key.KeyId.ToString("D"))], SchemeName));

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = (await HandleAuthenticateOnceSafeAsync()).Failure?.Message ?? "A bearer token or API key is required.";
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await Context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = StatusCodes.Status401Unauthorized, Title = "Unauthorized", Detail = failure },
        });
    }
}

/// <summary>Marks the routes a tenant's API key may call (model routes and usage): see <see cref="AuthenticationSetup.RequireModelAccess{TBuilder}"/>.</summary>
internal sealed class AcceptsApiKeys
{
    public static readonly AcceptsApiKeys Instance = new();
}
