using System.Globalization;
using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>Reading and writing the fields of Redis hashes in one invariant format.</summary>
internal static class RedisHashes
{
    public static Dictionary<string, string> ToDictionary(HashEntry[] entries) =>
        entries.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);

    public static string Format(DateTimeOffset value) => value.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseTime(string value) =>
        DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(value, CultureInfo.InvariantCulture));

    /// <summary>Flattens hash fields into script arguments: the count, then name, value, name, value...</summary>
    public static IEnumerable<RedisValue> AsArguments(IReadOnlyCollection<HashEntry> entries) =>
        entries.SelectMany(e => new[] { e.Name, e.Value }).Prepend(entries.Count * 2);

    /// <summary>Reads many hashes in one pipelined round trip; an absent hash reads as no entries.</summary>
    public static async Task<HashEntry[][]> ReadAllAsync(IDatabase db, IEnumerable<RedisKey> keys)
    {
        var batch = db.CreateBatch();
        var reads = keys.Select(key => batch.HashGetAllAsync(key)).ToArray();
        batch.Execute();
        return await Task.WhenAll(reads);
    }

    public static string Get(this IReadOnlyDictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out var value) ? value : throw new InvalidDataException($"Stored record lacks field '{name}'.");
}
