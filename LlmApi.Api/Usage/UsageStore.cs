using System.Globalization;
using LlmApi.Api.Infrastructure;
using StackExchange.Redis;

namespace LlmApi.Api.Usage;

/// <summary>One row of a usage report.</summary>
internal sealed record UsageRow(string Key, long Requests, long PromptTokens, long CompletionTokens)
{
    public long TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>
/// Reads the daily usage counters that <see cref="Llm.UsageLimiter"/> writes when it settles a call: one hash per tenant
/// and UTC day, with fields <c>{dimension}:r|p|c</c> (requests, prompt and completion tokens). Dimensions: <c>t</c>
/// (the tenant), <c>m:{model}</c>, <c>k:{key}</c>, <c>k:{key}:m:{model}</c>, <c>u:{user}</c>, <c>u:{user}:m:{model}</c>.
/// </summary>
internal sealed class UsageStore(IConnectionMultiplexer redis)
{
    /// <summary>The counters of each day in [from, to], by dimension.</summary>
    public async Task<IReadOnlyList<(DateOnly Day, IReadOnlyDictionary<string, UsageRow> Dimensions)>> ReadAsync(Guid tenantId, DateOnly from, DateOnly to)
    {
        var days = Enumerable.Range(0, to.DayNumber - from.DayNumber + 1).Select(from.AddDays).ToList();
        var hashes = await RedisHashes.ReadAllAsync(redis.GetDatabase(), days.Select(day => RedisKeys.Usage(tenantId, day)));
        return days.Zip(hashes, (day, hash) => (day, (IReadOnlyDictionary<string, UsageRow>)Parse(hash))).ToList();
    }

    private static Dictionary<string, UsageRow> Parse(HashEntry[] fields)
    {
        var rows = new Dictionary<string, UsageRow>(StringComparer.Ordinal);
        foreach (var field in fields)
        {
            var name = field.Name.ToString();
            var split = name.LastIndexOf(':');
            var dimension = name[..split];
            var value = long.Parse(field.Value.ToString(), CultureInfo.InvariantCulture);
            var row = rows.GetValueOrDefault(dimension) ?? new UsageRow(dimension, 0, 0, 0);
            rows[dimension] = name[(split + 1)..] switch
            {
                "r" => row with { Requests = row.Requests + value },
                "p" => row with { PromptTokens = row.PromptTokens + value },
                "c" => row with { CompletionTokens = row.CompletionTokens + value },
                _ => row,
            };
        }

        return rows;
    }
}
