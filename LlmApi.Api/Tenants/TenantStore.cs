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

    /// <summary>How long a domain claim waits for its registration to complete before it lapses by itself.</summary>
    public static readonly TimeSpan ClaimTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The steps of a registration, after which tests can interrupt one (<see cref="Interruption"/>).</summary>
    internal enum RegistrationStep
    {
        DomainClaimed,
        TenantWritten,
        Indexed,
    }

    /// <summary>For tests only: called after each step; an exception it throws interrupts the registration there.</summary>
    internal Func<RegistrationStep, Task>? Interruption { get; set; }

    // Registration touches three hash slots: the domain's claim, the tenant's own keys, and the global tenant index.
    // Redis cannot make one atomic step of them on a cluster, so it is a sequence that is all-or-nothing as the
    // caller sees it (docs/redis.md, "Registration"):
    //   1. claim the domain with SET NX and an expiry (the only check: sixteen concurrent registrations give one);
    //   2. write the tenant, its admin, email claim, indexes and first session in one script (the tenant's slot);
    //   3. add the tenant to the index;
    //   4. make the claim permanent, if it is still ours.
    // A failure after step 1 undoes what was written and answers 503. A registration that stops dead (its replica
    // killed) leaves a claim that lapses by itself after ClaimTimeout, and at worst a tenant that no domain points to:
    // no one can sign in to it by domain, and the registrant never learnt its id.
    private const string ClaimScript = """
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
        return 0
        """;

    private const string WriteTenantScript = $$"""
        local i = 4
        local function hset(key)
          local n = tonumber(ARGV[i])
          redis.call('HSET', key, unpack(ARGV, i + 1, i + n))
          i = i + n + 1
        end
        hset(KEYS[1])
        hset(KEYS[2])
        redis.call('HINCRBY', KEYS[1], '{{Tenant.Fields.Revision}}', 1)
        redis.call('HINCRBY', KEYS[2], '{{User.Fields.Revision}}', 1)
        redis.call('SET', KEYS[3], ARGV[1])
        redis.call('ZADD', KEYS[4], 0, ARGV[1])
        redis.call('SADD', KEYS[5], ARGV[1])
        hset(KEYS[6])
        redis.call('PEXPIREAT', KEYS[6], ARGV[3])
        redis.call('SADD', KEYS[7], ARGV[2])
        return 1
        """;

    // Compare-and-act on the claim: only the registration that holds it may make it permanent or release it.
    private const string SettleClaimScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if ARGV[2] == 'keep' then redis.call('PERSIST', KEYS[1]) else redis.call('DEL', KEYS[1]) end
        return 1
        """;

    /// <summary>Creates the tenant, its admin and the admin's session; false when the domain is already taken.</summary>
    public async Task<bool> RegisterAsync(Tenant tenant, User admin, Session session)
    {
        var tenantId = tenant.TenantId.ToString("D");
        var claim = RedisKeys.TenantDomain(tenant.Domain);
        if ((int)await Db.ScriptEvaluateAsync(ClaimScript, [claim], [tenantId, (long)ClaimTimeout.TotalMilliseconds]) == 0)
        {
            return false;
        }

        RedisKey[] tenantKeys =
        [
            RedisKeys.Tenant(tenant.TenantId), RedisKeys.User(tenant.TenantId, admin.UserId), RedisKeys.UserEmail(tenant.TenantId, admin.Email),
            RedisKeys.TenantUsers(tenant.TenantId), RedisKeys.TenantAdmins(tenant.TenantId),
            RedisKeys.Session(tenant.TenantId, session.SessionId), RedisKeys.UserSessions(tenant.TenantId, admin.UserId),
        ];
        try
        {
            await StepAsync(RegistrationStep.DomainClaimed);
            await Db.ScriptEvaluateAsync(WriteTenantScript, tenantKeys,
            [
                admin.UserId.ToString("D"), session.SessionId.ToString("D"), RedisHashes.Format(session.ExpiresAt),
                .. RedisHashes.AsArguments(tenant.ToHashEntries()),
                .. RedisHashes.AsArguments(admin.ToHashEntries()),
                .. RedisHashes.AsArguments(session.ToHashEntries()),
            ]);
            await StepAsync(RegistrationStep.TenantWritten);
            await Db.SortedSetAddAsync(RedisKeys.AllTenants, tenantId, 0);
            await StepAsync(RegistrationStep.Indexed);
            if ((int)await Db.ScriptEvaluateAsync(SettleClaimScript, [claim], [tenantId, "keep"]) == 0)
            {
                throw new ServiceOverloadedException("The registration took too long and was undone; try again.");
            }

            return true;
        }
        // Any failed command, a timeout included (the undo goes out after it on the same connection, so it is applied after
        // whatever the timed-out command did); RedisCommandException: the client refused to send a write to a node it now
        // sees as a replica (a failover).
        catch (Exception e) when (RedisFailure.Is(e) || e is ServiceOverloadedException)
        {
            await UndoAsync(claim, tenantId, tenantKeys);
            throw;
        }
    }

    /// <summary>Removes what a failed registration wrote, each part on its own (any may fail if Redis is away).</summary>
    private async Task UndoAsync(RedisKey claim, string tenantId, RedisKey[] tenantKeys)
    {
        Task[] undo =
        [
            Db.KeyDeleteAsync(tenantKeys),
            Db.SortedSetRemoveAsync(RedisKeys.AllTenants, tenantId),
            Db.ScriptEvaluateAsync(SettleClaimScript, [claim], [tenantId, "release"]),
        ];
        try
        {
            await Task.WhenAll(undo);
        }
        catch (Exception e) when (RedisFailure.Is(e))
        {
            // What could not be removed is what a registration that stopped dead leaves: see the comment above.
        }
    }

    private Task StepAsync(RegistrationStep step) => Interruption?.Invoke(step) ?? Task.CompletedTask;

    // Writes fields only to a tenant that exists, so a concurrent removal cannot leave a partial hash behind.
    private const string UpdateScript = $$"""
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], unpack(ARGV))
        redis.call('HINCRBY', KEYS[1], '{{Tenant.Fields.Revision}}', 1)
        return 1
        """;

    /// <summary>Sets the given fields of an existing tenant (and its updatedAt); false when there is no such tenant.</summary>
    public async Task<bool> UpdateAsync(Guid tenantId, DateTimeOffset now, params HashEntry[] fields) =>
        (int)await Db.ScriptEvaluateAsync(UpdateScript, [RedisKeys.Tenant(tenantId)],
            [.. fields.Append(new HashEntry(Tenant.Fields.UpdatedAt, RedisHashes.Format(now))).SelectMany(f => new[] { f.Name, f.Value })]) == 1;
}
