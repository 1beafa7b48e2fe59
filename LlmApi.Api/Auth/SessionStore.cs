using LlmApi.Api.Infrastructure;
using LlmApi.Api.Users;
using StackExchange.Redis;

namespace LlmApi.Api.Auth;

/// <summary>Login sessions of users: <c>session:{id}</c> plus each user's set of session ids.</summary>
internal sealed class SessionStore(IConnectionMultiplexer redis, Microsoft.Extensions.Options.IOptions<ThrottlingOptions> throttling)
{
    private IDatabase Db => redis.GetDatabase();

    private static RedisValue[] Prefixes(Guid tenantId, params RedisValue[] more) =>
        [RedisKeys.SessionPrefix(tenantId), RedisKeys.RevokedTokenPrefix(tenantId), .. more];

    /// <summary>Stores a new session and indexes it under its user, atomically.</summary>
    public async Task CreateAsync(Session session)
    {
        var tx = Db.CreateTransaction();
        _ = tx.HashSetAsync(RedisKeys.Session(session.TenantId, session.SessionId), session.ToHashEntries());
        _ = tx.KeyExpireAsync(RedisKeys.Session(session.TenantId, session.SessionId), session.ExpiresAt.UtcDateTime);
        _ = tx.SetAddAsync(RedisKeys.UserSessions(session.TenantId, session.UserId), session.SessionId.ToString("D"));
        await tx.ExecuteAsync();
        await Db.ScriptEvaluateAsync(KeepNewestScript, [RedisKeys.UserSessions(session.TenantId, session.UserId)],
            Prefixes(session.TenantId, throttling.Value.SessionsPerUser));
    }

    // Caps a user's live sessions: ids of expired sessions leave the set; past the cap, the oldest sessions end
    // (deleted and their tokens revoked, as at logout). KEYS[1] the user's session set; ARGV[3] the cap.
    private const string KeepNewestScript = SessionScripts.EndSessionFunction + """
        local live = {}
        for _, sid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local created = redis.call('HGET', session_prefix .. sid, 'createdAt')
          if created then table.insert(live, {sid, tonumber(created)}) else redis.call('SREM', KEYS[1], sid) end
        end
        local excess = #live - tonumber(ARGV[3])
        if excess <= 0 then return 0 end
        table.sort(live, function(a, b) return a[2] < b[2] end)
        for i = 1, excess do end_session(KEYS[1], live[i][1]) end
        return excess
        """;

    /// <summary>The user's live sessions, newest first; ids of expired sessions are pruned from the index.</summary>
    public async Task<IReadOnlyList<Session>> ListAsync(Guid tenantId, Guid userId)
    {
        var index = RedisKeys.UserSessions(tenantId, userId);
        var ids = await Db.SetMembersAsync(index);
        var hashes = await RedisHashes.ReadAllAsync(Db, ids.Select(id => RedisKeys.Session(tenantId, Guid.Parse(id.ToString()))));
        var reads = ids.Zip(hashes, (id, hash) => (Id: id, Hash: hash)).ToArray();

        var expired = reads.Where(r => r.Hash.Length == 0).Select(r => r.Id).ToArray();
        if (expired.Length > 0)
        {
            await Db.SetRemoveAsync(index, expired);
        }

        return reads.Select(r => Session.FromHash(r.Hash)).OfType<Session>()
            .Where(s => s.UserId == userId)
            .OrderByDescending(s => s.CreatedAt)
            .ToList();
    }

    private const string EndOneScript = SessionScripts.EndSessionFunction + """
        if redis.call('SISMEMBER', KEYS[1], ARGV[3]) == 0 then return 0 end
        end_session(KEYS[1], ARGV[3])
        return 1
        """;

    /// <summary>Ends one session of this user; false when the user has no such session.</summary>
    public async Task<bool> EndAsync(Guid tenantId, Guid userId, Guid sessionId) =>
        (int)await Db.ScriptEvaluateAsync(EndOneScript, [RedisKeys.UserSessions(tenantId, userId)], Prefixes(tenantId, sessionId.ToString("D"))) == 1;

    private const string EndAllScript = SessionScripts.EndSessionFunction + """
        return end_all_sessions(KEYS[1], ARGV[3])
        """;

    /// <summary>Ends every session of the user except <paramref name="keep"/>; returns how many ended.</summary>
    public async Task<int> EndAllAsync(Guid tenantId, Guid userId, Guid? keep = null) =>
        (int)await Db.ScriptEvaluateAsync(EndAllScript, [RedisKeys.UserSessions(tenantId, userId)], Prefixes(tenantId, keep?.ToString("D") ?? string.Empty));

    private const string ChangePasswordScript = SessionScripts.EndSessionFunction + $$"""
        if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
        redis.call('HSET', KEYS[1], '{{User.Fields.PasswordHash}}', ARGV[4], '{{User.Fields.UpdatedAt}}', ARGV[5])
        redis.call('HINCRBY', KEYS[1], '{{User.Fields.Revision}}', 1)
        return end_all_sessions(KEYS[2], ARGV[3])
        """;

    /// <summary>
    /// Replaces the password hash and ends every other session in one step, so no session opened with the old
    /// password outlives the change. Returns how many sessions ended, or null when the user no longer exists.
    /// </summary>
    public async Task<int?> ChangePasswordAsync(Guid tenantId, Guid userId, Guid currentSession, string passwordHash, DateTimeOffset now)
    {
        var ended = (int)await Db.ScriptEvaluateAsync(ChangePasswordScript,
            [RedisKeys.User(tenantId, userId), RedisKeys.UserSessions(tenantId, userId)],
            Prefixes(tenantId, currentSession.ToString("D"), passwordHash, RedisHashes.Format(now)));
        return ended < 0 ? null : ended;
    }
}
