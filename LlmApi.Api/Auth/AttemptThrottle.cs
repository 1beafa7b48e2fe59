using System.Security.Cryptography;
using System.Text;
using LlmApi.Api.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmApi.Api.Auth;

/// <summary>What a throttle is about: an account's sign-ins, an address's sign-ins, a user's password changes.</summary>
internal enum ThrottleScope
{
    Account,
    Address,
    PasswordChange,
}

/// <summary>
/// Locks out guessing. Unlike a rate limiter, which counts every request, this counts failures: past the threshold
/// within the window the subject is locked, every attempt refused (the right password too) until the lock ends, and
/// each further lock within a day lasts twice as long. One Lua script per subject keeps count, lock and strikes in
/// one hash slot and changes them atomically, so replicas share one count. Subjects are hashed: no email or address
/// is written into a key name.
/// </summary>
internal sealed class AttemptThrottle(IConnectionMultiplexer redis, IOptions<ThrottlingOptions> options)
{
    // KEYS: 1 failures (counter, expires with the window), 2 lock (expires when the lock ends), 3 strikes (a day).
    // ARGV: 1 'fail' or 'pass', 2 threshold, 3 window ms, 4 first lock ms, 5 longest lock ms.
    // Returns the lock's remaining ms (0 when not locked). A failure that reaches the threshold starts a lock.
    private const string Script = """
        local locked = redis.call('PTTL', KEYS[2])
        if locked > 0 then return locked end
        if ARGV[1] == 'pass' then
          redis.call('DEL', KEYS[1], KEYS[3])
          return 0
        end
        if ARGV[1] ~= 'fail' then return 0 end
        local failures = redis.call('INCR', KEYS[1])
        if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
        if failures < tonumber(ARGV[2]) then return 0 end
        local strikes = redis.call('INCR', KEYS[3])
        redis.call('PEXPIRE', KEYS[3], 86400000)
        local lock = math.min(tonumber(ARGV[4]) * 2 ^ (strikes - 1), tonumber(ARGV[5]))
        redis.call('SET', KEYS[2], '1', 'PX', math.floor(lock))
        redis.call('DEL', KEYS[1])
        return math.floor(lock)
        """;

    /// <summary>How long <paramref name="subject"/> stays locked; zero when it may try.</summary>
    public Task<TimeSpan> LockedForAsync(ThrottleScope scope, string subject) => RunAsync(scope, subject, "check");

    /// <summary>Counts a failure; returns the lock it started, if it started one.</summary>
    public Task<TimeSpan> FailedAsync(ThrottleScope scope, string subject) => RunAsync(scope, subject, "fail");

    /// <summary>A success clears the subject's failures and strikes (not a running lock).</summary>
    public Task SucceededAsync(ThrottleScope scope, string subject) => RunAsync(scope, subject, "pass");

    private async Task<TimeSpan> RunAsync(ThrottleScope scope, string subject, string action)
    {
        var o = options.Value;
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(subject)))[..32];
        var threshold = scope switch
        {
            ThrottleScope.Account => o.AccountFailures,
            ThrottleScope.Address => o.AddressFailures,
            _ => o.PasswordChangeFailures,
        };
        var ms = (long)await redis.GetDatabase().ScriptEvaluateAsync(Script, RedisKeys.Throttle(StoredValues<ThrottleScope>.Of(scope), id),
            [action, threshold, (long)o.FailureWindow.TotalMilliseconds, (long)o.FirstLock.TotalMilliseconds, (long)o.MaxLock.TotalMilliseconds]);
        return TimeSpan.FromMilliseconds(ms);
    }
}
