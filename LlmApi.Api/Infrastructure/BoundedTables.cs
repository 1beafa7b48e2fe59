using System.Collections.Concurrent;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Per-replica tables of things worked out once and used by many requests (counter names, metering names, verified
/// keys), kept bounded the simple way: adding an entry to a full table starts it afresh. What they hold can always be
/// worked out again, so losing it costs only that work.
/// </summary>
internal static class BoundedTables
{
    /// <summary>Sets <paramref name="key"/> to <paramref name="value"/>; when that adds an entry to a table already holding <paramref name="capacity"/>, empties it first.</summary>
    public static TValue Remember<TKey, TValue>(this ConcurrentDictionary<TKey, TValue> table, TKey key, TValue value, int capacity)
        where TKey : notnull
    {
        if (table.Count >= capacity && !table.ContainsKey(key))
        {
            table.Clear();
        }

        table[key] = value;
        return value;
    }
}
