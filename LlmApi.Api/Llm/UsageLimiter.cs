using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Llm.Formats;
using LlmApi.Api.Tenants;
using StackExchange.Redis;

namespace LlmApi.Api.Llm;

/// <summary>Why a model call was refused: the limit, whose it was, and when to try again.</summary>
internal sealed record LimitRefusal(string Limit, string Scope, int RetryAfterSeconds);

/// <summary>Why a key taken from the cache no longer works.</summary>
internal enum KeyRefusal
{
    KeyInvalid,
    TenantInactive,
}

/// <summary>An admission: the lease when admitted, else the limit that refused it, or why the key no longer works.</summary>
internal sealed record AdmissionResult(UsageLease? Lease, LimitRefusal? Refusal, KeyRefusal? KeyRefusal);

/// <summary>
/// What a tenant has used of its limits at one moment: this minute's requests and tokens (calls in flight count with
/// what they reserved), this month's tokens used and reserved, and the calls in flight.
/// </summary>
internal sealed record LimitUsage(
    long RequestsThisMinute, long TokensThisMinute, DateTimeOffset MinuteEnds,
    string Month, long TokensUsedThisMonth, long TokensReservedThisMonth, DateTimeOffset MonthEnds, long InFlight);

/// <summary>
/// An admitted model call: what it reserved, to be settled when the call ends, and the counters it reserved in
/// (settled in those, even when the call ends in the next minute or month).
/// </summary>
internal sealed record UsageLease(Guid TenantId, Guid? KeyId, string LeaseId, int ReservedTokens, RedisKey[] Counters);

/// <summary>
/// Rate limits, concurrency caps and monthly token budgets of tenants and keys, enforced by Lua in Redis so that all
/// replicas together admit exactly what one would. A call is admitted by reserving its worst case (estimated prompt
/// plus maximum completion) against every limit at once, and settled with the real usage when it ends, streams
/// included: parallel calls against a nearly spent budget cannot overshoot it. In-flight calls hold a lease with a
/// deadline, so a replica that dies mid-call does not leak a concurrency slot.
/// </summary>
internal sealed class UsageLimiter(IConnectionMultiplexer redis, TimeProvider clock)
{
    // KEYS: for the tenant then the key (the key's only when ARGV[1] == '1'):
    //   1 rpm counter, 2 tpm counter, 3 budget hash, 4 in-flight leases (tenant only), 5 key rpm, 6 key tpm, 7 key budget,
    //   8 the tenant's hash, 9 the key's hash
    // ARGV: 1 has key, 2 check the key (1: it came from this replica's cache), 3 the key's secret hash,
    //   4 reserved tokens, 5 lease id, 6 now ms, 7 lease deadline ms, 8 s to next minute, 9 s to next month
    // Returns {} when admitted; {'key'} or {'tenant'} when the key is gone (or its secret changed) or the tenant is not
    // active; else {limit, scope, retry-after seconds}. The limits are read here, from the tenant's and the key's
    // hashes, so they are the current ones. Nothing is written unless every check passes. A counter gets its lifetime
    // when an increment creates it (it then holds just that increment), not on every call: the EXPIREs were six of the
    // script's twenty commands.
    private const string AdmitScript = """
        if ARGV[2] == '1' then
          if redis.call('HGET', KEYS[9], 'secretHash') ~= ARGV[3] then return {'key'} end
          if redis.call('HGET', KEYS[8], 'status') ~= 'active' then return {'tenant'} end
        end
        local function limits(hash)
          local json = redis.call('HGET', hash, 'limits')
          if not json then return {} end
          local ok, decoded = pcall(cjson.decode, json)
          if ok and type(decoded) == 'table' then return decoded end
          return {}
        end
        local function limit(l, name)
          local value = l[name]
          if type(value) == 'number' then return value end
          return -1
        end
        local reserve = tonumber(ARGV[4])
        local function count(key) return tonumber(redis.call('GET', key) or '0') end
        local function reserved(key)
          local b = redis.call('HMGET', key, 'used', 'reserved')
          return tonumber(b[1] or '0') + tonumber(b[2] or '0')
        end
        local function check(l, k_rpm, k_tpm, k_budget, scope)
          local rpm, tpm, budget = limit(l, 'requestsPerMinute'), limit(l, 'tokensPerMinute'), limit(l, 'monthlyTokenBudget')
          if rpm >= 0 and count(k_rpm) + 1 > rpm then return {'requestsPerMinute', scope, ARGV[8]} end
          if tpm >= 0 and count(k_tpm) + reserve > tpm then return {'tokensPerMinute', scope, ARGV[8]} end
          if budget >= 0 and reserved(k_budget) + reserve > budget then return {'monthlyTokenBudget', scope, ARGV[9]} end
          return nil
        end
        redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[6])
        local tenant = limits(KEYS[8])
        local refused = check(tenant, KEYS[1], KEYS[2], KEYS[3], 'tenant')
        if refused then return refused end
        local concurrency = limit(tenant, 'concurrentRequests')
        if concurrency >= 0 and redis.call('ZCARD', KEYS[4]) + 1 > concurrency then return {'concurrentRequests', 'tenant', '1'} end
        if ARGV[1] == '1' then
          refused = check(limits(KEYS[9]), KEYS[5], KEYS[6], KEYS[7], 'key')
          if refused then return refused end
        end
        local function take(k_rpm, k_tpm, k_budget)
          if redis.call('INCR', k_rpm) == 1 then redis.call('EXPIRE', k_rpm, 120) end
          if redis.call('INCRBY', k_tpm, ARGV[4]) == reserve then redis.call('EXPIRE', k_tpm, 120) end
          if redis.call('HINCRBY', k_budget, 'reserved', ARGV[4]) == reserve then redis.call('EXPIRE', k_budget, 3456000) end
        end
        take(KEYS[1], KEYS[2], KEYS[3])
        redis.call('ZADD', KEYS[4], ARGV[7], ARGV[5])
        if ARGV[1] == '1' then take(KEYS[5], KEYS[6], KEYS[7]) end
        return {}
        """;

    // Settles a lease: real tokens replace the reservation in the minute and month counters, the in-flight lease
    // ends, and (when the call produced usage) the day's metering counters grow, all at once.
    // KEYS as for admit, plus 8 the day's usage hash. ARGV: 1 has key, 2 reserved, 3 actual total, 4 lease id,
    // 5 record (1/0), 6 prompt, 7 completion, 8.. metering field prefixes, the first of them the day's total ('t'): the
    // day's hash gets its lifetime with the day's first call.
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
          local calls = 0
          for i = 8, #ARGV do
            local n = redis.call('HINCRBY', KEYS[8], ARGV[i] .. ':r', 1)
            if i == 8 then calls = n end
            redis.call('HINCRBY', KEYS[8], ARGV[i] .. ':p', ARGV[6])
            redis.call('HINCRBY', KEYS[8], ARGV[i] .. ':c', ARGV[7])
          end
          if calls == 1 then redis.call('EXPIRE', KEYS[8], 34560000) end
        end
        return 1
        """;

    /// <summary>Callers (tenant, key) whose counter names one replica remembers at most.</summary>
    private const int NamesCapacity = 4_096;

    private static readonly RedisScript Admit = new(AdmitScript);
    private static readonly RedisScript Settle = new(SettleScript);

    /// <summary>How long a lease may hold a concurrency slot if its replica never settles it.</summary>
    public static readonly TimeSpan LeaseLifetime = TimeSpan.FromMinutes(15);

    private readonly ConcurrentDictionary<(Guid Tenant, Guid Key), CounterNames> _names = new();

    /// <summary>
    /// Admits a call of <paramref name="caller"/> reserving <paramref name="reservedTokens"/>, under the tenant's and
    /// the key's current limits. When the caller's key came unchecked from the cache, the same script checks it:
    /// <see cref="AdmissionResult.KeyRefusal"/> then says why it no longer works.
    /// </summary>
    public async Task<AdmissionResult> AdmitAsync(Caller caller, int reservedTokens)
    {
        var now = clock.GetUtcNow();
        var keyId = caller.Key?.KeyId;
        var names = Names(caller.TenantId, keyId, now);
        var lease = new UsageLease(caller.TenantId, keyId, UniqueIds.New(), reservedTokens, names.Counters);
        var (nextMinute, nextMonth) = WindowEnds(now);

        using var span = Span("EVALSHA admit", "admit");
        var result = (RedisResult[])(await Admit.EvaluateAsync(redis.GetDatabase(), names.AdmissionKeys,
        [
            caller.Key is null ? "0" : "1", caller.KeyCheckPending ? "1" : "0", caller.Key?.SecretHash ?? string.Empty,
            reservedTokens, lease.LeaseId, now.ToUnixTimeMilliseconds(), (now + LeaseLifetime).ToUnixTimeMilliseconds(),
            Math.Max(1, (int)Math.Ceiling((nextMinute - now).TotalSeconds)), Math.Max(1, (int)Math.Ceiling((nextMonth - now).TotalSeconds)),
        ]))!;

        return result switch
        {
            [] => new AdmissionResult(lease, null, null),
            [var refused] => new AdmissionResult(null, null, (string)refused! == "key" ? KeyRefusal.KeyInvalid : KeyRefusal.TenantInactive),
            _ => new AdmissionResult(null, new LimitRefusal((string)result[0]!, (string)result[1]!, int.Parse((string)result[2]!, CultureInfo.InvariantCulture)), null),
        };
    }

    /// <summary>
    /// Ends a lease with the call's real usage; with <paramref name="meteringDimensions"/> (such as <c>m:llama3</c>,
    /// <c>u:{userId}</c>), also counts the call in the day's usage for each.
    /// </summary>
    public async Task SettleAsync(UsageLease lease, TokenUsage usage, IReadOnlyList<string>? meteringDimensions)
    {
        var names = Names(lease.TenantId, lease.KeyId, clock.GetUtcNow());
        // A call settled in the minute it was admitted in (nearly all) reserved in this minute's counters.
        var keys = ReferenceEquals(names.Counters, lease.Counters) ? names.SettleKeys : [.. lease.Counters, names.Usage];
        var dimensions = meteringDimensions ?? [];
        var args = new RedisValue[7 + dimensions.Count];
        args[0] = lease.KeyId is null ? "0" : "1";
        args[1] = lease.ReservedTokens;
        args[2] = usage.TotalTokens;
        args[3] = lease.LeaseId;
        args[4] = meteringDimensions is null ? "0" : "1";
        args[5] = usage.PromptTokens;
        args[6] = usage.CompletionTokens;
        for (var i = 0; i < dimensions.Count; i++)
        {
            args[7 + i] = dimensions[i];
        }

        using var span = Span("EVALSHA settle", "settle");
        await Settle.EvaluateAsync(redis.GetDatabase(), keys, args);
    }

    /// <summary>The tenant's counters now, read in one round trip (all in the tenant's hash slot).</summary>
    public async Task<LimitUsage> ReadAsync(Guid tenantId)
    {
        var now = clock.GetUtcNow();
        var month = Month(now);
        var (rpm, tpm, budget) = Window(tenantId, null, Minute(now), month);
        var batch = redis.GetDatabase().CreateBatch();
        var requests = batch.StringGetAsync(rpm);
        var tokens = batch.StringGetAsync(tpm);
        var spent = batch.HashGetAsync(budget, ["used", "reserved"]);
        var inFlight = batch.SortedSetLengthAsync(InFlight(tenantId), now.ToUnixTimeMilliseconds(), double.PositiveInfinity, Exclude.Start);
        batch.Execute();
        await inFlight; // the last reply first: one continuation for all four (see AccessValidator)
        var (minuteEnds, monthEnds) = WindowEnds(now);
        var used = await spent;
        return new LimitUsage((long?)await requests ?? 0, (long?)await tokens ?? 0, minuteEnds,
            month, (long?)used[0] ?? 0, (long?)used[1] ?? 0, monthEnds, await inFlight);
    }

    private static string Minute(DateTimeOffset now) => now.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture);

    private static string Month(DateTimeOffset now) => now.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    /// <summary>When the rate-limit minute and the budget month that <paramref name="now"/> is in end.</summary>
    private static (DateTimeOffset Minute, DateTimeOffset Month) WindowEnds(DateTimeOffset now) =>
        (new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero).AddMinutes(1),
         new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1));

    /// <summary>
    /// A client span for one of the scripts, in sampled traces only: where the deployment turns off the span per
    /// Redis command (its cost is per command, sampled or not), a call's trace still shows its two Redis round trips.
    /// </summary>
    private static Activity? Span(string name, string script)
    {
        var span = Pipeline.GatewayTelemetry.Source.StartActivity(name, ActivityKind.Client);
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("db.system.name", "redis");
            span.SetTag("db.operation.name", "EVALSHA");
            span.SetTag("db.query.summary", script);
        }

        return span;
    }

    /// <summary>
    /// The names of a caller's counters in the minute of <paramref name="now"/>, remembered for that minute: every call of
    /// a tenant's key in one minute uses the same nine, and formatting them with their ids on every call was about 1% of
    /// its CPU. Bounded: past <see cref="NamesCapacity"/> callers the table starts afresh.
    /// </summary>
    private CounterNames Names(Guid tenantId, Guid? keyId, DateTimeOffset now)
    {
        var minute = now.ToUnixTimeSeconds() / 60;
        var caller = (tenantId, keyId ?? Guid.Empty);
        if (_names.TryGetValue(caller, out var names) && names.EpochMinute == minute)
        {
            return names;
        }

        return _names.Remember(caller, CounterNames.For(tenantId, keyId, now, minute), NamesCapacity);
    }

    /// <summary>
    /// One caller's key names in one minute. <see cref="Counters"/>: the seven counters a call reserves in, in the order
    /// the scripts' KEYS name them (the key's with an empty id when there is none); <see cref="AdmissionKeys"/>: those,
    /// the tenant's hash and the key's; <see cref="Usage"/>: the day's usage hash; <see cref="SettleKeys"/>: the counters
    /// and the day's usage hash. Shared by concurrent calls, so never written after it is made.
    /// </summary>
    private sealed record CounterNames(long EpochMinute, RedisKey[] Counters, RedisKey[] AdmissionKeys, RedisKey Usage)
    {
        public RedisKey[] SettleKeys { get; } = [.. Counters, Usage];

        public static CounterNames For(Guid tenantId, Guid? keyId, DateTimeOffset now, long epochMinute)
        {
            var (minute, month) = (Minute(now), Month(now));
            var (rpm, tpm, budget) = Window(tenantId, null, minute, month);
            var (keyRpm, keyTpm, keyBudget) = Window(tenantId, keyId ?? Guid.Empty, minute, month);
            RedisKey[] counters = [rpm, tpm, budget, InFlight(tenantId), keyRpm, keyTpm, keyBudget];
            return new CounterNames(epochMinute, counters,
                [.. counters, RedisKeys.Tenant(tenantId), RedisKeys.ApiKey(tenantId, keyId ?? Guid.Empty)],
                RedisKeys.Usage(tenantId, DateOnly.FromDateTime(now.UtcDateTime)));
        }
    }

    /// <summary>The tenant's (<paramref name="keyId"/> null) or one key's requests and tokens this minute and budget this month.</summary>
    private static (RedisKey Rpm, RedisKey Tpm, RedisKey Budget) Window(Guid tenantId, Guid? keyId, string minute, string month) =>
        (RedisKeys.Limit(tenantId, keyId, "rpm:" + minute), RedisKeys.Limit(tenantId, keyId, "tpm:" + minute), RedisKeys.Limit(tenantId, keyId, "budget:" + month));

    private static RedisKey InFlight(Guid tenantId) => RedisKeys.Limit(tenantId, null, "inflight");
}
