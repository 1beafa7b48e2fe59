using System.Globalization;

namespace LlmApi.Web.Components;

/// <summary>How the console writes numbers, times and limits: the same on every page.</summary>
internal static class Show
{
    public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC";

    public static string Limit(long? value) => value is { } limit ? Number(limit) : "no limit";

    /// <summary>"120 of 1,000 (12%)", or "120 (no limit)".</summary>
    public static string Used(long used, long? limit) => limit is { } l and > 0
        ? $"{Number(used)} of {Number(l)} ({Math.Min(999, used * 100 / l)}%)"
        : $"{Number(used)} (no limit)";
}
