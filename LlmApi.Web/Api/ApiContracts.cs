using System.Text.Json;

namespace LlmApi.Web.Api;

// The API's answers as the console reads them (JSON, camelCase). Roles and statuses stay strings: the console shows
// what the API says rather than failing on a value it does not know yet.

public sealed record UserInfo(Guid UserId, Guid TenantId, string Username, string Email, string Role, string Status, DateTimeOffset CreatedAt);

public sealed record TenantSummaryInfo(Guid TenantId, string Name, string Domain);

public sealed record SignInResult(string Token, UserInfo User, TenantSummaryInfo Tenant, Guid SessionId);

public sealed record Limits(int? RequestsPerMinute, int? TokensPerMinute, int? ConcurrentRequests, long? MonthlyTokenBudget)
{
    public static readonly Limits None = new(null, null, null, null);
}

public sealed record TenantInfo(Guid TenantId, string Name, string Domain, string Status, JsonElement Settings, Limits? Limits, DateTimeOffset CreatedAt);

public sealed record MeInfo(UserInfo User, TenantInfo Tenant);

public sealed record SessionInfo(Guid SessionId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string UserAgent, bool Current);

public sealed record SessionList(IReadOnlyList<SessionInfo> Sessions);

public sealed record UserPage(IReadOnlyList<UserInfo> Users, long Total, string? NextCursor);

public sealed record KeyInfo(Guid KeyId, string Name, IReadOnlyList<string> Models, int? RequestsPerMinute, int? TokensPerMinute, long? MonthlyTokenBudget, DateTimeOffset CreatedAt);

public sealed record KeyList(IReadOnlyList<KeyInfo> Keys);

public sealed record CreatedKey(Guid KeyId, string Key, string Name);

public sealed record UsageItem(string Key, long Requests, long PromptTokens, long CompletionTokens, long TotalTokens);

public sealed record UsageTotals(long Requests, long PromptTokens, long CompletionTokens, long TotalTokens);

public sealed record UsageReport(string From, string To, string GroupBy, IReadOnlyList<UsageItem> Items, UsageTotals Total);

public sealed record MinuteUsage(long Requests, long Tokens, DateTimeOffset ResetsAt);

public sealed record MonthUsage(string Month, long UsedTokens, long ReservedTokens, DateTimeOffset ResetsAt);

public sealed record CurrentUsage(Limits Limits, MinuteUsage Minute, MonthUsage Month, long InFlight);

public sealed record AuditActorInfo(string Type, string? Id);

public sealed record AuditEventInfo(string Id, DateTimeOffset Time, string Action, string Outcome, AuditActorInfo Actor, string? TargetType, string? TargetId, string ClientAddress);

public sealed record AuditPage(IReadOnlyList<AuditEventInfo> Events, string? NextCursor);

public sealed record TenantPage(IReadOnlyList<TenantInfo> Tenants, long Total, string? NextCursor);

public sealed record UpstreamInfo(string Name, string Provider, string State, int InFlight, int? MaxConcurrency, int Models, DateTimeOffset? LastProbe)
{
    public bool IsHealthy => string.Equals(State, "healthy", StringComparison.OrdinalIgnoreCase);
}

public sealed record UpstreamHealth(string Status, IReadOnlyList<UpstreamInfo> Upstreams);

/// <summary>A tenant's users and keys by id (not an API answer: gathered from two).</summary>
public sealed record TenantNames(IReadOnlyDictionary<string, string> Users, IReadOnlyDictionary<string, string> Keys)
{
    /// <summary>Who an audit event names: users by name, keys as "key NAME".</summary>
    public IReadOnlyDictionary<string, string> Actors() =>
        Users.Concat(Keys.Select(k => KeyValuePair.Create(k.Key, "key " + k.Value))).ToDictionary(StringComparer.Ordinal);
}
