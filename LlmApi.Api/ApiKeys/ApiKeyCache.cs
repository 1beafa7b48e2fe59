using System.Collections.Concurrent;
using System.Security.Claims;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;

namespace LlmApi.Api.ApiKeys;

/// <summary>
/// API keys this replica has verified against Redis, with their tenants, so that a model call need not read them
/// again: its admission script checks, in the same round trip that reserves its usage, that the key still exists
/// with the same secret and that its tenant is still active, and reads the limits there too. So deleting a key or
/// suspending a tenant still stops the next call on every replica, and limits are always the ones in Redis. Other
/// routes do not use this cache; they read the key on every request. Entries live five minutes at most.
/// </summary>
internal sealed class ApiKeyCache(TimeProvider clock)
{
    /// <summary>How long an entry is used; a bound on how stale the key's name or the tenant's settings can be.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>Beyond this many keys the cache starts over, so that a flood of distinct keys cannot grow it.</summary>
    private const int Capacity = 10_000;

    private readonly ConcurrentDictionary<Guid, Entry> _entries = new();

    public bool TryGet(Guid keyId, out Entry entry)
    {
        if (_entries.TryGetValue(keyId, out entry!) && entry.Expires > clock.GetUtcNow())
        {
            return true;
        }

        entry = null!;
        return false;
    }

    public void Set(ApiKey key, Tenant tenant)
    {
        _entries.Remember(key.KeyId, new Entry(key, tenant, ApiKeyAuthenticationHandler.PrincipalOf(key), clock.GetUtcNow() + Lifetime), Capacity);
    }

    public void Remove(Guid keyId) => _entries.TryRemove(keyId, out _);

    /// <summary>A verified key, its tenant as read then, and the principal its requests run as (shared, never written).</summary>
    public sealed record Entry(ApiKey Key, Tenant Tenant, ClaimsPrincipal Principal, DateTimeOffset Expires);
}

/// <summary>
/// Endpoint metadata: the endpoint admits every call through <see cref="Llm.UsageLimiter"/>, whose script checks the
/// API key again, so the key may come from <see cref="ApiKeyCache"/>.
/// </summary>
internal sealed class KeyCheckedAtAdmission
{
    public static readonly KeyCheckedAtAdmission Instance = new();
}
