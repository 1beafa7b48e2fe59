namespace LlmApi.Api.Auth;

/// <summary>
/// Lua shared by every write that ends sessions (logout, logout-all, password change, user deletion). Ending a
/// session deletes <c>session:{id}</c>, removes it from the user's set and revokes its token id until the token would
/// have expired, in one atomic step: no replica can see a session gone but its token still accepted, or the reverse.
/// Session and revocation keys are built from the tenant's prefixes in <see cref="Infrastructure.RedisKeys"/>, passed
/// as the first two arguments: they carry the tenant's hash tag, so a script stays in the slot of the keys it declares.
/// </summary>
internal static class SessionScripts
{
    public const string EndSessionFunction = """
        local session_prefix, revoked_prefix = ARGV[1], ARGV[2]
        local function end_session(sessions_key, sid)
          local key = session_prefix .. sid
          local token = redis.call('HMGET', key, 'jti', 'expiresAt')
          redis.call('DEL', key)
          redis.call('SREM', sessions_key, sid)
          if token[1] and token[2] then
            redis.call('SET', revoked_prefix .. token[1], '1', 'PXAT', token[2])
          end
        end
        local function end_all_sessions(sessions_key, except_sid)
          local ended = 0
          for _, sid in ipairs(redis.call('SMEMBERS', sessions_key)) do
            if sid ~= except_sid then
              end_session(sessions_key, sid)
              ended = ended + 1
            end
          end
          return ended
        end

        """;
}
