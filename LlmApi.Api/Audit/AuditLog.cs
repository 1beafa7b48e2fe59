using System.ComponentModel.DataAnnotations;
using System.Globalization;
using LlmApi.Api.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmApi.Api.Audit;

internal sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>How long events are kept; older ones are trimmed as new ones arrive.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(90);
}

/// <summary>
/// The audit trail: one Redis stream per tenant (<c>tenant:{id}:audit</c>, in the tenant's hash slot), trimmed by age
/// (<c>XADD ... MINID</c>) as events arrive. Recording is best effort after the action it describes has happened:
/// a failed write is logged, never turned into an error for an action that already took effect.
/// </summary>
internal sealed partial class AuditLog(IConnectionMultiplexer redis, IOptions<AuditOptions> options, TimeProvider clock, ILogger<AuditLog> logger)
{
    public async Task RecordAsync(Guid tenantId, string action, AuditActor actor, HttpContext http,
        string? targetType = null, string? targetId = null, string outcome = "success")
    {
        var now = clock.GetUtcNow();
        var oldest = (now - options.Value.Retention).ToUnixTimeMilliseconds();
        try
        {
            await redis.GetDatabase().ExecuteAsync("XADD", RedisKeys.Audit(tenantId), "MINID", "~", oldest, "*",
                "time", now.ToUnixTimeMilliseconds(), "action", action, "outcome", outcome,
                "actorType", actor.Type, "actorId", actor.Id ?? string.Empty,
                "targetType", targetType ?? string.Empty, "targetId", targetId ?? string.Empty,
                "address", ClientAddress.Of(http));
        }
        catch (Exception e) when (RedisFailure.Is(e))
        {
            LogNotRecorded(logger, e, action, tenantId);
        }
    }

    /// <summary>
    /// A page of a tenant's events, newest first, between <paramref name="from"/> and <paramref name="to"/>, older than
    /// the <paramref name="cursor"/> (an event id from an earlier page), optionally of one action or actor id.
    /// </summary>
    public async Task<AuditPage> ReadAsync(Guid tenantId, DateTimeOffset? from, DateTimeOffset? to, string? cursor, int limit, string? action, string? actor)
    {
        var end = cursor is not null ? "(" + cursor : to is { } t ? t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) : "+";
        var start = from is { } f ? f.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) : "-";
        var events = new List<AuditEvent>();
        // Filters apply after reading, so read in batches until the page is full or the range is exhausted.
        while (true)
        {
            var batch = (RedisResult[])(await redis.GetDatabase().ExecuteAsync("XREVRANGE", RedisKeys.Audit(tenantId), end, start, "COUNT", BatchSize))!;
            foreach (var entry in batch.Select(Read))
            {
                end = "(" + entry.Id;
                if ((action is null || entry.Action == action) && (actor is null || entry.Actor.Id == actor))
                {
                    events.Add(entry);
                    if (events.Count == limit)
                    {
                        return new AuditPage(events, events.Count, entry.Id);
                    }
                }
            }

            if (batch.Length < BatchSize)
            {
                return new AuditPage(events, events.Count, null);
            }
        }
    }

    private const int BatchSize = 200;

    private static AuditEvent Read(RedisResult entry)
    {
        var parts = (RedisResult[])entry!;
        var values = (RedisResult[])parts[1]!;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < values.Length; i += 2)
        {
            fields[(string)values[i]!] = (string?)values[i + 1] ?? string.Empty;
        }

        string? Field(string name) => fields.TryGetValue(name, out var value) && value.Length > 0 ? value : null;
        return new AuditEvent((string)parts[0]!, DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(fields["time"], CultureInfo.InvariantCulture)),
            fields["action"], fields["outcome"], new AuditActor(fields["actorType"], Field("actorId")), Field("targetType"), Field("targetId"), fields["address"]);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Audit event {Action} of tenant {TenantId} was not recorded")]
    private static partial void LogNotRecorded(ILogger logger, Exception exception, string action, Guid tenantId);
}
