using LlmApi.Api.Infrastructure;
using StackExchange.Redis;

namespace LlmApi.Api.Auth;

/// <summary>A login session, stored in <c>session:{sessionId}</c> until its token expires.</summary>
internal sealed record Session(
    Guid SessionId, Guid TenantId, Guid UserId, string TokenId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string UserAgent)
{
    public static class Fields
    {
        public const string Id = "id";
        public const string TenantId = "tenantId";
        public const string UserId = "userId";
        public const string TokenId = "jti";
        public const string CreatedAt = "createdAt";
        public const string ExpiresAt = "expiresAt";
        public const string UserAgent = "userAgent";
    }

    public const int MaxUserAgentLength = 256;

    public static Session Start(Guid tenantId, Guid userId, Guid sessionId, IssuedToken token, DateTimeOffset now, string? userAgent)
    {
        var agent = userAgent ?? string.Empty;
        return new(sessionId, tenantId, userId, token.TokenId, now, token.ExpiresAt,
            agent.Length > MaxUserAgentLength ? agent[..MaxUserAgentLength] : agent);
    }

    public HashEntry[] ToHashEntries() =>
    [
        new(Fields.Id, SessionId.ToString("D")),
        new(Fields.TenantId, TenantId.ToString("D")),
        new(Fields.UserId, UserId.ToString("D")),
        new(Fields.TokenId, TokenId),
        new(Fields.CreatedAt, RedisHashes.Format(CreatedAt)),
        new(Fields.ExpiresAt, RedisHashes.Format(ExpiresAt)),
        new(Fields.UserAgent, UserAgent),
    ];

    public static Session? FromHash(HashEntry[] entries)
    {
        if (entries.Length == 0)
        {
            return null;
        }

        var f = RedisHashes.ToDictionary(entries);
        return new Session(
            Guid.Parse(f.Get(Fields.Id)),
            Guid.Parse(f.Get(Fields.TenantId)),
            Guid.Parse(f.Get(Fields.UserId)),
            f.Get(Fields.TokenId),
            RedisHashes.ParseTime(f.Get(Fields.CreatedAt)),
            RedisHashes.ParseTime(f.Get(Fields.ExpiresAt)),
            f.GetValueOrDefault(Fields.UserAgent) ?? string.Empty);
    }
}
