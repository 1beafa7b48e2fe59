using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Cursor paging over a sorted set whose members are time-ordered ids with equal scores: lexicographic order is
/// creation order, and the cursor is the last id returned, so pages stay stable while members are added.
/// </summary>
internal static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 100;

    public static async Task<(Guid[] Ids, string? NextCursor)> PageAsync(IDatabase db, RedisKey index, Guid? after, int limit)
    {
        var start = after is { } cursor ? (RedisValue)cursor.ToString("D") : RedisValue.Null;
        // One extra member tells whether another page exists.
        var members = await db.SortedSetRangeByValueAsync(
            index, start, RedisValue.Null, after is null ? Exclude.None : Exclude.Start, Order.Ascending, 0, limit + 1);
        var ids = members.Take(limit).Select(m => Guid.Parse(m.ToString())).ToArray();
        return (ids, members.Length > limit ? ids[^1].ToString("D") : null);
    }

    /// <summary>Validates the query of a paged list: limit 1..100 (default 50), cursor an id from an earlier page.</summary>
    public static ValidationProblem? TryRead(int? limit, string? cursor, out int pageSize, out Guid? after)
    {
        pageSize = limit ?? DefaultLimit;
        after = null;
        if (pageSize is < 1 or > MaxLimit)
        {
            return Problems.Invalid("limit", $"limit must be between 1 and {MaxLimit}.");
        }

        if (cursor is not null)
        {
            if (!Guid.TryParse(cursor, out var parsed))
            {
                return Problems.Invalid("cursor", "cursor must be a value returned as nextCursor.");
            }

            after = parsed;
        }

        return null;
    }
}
