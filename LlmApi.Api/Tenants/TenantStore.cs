using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Users;
using StackExchange.Redis;

namespace LlmApi.Api.Tenants;

/// <summary>Tenants, their domain index, and registration (a tenant with its first admin and session).</summary>
internal sealed class TenantStore(IConnectionMultiplexer redis)
{
    private IDatabase Db => redis.GetDatabase();

    public async Task<Tenant?> GetAsync(Guid tenantId) =>
        Tenant.FromHash(await Db.HashGetAllAsync(RedisKeys.Tenant(tenantId)));

    public async Task<Tenant?> FindByDomainAsync(string domain)
    {
        var tenantId = await Db.StringGetAsync(RedisKeys.TenantDomain(domain));
        return tenantId.IsNull ? null : await GetAsync(Guid.Parse(tenantId.ToString()));
    }

    public async Task<(IReadOnlyList<Tenant> Tenants, string? NextCursor, long Total)> ListAsync(Guid? after, int limit)
    {
        var totalTask = Db.SortedSetLengthAsync(RedisKeys.AllTenants);
        var (ids, next) = await Paging.PageAsync(Db, RedisKeys.AllTenants, after, limit);
        var tenants = (await RedisHashes.ReadAllAsync(Db, ids.Select(RedisKeys.Tenant))).Select(Tenant.FromHash).OfType<Tenant>().ToList();
        return (tenants, next, await totalTask);
    }

    // Invariant: a registration is all or nothing. The domain is claimed with SET NX (the only check, so sixteen
    // concurrent registrations of one domain give one tenant), then the tenant, its first admin with email claim and
    // indexes, and the admin's first session are written by the same script: no failure leaves a claim without a
    // tenant or a tenant without its admin.
    private const string RegisterScript = """
        if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
        local i = 5
        local function hset(key)
          local n = tonumber(ARGV[i])
          redis.call('HSET', key, unpack(ARGV, i + 1, i + n))
          i = i + n + 1
        end
        hset(KEYS[2])
        redis.call('ZADD', KEYS[3], 0, ARGV[1])
        hset(KEYS[4])
        redis.call('SET', KEYS[5], ARGV[2])
        redis.call('ZADD', KEYS[6], 0, ARGV[2])
        redis.call('SADD', KEYS[7], ARGV[2])
        hset(KEYS[8])
        redis.call('PEXPIREAT', KEYS[8], ARGV[4])
        redis.call('SADD', KEYS[9], ARGV[3])
        return 1
        """;

    /// <summary>Creates the tenant, its admin and the admin's session; false when the domain is already taken.</summary>
    public async Task<bool> RegisterAsync(Tenant tenant, User admin, Session session)
    {
        var created = (int)await Db.ScriptEvaluateAsync(RegisterScript,
            [
                RedisKeys.TenantDomain(tenant.Domain), RedisKeys.Tenant(tenant.TenantId), RedisKeys.AllTenants,
                RedisKeys.User(tenant.TenantId, admin.UserId), RedisKeys.UserEmail(tenant.TenantId, admin.Email),
                RedisKeys.TenantUsers(tenant.TenantId), RedisKeys.TenantAdmins(tenant.TenantId),
                RedisKeys.Session(session.SessionId), RedisKeys.UserSessions(tenant.TenantId, admin.UserId),
            ],
            [
                tenant.TenantId.ToString("D"), admin.UserId.ToString("D"), session.SessionId.ToString("D"),
                RedisHashes.Format(session.ExpiresAt),
                .. RedisHashes.AsArguments(tenant.ToHashEntries()),
                .. RedisHashes.AsArguments(admin.ToHashEntries()),
                .. RedisHashes.AsArguments(session.ToHashEntries()),
            ]);
        return created == 1;
    }

    // Writes fields only to a tenant that exists, so a concurrent removal cannot leave a partial hash behind.
    private const string UpdateScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], unpack(ARGV))
        return 1
        """;

    /// <summary>Sets the given fields of an existing tenant (and its updatedAt); false when there is no such tenant.</summary>
    public async Task<bool> UpdateAsync(Guid tenantId, DateTimeOffset now, params HashEntry[] fields) =>
        (int)await Db.ScriptEvaluateAsync(UpdateScript, [RedisKeys.Tenant(tenantId)],
            [.. fields.Append(new HashEntry(Tenant.Fields.UpdatedAt, RedisHashes.Format(now))).SelectMany(f => new[] { f.Name, f.Value })]) == 1;
}
