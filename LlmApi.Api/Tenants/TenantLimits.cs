using System.ComponentModel.DataAnnotations;
using System.Text.Json;

namespace LlmApi.Api.Tenants;

/// <summary>
/// Limits on model use. Each is optional: absent means unlimited. The operator sets a tenant's; a tenant admin sets
/// an API key's within them. Field names are the wire names of the API.
/// </summary>
public sealed record UsageLimits(
    [property: Range(1, int.MaxValue)] int? RequestsPerMinute,
    [property: Range(1, int.MaxValue)] int? TokensPerMinute,
    [property: Range(1, 100_000)] int? ConcurrentRequests,
    [property: Range(1, long.MaxValue)] long? MonthlyTokenBudget)
{
    public static readonly UsageLimits Unlimited = new(null, null, null, null);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static UsageLimits FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? Unlimited : JsonSerializer.Deserialize<UsageLimits>(json, Json) ?? Unlimited;

    /// <summary>The names of the limits in <paramref name="inner"/> that exceed this one's (where this one sets any).</summary>
    public IEnumerable<string> Exceeded(UsageLimits inner)
    {
        if (RequestsPerMinute is { } r && inner.RequestsPerMinute > r)
        {
            yield return "requestsPerMinute";
        }

        if (TokensPerMinute is { } t && inner.TokensPerMinute > t)
        {
            yield return "tokensPerMinute";
        }

        if (MonthlyTokenBudget is { } b && inner.MonthlyTokenBudget > b)
        {
            yield return "monthlyTokenBudget";
        }
    }
}
