using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// The seed's Redis key table, and the only place key names are spelled. The braces are literal: Redis Cluster hashes
/// only what stands inside the first <c>{...}</c>, so every key of one tenant lands in that tenant's hash slot.
/// </summary>
internal static class RedisKeys
{
    /// <summary>Hash: the tenant (name, domain, status, settings, limits).</summary>
    public static RedisKey Tenant(Guid tenantId) => $"tenant:{{{tenantId:D}}}";

    /// <summary>String: the id of the tenant that owns a (normalized) domain. Claimed with SET NX.</summary>
    public static RedisKey TenantDomain(string domain) => $"tenant:domain:{{{domain}}}";

    /// <summary>Sorted set (all scores 0, so ordered by id, and ids are time-ordered UUIDv7): every tenant, for the operator.</summary>
    public static RedisKey AllTenants => "tenants";

    /// <summary>Hash: one user, password hash included.</summary>
    public static RedisKey User(Guid tenantId, Guid userId) => $"tenant:{{{tenantId:D}}}:user:{{{userId:D}}}";

    /// <summary>String: the id of the user with a (normalized) email in a tenant. Claimed with SET NX.</summary>
    public static RedisKey UserEmail(Guid tenantId, string email) => $"tenant:{{{tenantId:D}}}:user:email:{{{email}}}";

    /// <summary>Sorted set (scores 0, ordered by time-ordered id): the users of a tenant, paged by id.</summary>
    public static RedisKey TenantUsers(Guid tenantId) => $"tenant:{{{tenantId:D}}}:users";

    /// <summary>Set: the active admins of a tenant, so the last one can be protected atomically.</summary>
    public static RedisKey TenantAdmins(Guid tenantId) => $"tenant:{{{tenantId:D}}}:admins";

    /// <summary>Set: the session ids of a user, so they can all be ended at once.</summary>
    public static RedisKey UserSessions(Guid tenantId, Guid userId) => $"tenant:{{{tenantId:D}}}:user:{{{userId:D}}}:sessions";

    /// <summary>Hash with the token's TTL: one login session, in its tenant's hash slot.</summary>
    public static RedisKey Session(Guid tenantId, Guid sessionId) => SessionPrefix(tenantId) + sessionId.ToString("D");

    /// <summary>
    /// What session keys of a tenant start with (<c>session:{tenantId}:</c>), and revoked token ids
    /// (<c>token:blacklist:{tenantId}:</c>, a string with a TTL equal to the token's remaining lifetime): scripts that end
    /// sessions build the keys they discover from these, so everything they touch is in the tenant's slot.
    /// </summary>
    public static string SessionPrefix(Guid tenantId) => $"session:{{{tenantId:D}}}:";

    public static string RevokedTokenPrefix(Guid tenantId) => $"token:blacklist:{{{tenantId:D}}}:";

    /// <summary>Hash: one API key of a tenant (its secret only as a hash).</summary>
    public static RedisKey ApiKey(Guid tenantId, Guid keyId) => $"tenant:{{{tenantId:D}}}:apikey:{{{keyId:D}}}";

    /// <summary>Sorted set (scores 0, time-ordered ids): the API keys of a tenant.</summary>
    public static RedisKey TenantApiKeys(Guid tenantId) => $"tenant:{{{tenantId:D}}}:apikeys";

    /// <summary>
    /// The usage counters of a tenant, or of one of its keys (<paramref name="keyId"/>), for rate limits and budgets.
    /// <paramref name="what"/> is <c>rpm:{minute}</c>, <c>tpm:{minute}</c>, <c>budget:{month}</c> or <c>inflight</c>.
    /// </summary>
    public static RedisKey Limit(Guid tenantId, Guid? keyId, string what) => keyId is { } key
        ? $"tenant:{{{tenantId:D}}}:apikey:{{{key:D}}}:limit:{what}"
        : $"tenant:{{{tenantId:D}}}:limit:{what}";

    /// <summary>Hash of usage counters of a tenant for one UTC day (per model, key and user).</summary>
    public static RedisKey Usage(Guid tenantId, DateOnly day) => $"tenant:{{{tenantId:D}}}:usage:{day:yyyy-MM-dd}";

    /// <summary>
    /// The three keys of one throttled subject (failures, lock, strikes), in one hash slot. <paramref name="subject"/> is
    /// a hash of what is throttled (an account, an address, a user), never the thing itself.
    /// </summary>
    public static RedisKey[] Throttle(string scope, string subject) =>
    [
        $"throttle:{{{scope}:{subject}}}:failures",
        $"throttle:{{{scope}:{subject}}}:lock",
        $"throttle:{{{scope}:{subject}}}:strikes",
    ];

    /// <summary>Stream: the tenant's audit trail, trimmed by age.</summary>
    public static RedisKey Audit(Guid tenantId) => $"tenant:{{{tenantId:D}}}:audit";
}
