using System.Runtime.CompilerServices;
using System.Text.Json;
using LlmApi.Api.Infrastructure;
using StackExchange.Redis;

namespace LlmApi.Api.Tenants;

public enum TenantStatus
{
    Active,
    Inactive,
    Suspended,
}

/// <summary>A tenant as stored in <c>tenant:{tenantId}</c>.</summary>
internal sealed record Tenant(
    Guid TenantId,
    string Name,
    string Domain,
    TenantStatus Status,
    string SettingsJson,
    UsageLimits Limits,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static class Fields
    {
        public const string Id = "id";
        public const string Name = "name";
        public const string Domain = "domain";
        public const string Status = "status";
        public const string Settings = "settings";
        public const string Limits = "limits";
        public const string CreatedAt = "createdAt";
        public const string UpdatedAt = "updatedAt";
        public const string Revision = RedisHashes.Revision;
    }

    public HashEntry[] ToHashEntries() =>
    [
        new(Fields.Id, TenantId.ToString("D")),
        new(Fields.Name, Name),
        new(Fields.Domain, Domain),
        new(Fields.Status, StatusValue(Status)),
        new(Fields.Settings, SettingsJson),
        new(Fields.Limits, Limits.ToJson()),
        new(Fields.CreatedAt, RedisHashes.Format(CreatedAt)),
        new(Fields.UpdatedAt, RedisHashes.Format(UpdatedAt)),
    ];

    public static Tenant? FromHash(HashEntry[] entries)
    {
        if (entries.Length == 0)
        {
            return null;
        }

        var f = RedisHashes.ToDictionary(entries);
        return new Tenant(
            Guid.Parse(f.Get(Fields.Id)),
            f.Get(Fields.Name),
            f.Get(Fields.Domain),
            Enum.Parse<TenantStatus>(f.Get(Fields.Status), ignoreCase: true),
            f.GetValueOrDefault(Fields.Settings) ?? "{}",
            UsageLimits.FromJson(f.GetValueOrDefault(Fields.Limits)),
            RedisHashes.ParseTime(f.Get(Fields.CreatedAt)),
            RedisHashes.ParseTime(f.Get(Fields.UpdatedAt)));
    }

    public static string StatusValue(TenantStatus status) => StoredValues<TenantStatus>.Of(status);

    public TenantSummary ToSummary() => new(TenantId, Name, Domain);

    public TenantResponse ToResponse() => new(TenantId, Name, Domain, Status, ReadableSettings(SettingsJson), Limits, CreatedAt, UpdatedAt);

    /// <summary>
    /// The settings as parsed, once per stored text: a tenant the access check remembers (<see cref="Auth.AccessCache"/>)
    /// answers <c>/api/auth/me</c> and <c>/api/tenant</c> with the same text on every request. Keyed by the string
    /// itself, so an entry lives as long as the record holding it, and changed settings are other text.
    /// </summary>
    private static readonly ConditionalWeakTable<string, StrongBox<JsonElement>> Parsed = new();

    private static JsonElement ReadableSettings(string json) => Parsed.GetValue(json, static text => new(Readable(text))).Value!;

    /// <summary>
    /// The stored settings, or an empty object when they cannot be written out (text stored before input was checked
    /// for well-formed Unicode): one unreadable record must not break every answer, or a page, that includes it.
    /// </summary>
    private static JsonElement Readable(string json)
    {
        try
        {
            using var settings = JsonDocument.Parse(json);
            if (Infrastructure.UnicodeText.FirstMalformed(settings.RootElement) is null)
            {
                return settings.RootElement.Clone();
            }
        }
        catch (JsonException)
        {
        }

        using var empty = JsonDocument.Parse("{}");
        return empty.RootElement.Clone();
    }
}

/// <summary>The tenant fields the original API returned on register and login.</summary>
internal sealed record TenantSummary(Guid TenantId, string Name, string Domain);

internal sealed record TenantResponse(
    Guid TenantId, string Name, string Domain, TenantStatus Status, JsonElement Settings, UsageLimits Limits, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
