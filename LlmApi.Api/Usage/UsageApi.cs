using System.Globalization;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Llm;
using LlmApi.Api.Tenants;
using LlmApi.Api.Users;

namespace LlmApi.Api.Usage;

internal sealed record UsageTotals(long Requests, long PromptTokens, long CompletionTokens, long TotalTokens);

internal sealed record UsageItem(string Key, long Requests, long PromptTokens, long CompletionTokens, long TotalTokens);

internal sealed record UsageReport(string From, string To, string GroupBy, IReadOnlyList<UsageItem> Items, UsageTotals Total);

internal sealed record MinuteUsage(long Requests, long Tokens, DateTimeOffset ResetsAt);

internal sealed record MonthUsage(string Month, long UsedTokens, long ReservedTokens, DateTimeOffset ResetsAt);

/// <summary>The tenant's limits beside what is used of them now (see <see cref="LimitUsage"/>).</summary>
internal sealed record CurrentUsageResponse(UsageLimits Limits, MinuteUsage Minute, MonthUsage Month, long InFlight);

/// <summary>
/// Usage by UTC day, model, key or user. A tenant's admin sees the whole tenant; a user sees their own calls; an API
/// key sees its own. Nobody sees another tenant's usage: the tenant is the caller's.
/// </summary>
internal static class UsageApi
{
    public const int MaxDays = 366;
    private const string DayFormat = "Dates are UTC days written yyyy-MM-dd.";
    private static readonly string[] GroupBys = ["day", "model", "key", "user"];

    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/usage", GetAsync).WithTags("Usage").RequireModelAccess();
        app.MapGet("/api/usage/current", GetCurrentAsync).WithTags("Usage").RequireAuthorization(AuthenticationSetup.AdminPolicy);
        return app;
    }

    internal static async Task<Results<Ok<UsageReport>, ValidationProblem>> GetAsync(
        Caller caller, UsageStore usage, TimeProvider clock, string? from, string? to, string? groupBy)
    {
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        groupBy ??= "day";
        if (!GroupBys.Contains(groupBy))
        {
            return Problems.Invalid("groupBy", "groupBy must be day, model, key or user.");
        }

        if (!TryDay(from, new DateOnly(today.Year, today.Month, 1), out var first))
        {
            return Problems.Invalid("from", DayFormat);
        }

        if (!TryDay(to, today, out var last))
        {
            return Problems.Invalid("to", DayFormat);
        }

        if (first > last || last.DayNumber - first.DayNumber >= MaxDays)
        {
            return Problems.Invalid("to", $"The range must run forward and span at most {MaxDays} days.");
        }

        var scope = Scope.Of(caller);
        var days = await usage.ReadAsync(caller.TenantId, first, last);
        var rows = groupBy == "day"
            ? days.Select(d => d.Dimensions.GetValueOrDefault(scope.Total) is { } row ? row with { Key = Day(d.Day) } : null).OfType<UsageRow>()
            : days.SelectMany(d => d.Dimensions.Values)
                .Select(r => scope.Group(groupBy, r.Key) is { } key ? r with { Key = key } : null).OfType<UsageRow>()
                .GroupBy(r => r.Key, StringComparer.Ordinal)
                .Select(g => new UsageRow(g.Key, g.Sum(r => r.Requests), g.Sum(r => r.PromptTokens), g.Sum(r => r.CompletionTokens)));

        var items = rows.OrderBy(r => r.Key, StringComparer.Ordinal)
            .Select(r => new UsageItem(r.Key, r.Requests, r.PromptTokens, r.CompletionTokens, r.TotalTokens)).ToList();
        var total = days.Select(d => d.Dimensions.GetValueOrDefault(scope.Total)).OfType<UsageRow>().ToList();
        return TypedResults.Ok(new UsageReport(Day(first), Day(last), groupBy, items, new UsageTotals(
            total.Sum(r => r.Requests), total.Sum(r => r.PromptTokens), total.Sum(r => r.CompletionTokens), total.Sum(r => r.TotalTokens))));
    }

    /// <summary>The tenant's limits and what is used of them this minute and this month, for its admins.</summary>
    internal static async Task<Ok<CurrentUsageResponse>> GetCurrentAsync(Caller caller, UsageLimiter limiter)
    {
        var now = await limiter.ReadAsync(caller.TenantId);
        return TypedResults.Ok(new CurrentUsageResponse(caller.Tenant.Limits,
            new MinuteUsage(now.RequestsThisMinute, now.TokensThisMinute, now.MinuteEnds),
            new MonthUsage(now.Month, now.TokensUsedThisMonth, now.TokensReservedThisMonth, now.MonthEnds),
            now.InFlight));
    }

    private static bool TryDay(string? text, DateOnly fallback, out DateOnly day)
    {
        day = fallback;
        return text is null || DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
    }

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Which counters a caller may read: <see cref="Total"/> for its totals, and how dimensions map to group keys.</summary>
    private sealed record Scope(string Total, string? Prefix)
    {
        public static Scope Of(Caller caller) => caller switch
        {
            { Key: { } key } => new($"k:{key.KeyId:D}", $"k:{key.KeyId:D}"),
            { UserOrNull: { Role: UserRole.Admin } } => new("t", null),
            _ => new($"u:{caller.UserId:D}", $"u:{caller.UserId:D}"),
        };

        /// <summary>The group key of a dimension, or null when the caller may not see it or it is of another kind.</summary>
        public string? Group(string groupBy, string dimension)
        {
            if (Prefix is null)
            {
                // The tenant's admin: top-level dimensions of the requested kind.
                var kind = groupBy[0] + ":";
                return dimension.StartsWith(kind, StringComparison.Ordinal) && !dimension.Contains(":m:", StringComparison.Ordinal)
                    ? dimension[kind.Length..]
                    : null;
            }

            // A user or a key: its own totals, and its own per-model counters.
            return groupBy switch
            {
                "model" when dimension.StartsWith(Prefix + ":m:", StringComparison.Ordinal) => dimension[(Prefix.Length + 3)..],
                "user" when Prefix.StartsWith("u:", StringComparison.Ordinal) && dimension == Prefix => Prefix[2..],
                "key" when Prefix.StartsWith("k:", StringComparison.Ordinal) && dimension == Prefix => Prefix[2..],
                _ => null,
            };
        }
    }
}
