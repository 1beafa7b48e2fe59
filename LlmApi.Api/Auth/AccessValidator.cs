using System.Runtime.CompilerServices;
using System.Security.Claims;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;
using LlmApi.Api.Users;
using StackExchange.Redis;

namespace LlmApi.Api.Auth;

/// <summary>
/// Decides, for a token whose signature, issuer, audience and lifetime already passed, whether it still grants
/// access: its session is live, its user exists and is active, its tenant is active. The reads are pipelined in one
/// batch, one Redis round trip per request (the original made three sequential ones); all keys lie in the tenant's
/// hash slot, so on Redis Cluster they go to one node. Handlers get the user and tenant whole, so they need not read
/// them again: a user or tenant this replica parsed before (<see cref="AccessCache"/>) costs only its revision,
/// status and role (HMGET); one it has not, or one that changed since, is read whole. State lives in Redis only, so
/// a logout, deactivation, suspension or demotion on one replica holds on every replica at the next request.
/// </summary>
/// <remarks>
/// A session is live while its id is in the user's session set. Every path that ends a session (logout, logout-all,
/// password change, user deletion) removes it from that set in the same script that deletes <c>session:{id}</c>
/// and writes <c>token:blacklist:{jti}</c>, so the set answers for both. A session that merely expires leaves its
/// id behind, but its token expires at the same moment and fails validation before this check.
/// </remarks>
internal sealed class AccessValidator(IConnectionMultiplexer redis, AccessCache cache)
{
    private static readonly RedisValue[] UserState = [User.Fields.Revision, User.Fields.Status, User.Fields.Role];
    private static readonly RedisValue[] TenantState = [Tenant.Fields.Revision, Tenant.Fields.Status];

    public async Task<AccessDecision> ValidateAsync(ClaimsPrincipal principal, Caller caller)
    {
        if (TokenClaims.Of(principal) is not { TenantId: var tenantId, UserId: var userId, SessionId: var sessionId, TokenId: var tokenId } claims)
        {
            return AccessDecision.Deny("The token lacks required claims.");
        }

        var (userKey, tenantKey) = (claims.UserKey, claims.TenantKey);
        var knownUser = cache.FindUser(userId) is { Value.TenantId: var userTenant } remembered && userTenant == tenantId ? remembered : null;
        var knownTenant = cache.FindTenant(tenantId);

        var batch = redis.GetDatabase().CreateBatch();
        var sessionLive = batch.SetContainsAsync(claims.SessionsKey, claims.SessionMember);
        var userRead = knownUser is null ? batch.HashGetAllAsync(userKey) : null;
        var userState = knownUser is null ? null : batch.HashGetAsync(userKey, UserState);
        var tenantRead = knownTenant is null ? batch.HashGetAllAsync(tenantKey) : null;
        var tenantState = knownTenant is null ? null : batch.HashGetAsync(tenantKey, TenantState);
        batch.Execute();

        // Replies come back in order on one connection, so the last read completes last: awaiting it first costs one
        // continuation, where Task.WhenAll queued one to the thread pool per read (the client completes every
        // reply's task asynchronously). Awaiting the others after it is then synchronous.
        await ((Task?)tenantRead ?? tenantState!);
        await ((Task?)userRead ?? userState!);

        if (!await sessionLive)
        {
            return AccessDecision.Deny("The session has ended; sign in again.");
        }

        // A remembered record stands while its revision, status and role read as remembered; otherwise it is read whole.
        var user = userState is null ? cache.ReadUser(await userRead!) : Current(knownUser!, await userState);
        var tenant = tenantState is null ? cache.ReadTenant(await tenantRead!) : Current(knownTenant!, await tenantState);
        if (user is null || tenant is null)
        {
            var reread = redis.GetDatabase().CreateBatch();
            var userAgain = user is null ? reread.HashGetAllAsync(userKey) : null;
            var tenantAgain = tenant is null ? reread.HashGetAllAsync(tenantKey) : null;
            reread.Execute();
            user ??= cache.ReadUser(await userAgain!);
            tenant ??= cache.ReadTenant(await tenantAgain!);
        }

        if (user is null)
        {
            return AccessDecision.Deny("The user no longer exists.");
        }

        if (user.Status != UserStatus.Active)
        {
            return AccessDecision.Deny("The user is inactive.");
        }

        if (tenant is null || tenant.Status != TenantStatus.Active)
        {
            return AccessDecision.Deny("The tenant is not active.");
        }

        caller.Set(user, tenant, sessionId, tokenId);
        return AccessDecision.Allow(WithRole(principal, User.RoleValue(user.Role)));
    }

    /// <summary>
    /// The principal holding the role Redis holds, not the one the token was issued with: a demotion takes effect on
    /// the next request. The token's own identity is shared by every request presenting it (<see cref="CachingTokenHandler"/>),
    /// so a different role goes on a copy.
    /// </summary>
    private static ClaimsPrincipal WithRole(ClaimsPrincipal principal, string role)
    {
        if (principal.Identity is not ClaimsIdentity identity || HoldsOnly(identity, role))
        {
            return principal;
        }

        var current = identity.Clone();
        foreach (var stale in current.FindAll(ApiClaims.Role).ToList())
        {
            current.RemoveClaim(stale);
        }

        current.AddClaim(new Claim(ApiClaims.Role, role));
        return new ClaimsPrincipal(current);
    }

    private static bool HoldsOnly(ClaimsIdentity identity, string role)
    {
        var roles = 0;
        foreach (var claim in identity.Claims)
        {
            if (string.Equals(claim.Type, ApiClaims.Role, StringComparison.OrdinalIgnoreCase) && (claim.Value != role || ++roles > 1))
            {
                return false;
            }
        }

        return roles == 1;
    }

    /// <summary>
    /// The claims the check needs and the Redis names made from them. A token's identity is one object shared by every
    /// request presenting it (<see cref="CachingTokenHandler"/>) and never changed, so these are worked out once per
    /// token and kept with its identity (reading the claims and formatting four names was about 2% of a request).
    /// </summary>
    private sealed record TokenClaims(Guid TenantId, Guid UserId, Guid SessionId, string TokenId)
    {
        private static readonly ConditionalWeakTable<ClaimsIdentity, TokenClaims> Known = new();

        public RedisKey UserKey { get; } = RedisKeys.User(TenantId, UserId);

        public RedisKey TenantKey { get; } = RedisKeys.Tenant(TenantId);

        public RedisKey SessionsKey { get; } = RedisKeys.UserSessions(TenantId, UserId);

        /// <summary>The session's id as it is stored in the user's session set.</summary>
        public RedisValue SessionMember { get; } = SessionId.ToString("D");

        public static TokenClaims? Of(ClaimsPrincipal principal)
        {
            // A token's principal holds its one identity; anything else is read afresh.
            if (principal.Identities.Count() != 1 || principal.Identity is not ClaimsIdentity identity)
            {
                return Read(principal.Claims);
            }

            if (!Known.TryGetValue(identity, out var claims) && (claims = Read(identity.Claims)) is not null)
            {
                Known.AddOrUpdate(identity, claims);
            }

            return claims;
        }

        /// <summary>The claims, read in one pass (FindFirst allocates a predicate per call); null when one is missing or malformed.</summary>
        private static TokenClaims? Read(IEnumerable<Claim> claims)
        {
            string? tenant = null, subject = null, session = null, token = null;
            foreach (var claim in claims)
            {
                switch (claim.Type)
                {
                    case ApiClaims.TenantId: tenant ??= claim.Value; break;
                    case ApiClaims.Subject: subject ??= claim.Value; break;
                    case ApiClaims.SessionId: session ??= claim.Value; break;
                    case ApiClaims.TokenId: token ??= claim.Value; break;
                }
            }

            return Guid.TryParse(tenant, out var tenantId) && Guid.TryParse(subject, out var userId) &&
                   Guid.TryParse(session, out var sessionId) && token is { Length: > 0 }
                ? new TokenClaims(tenantId, userId, sessionId, token)
                : null;
        }
    }

    /// <summary>The remembered user when revision, status and role read [revision, status, role] as remembered, else null.</summary>
    private static User? Current(Revised<User> known, RedisValue[] state) =>
        state[0] == known.Revision && Reads(state[1], User.StatusValue(known.Value.Status)) && Reads(state[2], User.RoleValue(known.Value.Role))
            ? known.Value
            : null;

    /// <summary>The remembered tenant when revision and status read [revision, status] as remembered, else null.</summary>
    private static Tenant? Current(Revised<Tenant> known, RedisValue[] state) =>
        state[0] == known.Revision && Reads(state[1], Tenant.StatusValue(known.Value.Status)) ? known.Value : null;

    /// <summary>Whether a field read from Redis holds <paramref name="expected"/> (ASCII), compared without decoding it.</summary>
    private static bool Reads(RedisValue field, string expected) =>
        !field.IsNull && System.Text.Ascii.Equals(((ReadOnlyMemory<byte>)field).Span, expected);
}

/// <summary>What the access check decided: the reason access is refused, or the principal the request runs as.</summary>
internal readonly record struct AccessDecision(string? Failure, ClaimsPrincipal? Principal)
{
    public static AccessDecision Deny(string failure) => new(failure, null);

    public static AccessDecision Allow(ClaimsPrincipal principal) => new(null, principal);
}
