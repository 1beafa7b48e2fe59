using System.Globalization;
using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>How an enum's values are stored: their names in lower case, made once (they are compared on every request).</summary>
internal static class StoredValues<T> where T : struct, Enum
{
    private static readonly Dictionary<T, string> Values = Enum.GetValues<T>().ToDictionary(v => v, v => v.ToString().ToLowerInvariant());

    public static string Of(T value) => Values.TryGetValue(value, out var stored) ? stored : value.ToString().ToLowerInvariant();
}

/// <summary>Reading and writing the fields of Redis hashes in one invariant format.</summary>
internal static class RedisHashes
{
    /// <summary>
    /// The field of a user's or tenant's hash that every script writing that hash increments: a replica that parsed the
    /// record at one revision knows it is still current while the field reads the same (see <see cref="Auth.AccessCache"/>).
    /// </summary>
    public const string Revision = "rev";

    /// <summary>The revision stored in a hash read whole, or null for a record written before revisions existed.</summary>
    public static long? RevisionOf(HashEntry[] entries)
    {
        foreach (var entry in entries)
        {
            if (entry.Name == Revision)
            {
                return entry.Value.TryParse(out long revision) ? revision : null;
            }
        }

        return null;
    }

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
        if (reads.Length > 0)
        {
            // The last reply first: on one node the others are complete by then, so this costs one continuation
            // rather than one per hash (see AccessValidator).
            await reads[^1];
        }

        return await Task.WhenAll(reads);
    }

    public static string Get(this IReadOnlyDictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out var value) ? value : throw new InvalidDataException($"Stored record lacks field '{name}'.");
}
