using System.Security.Claims;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;
using LlmApi.Api.Users;
using StackExchange.Redis;

namespace LlmApi.Api.Auth;

/// <summary>
/// Decides, for a token whose signature, issuer, audience and lifetime already passed, whether it still grants
/// access: its session exists, its id is not revoked, its user exists and is active, its tenant is active. The four
/// reads travel in one pipelined batch, one Redis round trip per request (the original made three sequential ones),
/// and they fetch the user and tenant whole so handlers need not read them again. State lives in Redis only, so a
/// logout or suspension on one replica holds on every replica at once.
/// </summary>
internal sealed class AccessValidator(IConnectionMultiplexer redis)
{
    public async Task<string?> ValidateAsync(ClaimsPrincipal principal, Caller caller)
    {
        if (!Guid.TryParse(principal.FindFirstValue(ApiClaims.TenantId), out var tenantId) ||
            !Guid.TryParse(principal.FindFirstValue(ApiClaims.Subject), out var userId) ||
            !Guid.TryParse(principal.FindFirstValue(ApiClaims.SessionId), out var sessionId) ||
            principal.FindFirstValue(ApiClaims.TokenId) is not { Length: > 0 } tokenId)
        {
            return "The token lacks required claims.";
        }

        var batch = redis.GetDatabase().CreateBatch();
        var tenantRead = batch.HashGetAllAsync(RedisKeys.Tenant(tenantId));
        var userRead = batch.HashGetAllAsync(RedisKeys.User(tenantId, userId));
        var sessionRead = batch.KeyExistsAsync(RedisKeys.Session(sessionId));
        var revokedRead = batch.KeyExistsAsync(RedisKeys.RevokedToken(tokenId));
        batch.Execute();
        await Task.WhenAll(tenantRead, userRead, sessionRead, revokedRead);

        if (await revokedRead || !await sessionRead)
        {
            return "The session has ended; sign in again.";
        }

        var user = User.FromHash(await userRead);
        if (user is null)
        {
            return "The user no longer exists.";
        }

        if (user.Status != UserStatus.Active)
        {
            return "The user is inactive.";
        }

        var tenant = Tenant.FromHash(await tenantRead);
        if (tenant is null || tenant.Status != TenantStatus.Active)
        {
            return "The tenant is not active.";
        }

        // The role is read from Redis, not trusted from the token: a demotion takes effect on the next request.
        if (principal.Identity is ClaimsIdentity identity)
        {
            foreach (var stale in identity.FindAll(ApiClaims.Role).ToList())
            {
                identity.RemoveClaim(stale);
            }

            identity.AddClaim(new Claim(ApiClaims.Role, User.RoleValue(user.Role)));
        }

        caller.Set(user, tenant, sessionId, tokenId);
        return null;
    }
}
