using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;
using LlmApi.Api.Users;
using Microsoft.Extensions.Caching.Memory;
using StackExchange.Redis;

namespace LlmApi.Api.Auth;

/// <summary>
/// The users and tenants this replica has parsed for access checks, each with the revision it was read at (the
/// <see cref="RedisHashes.Revision"/> field, which every script writing the record increments). Reading a user's
/// and a tenant's whole hash and parsing them was half of what an authenticated request cost; with a remembered
/// record the access check reads only its revision, status and role, and uses the remembered one while those are
/// what it holds. Nothing is trusted from memory that decides access: the session, the statuses and the role are
/// read from Redis on every request, so revocation, deactivation, suspension and demotion still take effect on the
/// next request on every replica; a record changed on any replica has a new revision, so its next reader parses it
/// afresh. Records written before revisions existed are never remembered. Bounded, and an entry is re-read at the
/// latest after <see cref="MaxAge"/> in any case (a record edited by hand without its revision).
/// </summary>
internal sealed class AccessCache : IDisposable
{
    /// <summary>Records remembered per kind per replica; beyond that, the least recently used are read again.</summary>
    public const int Capacity = 50_000;

    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    private readonly MemoryCache _users = new(new MemoryCacheOptions { SizeLimit = Capacity, CompactionPercentage = 0.2 });
    private readonly MemoryCache _tenants = new(new MemoryCacheOptions { SizeLimit = Capacity, CompactionPercentage = 0.2 });

    public Revised<User>? FindUser(Guid userId) => _users.TryGetValue(userId, out Revised<User>? user) ? user : null;

    public Revised<Tenant>? FindTenant(Guid tenantId) => _tenants.TryGetValue(tenantId, out Revised<Tenant>? tenant) ? tenant : null;

    /// <summary>Parses a user's whole hash, remembering it when it carries a revision; null when there is no such user.</summary>
    public User? ReadUser(HashEntry[] hash) => Read(_users, User.FromHash(hash), hash, user => user.UserId);

    /// <summary>Parses a tenant's whole hash, remembering it when it carries a revision; null when there is no such tenant.</summary>
    public Tenant? ReadTenant(HashEntry[] hash) => Read(_tenants, Tenant.FromHash(hash), hash, tenant => tenant.TenantId);

    private static T? Read<T>(MemoryCache cache, T? record, HashEntry[] hash, Func<T, Guid> id)
        where T : class
    {
        if (record is not null && RedisHashes.RevisionOf(hash) is { } revision)
        {
            cache.Set(id(record), new Revised<T>(revision, record), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = MaxAge });
        }

        return record;
    }

    public void Dispose()
    {
        _users.Dispose();
        _tenants.Dispose();
    }
}

/// <summary>A record as parsed at one revision.</summary>
internal sealed record Revised<T>(long Revision, T Value);
