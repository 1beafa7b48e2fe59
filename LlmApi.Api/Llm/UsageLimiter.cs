using System.Globalization;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Llm.Formats;
using LlmApi.Api.Tenants;
using StackExchange.Redis;

namespace LlmApi.Api.Llm;

/// <summary>Why a model call was refused: the limit, whose it was, and when to try again.</summary>
internal sealed record LimitRefusal(string Limit, string Scope, int RetryAfterSeconds);

/// <summary>An admitted model call: what it reserved, to be settled when the call ends.</summary>
internal sealed record UsageLease(Guid TenantId, Guid? KeyId, string LeaseId, int ReservedTokens, string Minute, string Month);

/// <summary>
/// Rate limits, concurrency caps and monthly token budgets of tenants and keys, enforced by Lua in Redis so that all
/// replicas together admit exactly what one would. A call is admitted by reserving its worst case (estimated prompt
/// plus maximum completion) against every limit at once, and settled with the real usage when it ends, streams
/// included: parallel calls against a nearly spent budget cannot overshoot it. In-flight calls hold a lease with a
/// deadline, so a replica that dies mid-call does not leak a concurrency slot.
/// </summary>
internal sealed class UsageLimiter(IConnectionMultiplexer redis, TimeProvider clock)
{
    private const int Unlimited = -1;

    // KEYS: for the tenant then the key (the key's three only when ARGV[1] == '1'):
    //   1 rpm counter, 2 tpm counter, 3 budget hash, 4 in-flight leases (tenant only), 5 key rpm, 6 key tpm, 7 key budget
    // ARGV: 1 has key, 2-5 tenant rpm, tpm, concurrency, budget, 6-8 key rpm, tpm, budget (-1 = unlimited),
    //   9 reserved tokens, 10 lease id, 11 now ms, 12 lease deadline ms, 13 s to next minute, 14 s to next month
    // Returns {} when admitted, else {limit, scope, retry-after seconds}. Nothing is written unless all limits pass.
    private const string AdmitScript = """
        local reserve = tonumber(ARGV[9])
        local function count(key) return tonumber(redis.call('GET', key) or '0') end
        local function reserved(key)
          local b = redis.call('HMGET', key, 'used', 'reserved')
          return tonumber(b[1] or '0') + tonumber(b[2] or '0')
        end
        local function check(rpm, tpm, budget, k_rpm, k_tpm, k_budget, scope)
          if rpm >= 0 and count(k_rpm) + 1 > rpm then return {'requestsPerMinute', scope, ARGV[13]} end
          if tpm >= 0 and count(k_tpm) + reserve > tpm then return {'tokensPerMinute', scope, ARGV[13]} end
          if budget >= 0 and reserved(k_budget) + reserve > budget then return {'monthlyTokenBudget', scope, ARGV[14]} end
          return nil
        end
        redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[11])
        local refused = check(tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5]), KEYS[1], KEYS[2], KEYS[3], 'tenant')
        if refused then return refused end
        local concurrency = tonumber(ARGV[4])
        if concurrency >= 0 and redis.call('ZCARD', KEYS[4]) + 1 > concurrency then return {'concurrentRequests', 'tenant', '1'} end
        if ARGV[1] == '1' then
          refused = check(tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), KEYS[5], KEYS[6], KEYS[7], 'key')
          if refused then return refused end
        end
        local function take(k_rpm, k_tpm, k_budget)
          redis.call('INCR', k_rpm) redis.call('EXPIRE', k_rpm, 120)
          redis.call('INCRBY', k_tpm, reserve) redis.call('EXPIRE', k_tpm, 120)
          redis.call('HINCRBY', k_budget, 'reserved', reserve) redis.call('EXPIRE', k_budget, 3456000)
        end
        take(KEYS[1], KEYS[2], KEYS[3])
        redis.call('ZADD', KEYS[4], ARGV[12], ARGV[10])
        if ARGV[1] == '1' then take(KEYS[5], KEYS[6], KEYS[7]) end
        return {}
        """;

    // Settles a lease: real tokens replace the reservation in the minute and month counters, the in-flight lease
    // ends, and (when the call produced usage) the day's metering counters grow, all at once.
    // KEYS as for admit, plus 8 the day's usage hash. ARGV: 1 has key, 2 reserved, 3 actual total, 4 lease id,
    // 5 record (1/0), 6 prompt, 7 completion, 8.. metering field prefixes.
    private const string SettleScript = """
        local delta = tonumber(ARGV[3]) - tonumber(ARGV[2])
        local function give_back(k_tpm, k_budget)
          if redis.call('EXISTS', k_tpm) == 1 then redis.call('INCRBY', k_tpm, delta) end
          redis.call('HINCRBY', k_budget, 'reserved', -tonumber(ARGV[2]))
          redis.call('HINCRBY', k_budget, 'used', tonumber(ARGV[3]))
        end
        give_back(KEYS[2], KEYS[3])
        redis.call('ZREM', KEYS[4], ARGV[4])
        if ARGV[1] == '1' then give_back(KEYS[6], KEYS[7]) end
        if ARGV[5] == '1' then
          for i = 8, #ARGV do
            redis.call('HINCRBY', KEYS[8], ARGV[i] .. ':r', 1)
            redis.call('HINCRBY', KEYS[8], ARGV[i] .. ':p', tonumber(ARGV[6]))
            redis.call('HINCRBY', KEYS[8], ARGV[i] .. ':c', tonumber(ARGV[7]))
          end
          redis.call('EXPIRE', KEYS[8], 34560000)
        end
        return 1
        """;

    /// <summary>How long a lease may hold a concurrency slot if its replica never settles it.</summary>
    public static readonly TimeSpan LeaseLifetime = TimeSpan.FromMinutes(15);

    public async Task<(UsageLease? Lease, LimitRefusal? Refusal)> AdmitAsync(
        Guid tenantId, UsageLimits tenantLimits, Guid? keyId, UsageLimits? keyLimits, int reservedTokens)
    {
        var now = clock.GetUtcNow();
        var lease = new UsageLease(tenantId, keyId, Guid.NewGuid().ToString("N"), reservedTokens,
            now.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture), now.ToString("yyyy-MM", CultureInfo.InvariantCulture));
        var nextMinute = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(1);
        var nextMonth = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        var key = keyLimits ?? UsageLimits.Unlimited;

        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(AdmitScript, Keys(lease),
        [
            keyId is null ? "0" : "1",
            Limit(tenantLimits.RequestsPerMinute), Limit(tenantLimits.TokensPerMinute), Limit(tenantLimits.ConcurrentRequests), Limit(tenantLimits.MonthlyTokenBudget),
            Limit(key.RequestsPerMinute), Limit(key.TokensPerMinute), Limit(key.MonthlyTokenBudget),
            reservedTokens, lease.LeaseId, now.ToUnixTimeMilliseconds(), (now + LeaseLifetime).ToUnixTimeMilliseconds(),
            Math.Max(1, (int)Math.Ceiling((nextMinute - now).TotalSeconds)), Math.Max(1, (int)Math.Ceiling((nextMonth - now).TotalSeconds)),
        ]))!;

        return result.Length == 0
            ? (lease, null)
            : (null, new LimitRefusal((string)result[0]!, (string)result[1]!, int.Parse((string)result[2]!, CultureInfo.InvariantCulture)));
    }

    /// <summary>
    /// Ends a lease with the call's real usage; with <paramref name="meteringDimensions"/> (such as <c>m:llama3</c>,
    /// <c>u:{userId}</c>), also counts the call in the day's usage for each.
    /// </summary>
    public async Task SettleAsync(UsageLease lease, TokenUsage usage, IReadOnlyList<string>? meteringDimensions)
    {
        var day = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        RedisValue[] args =
        [
            lease.KeyId is null ? "0" : "1", lease.ReservedTokens, usage.TotalTokens, lease.LeaseId,
            meteringDimensions is null ? "0" : "1", usage.PromptTokens, usage.CompletionTokens,
            .. (meteringDimensions ?? []).Select(d => (RedisValue)d),
        ];
        await redis.GetDatabase().ScriptEvaluateAsync(SettleScript, [.. Keys(lease), RedisKeys.Usage(lease.TenantId, day)], args);
    }

    private static RedisKey[] Keys(UsageLease lease)
    {
        var keyId = lease.KeyId ?? Guid.Empty;
        return
        [
            RedisKeys.Limit(lease.TenantId, null, "rpm:" + lease.Minute),
            RedisKeys.Limit(lease.TenantId, null, "tpm:" + lease.Minute),
            RedisKeys.Limit(lease.TenantId, null, "budget:" + lease.Month),
            RedisKeys.Limit(lease.TenantId, null, "inflight"),
            RedisKeys.Limit(lease.TenantId, keyId, "rpm:" + lease.Minute),
            RedisKeys.Limit(lease.TenantId, keyId, "tpm:" + lease.Minute),
            RedisKeys.Limit(lease.TenantId, keyId, "budget:" + lease.Month),
        ];
    }

    private static RedisValue Limit(long? value) => value ?? Unlimited;
}
