using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using StackExchange.Redis;

namespace LlmApi.Api.Users;

internal enum UserWriteOutcome
{
    Done,
    NotFound,
    EmailTaken,
    LastAdmin,
}

/// <summary>Users of a tenant. Every query takes the tenant id, so no path reads a user outside its tenant.</summary>
internal sealed class UserStore(IConnectionMultiplexer redis)
{
    private IDatabase Db => redis.GetDatabase();

    public async Task<User?> GetAsync(Guid tenantId, Guid userId) =>
        User.FromHash(await Db.HashGetAllAsync(RedisKeys.User(tenantId, userId)));

    /// <summary>Finds a user by (normalized) email within one tenant.</summary>
    public async Task<User?> FindByEmailAsync(Guid tenantId, string email)
    {
        var userId = await Db.StringGetAsync(RedisKeys.UserEmail(tenantId, email));
        return userId.IsNull ? null : await GetAsync(tenantId, Guid.Parse(userId.ToString()));
    }

    public async Task<(IReadOnlyList<User> Users, string? NextCursor, long Total)> ListAsync(Guid tenantId, Guid? after, int limit)
    {
        var index = RedisKeys.TenantUsers(tenantId);
        var totalTask = Db.SortedSetLengthAsync(index);
        var (ids, next) = await Paging.PageAsync(Db, index, after, limit);
        var users = (await RedisHashes.ReadAllAsync(Db, ids.Select(id => RedisKeys.User(tenantId, id)))).Select(User.FromHash).OfType<User>().ToList();
        return (users, next, await totalTask);
    }

    // Invariant: the email index, the user hash, the tenant's user index and its admin set change together, and an
    // email is claimed with SET NX, so two concurrent creations of one email cannot both succeed.
    private const string CreateScript = $$"""
        if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then return 0 end
        local n = tonumber(ARGV[3])
        redis.call('HSET', KEYS[2], unpack(ARGV, 4, 3 + n))
        redis.call('HINCRBY', KEYS[2], '{{User.Fields.Revision}}', 1)
        redis.call('ZADD', KEYS[3], 0, ARGV[1])
        if ARGV[2] == '1' then redis.call('SADD', KEYS[4], ARGV[1]) end
        return 1
        """;

    public async Task<UserWriteOutcome> CreateAsync(User user)
    {
        var created = (int)await Db.ScriptEvaluateAsync(CreateScript,
            [RedisKeys.UserEmail(user.TenantId, user.Email), RedisKeys.User(user.TenantId, user.UserId),
             RedisKeys.TenantUsers(user.TenantId), RedisKeys.TenantAdmins(user.TenantId)],
            [user.UserId.ToString("D"), user.IsActiveAdmin ? "1" : "0", .. RedisHashes.AsArguments(user.ToHashEntries())]);
        return created == 1 ? UserWriteOutcome.Done : UserWriteOutcome.EmailTaken;
    }

    // Invariant: a tenant always keeps at least one active admin. The admin set and the user's role and status change
    // in one script, so two admins demoting each other at the same moment cannot both succeed.
    private const string UpdateScript = $$"""
        local current = redis.call('HMGET', KEYS[1], '{{User.Fields.Role}}', '{{User.Fields.Status}}')
        if not current[1] then return -1 end
        local role = ARGV[3] ~= '' and ARGV[3] or current[1]
        local status = ARGV[4] ~= '' and ARGV[4] or current[2]
        local was_admin = current[1] == 'admin' and current[2] == 'active'
        local is_admin = role == 'admin' and status == 'active'
        if was_admin and not is_admin and redis.call('SCARD', KEYS[2]) <= 1 then return -2 end
        redis.call('HSET', KEYS[1], '{{User.Fields.Role}}', role, '{{User.Fields.Status}}', status, '{{User.Fields.UpdatedAt}}', ARGV[5])
        if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], '{{User.Fields.Username}}', ARGV[2]) end
        redis.call('HINCRBY', KEYS[1], '{{User.Fields.Revision}}', 1)
        if is_admin then redis.call('SADD', KEYS[2], ARGV[1]) else redis.call('SREM', KEYS[2], ARGV[1]) end
        return 1
        """;

    public async Task<UserWriteOutcome> UpdateAsync(Guid tenantId, Guid userId, string? username, UserRole? role, UserStatus? status, DateTimeOffset now)
    {
        var result = (int)await Db.ScriptEvaluateAsync(UpdateScript,
            [RedisKeys.User(tenantId, userId), RedisKeys.TenantAdmins(tenantId)],
            [userId.ToString("D"), username ?? string.Empty,
             role is { } r ? User.RoleValue(r) : string.Empty,
             status is { } s ? User.StatusValue(s) : string.Empty,
             RedisHashes.Format(now)]);
        return Outcome(result);
    }

    // Invariant: a deleted user leaves nothing behind that still works: its hash, email claim, index entries and every
    // session (with its token revoked) go in one step, and the last active admin cannot be deleted.
    private const string DeleteScript = SessionScripts.EndSessionFunction + $$"""
        local email = redis.call('HGET', KEYS[1], '{{User.Fields.Email}}')
        if not email or email ~= ARGV[4] then return -1 end
        if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 and redis.call('SCARD', KEYS[2]) <= 1 then return -2 end
        end_all_sessions(KEYS[5], '')
        redis.call('DEL', KEYS[1], KEYS[4], KEYS[5])
        redis.call('SREM', KEYS[2], ARGV[3])
        redis.call('ZREM', KEYS[3], ARGV[3])
        return 1
        """;

    public async Task<UserWriteOutcome> DeleteAsync(Guid tenantId, Guid userId)
    {
        var user = await GetAsync(tenantId, userId);
        if (user is null)
        {
            return UserWriteOutcome.NotFound;
        }

        var result = (int)await Db.ScriptEvaluateAsync(DeleteScript,
            [RedisKeys.User(tenantId, userId), RedisKeys.TenantAdmins(tenantId), RedisKeys.TenantUsers(tenantId),
             RedisKeys.UserEmail(tenantId, user.Email), RedisKeys.UserSessions(tenantId, userId)],
            [RedisKeys.SessionPrefix(tenantId), RedisKeys.RevokedTokenPrefix(tenantId), userId.ToString("D"), user.Email]);
        return Outcome(result);
    }

    private static UserWriteOutcome Outcome(int scriptResult) => scriptResult switch
    {
        1 => UserWriteOutcome.Done,
        -1 => UserWriteOutcome.NotFound,
        -2 => UserWriteOutcome.LastAdmin,
        _ => throw new InvalidOperationException($"Unexpected script result {scriptResult}."),
    };
}
