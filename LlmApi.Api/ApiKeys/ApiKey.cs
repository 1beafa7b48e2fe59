using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;
using StackExchange.Redis;

namespace LlmApi.Api.ApiKeys;

/// <summary>
/// A tenant's API key, stored in <c>tenant:{tenantId}:apikey:{keyId}</c> as the SHA-256 of its secret. The key is
/// 32 random bytes, so a fast hash is the right tool (bcrypt protects guessable passwords, and would cost 80 ms on
/// every model call). The clear key is shown once, at creation.
/// </summary>
internal sealed record ApiKey(
    Guid KeyId, Guid TenantId, string Name, IReadOnlyList<string> Models, UsageLimits Limits, string SecretHash, Guid CreatedBy, DateTimeOffset CreatedAt)
{
    public const string Prefix = "llmk_";

    /// <summary>True when the request presents an API key (<c>Authorization: Bearer llmk_...</c>) rather than a token.</summary>
    public static bool IsPresentedBy(HttpRequest request) =>
        request.Headers.Authorization.ToString().StartsWith("Bearer " + Prefix, StringComparison.Ordinal);

    public static class Fields
    {
        public const string Id = "id";
        public const string TenantId = "tenantId";
        public const string Name = "name";
        public const string Models = "models";
        public const string Limits = "limits";
        public const string SecretHash = "secretHash";
        public const string CreatedBy = "createdBy";
        public const string CreatedAt = "createdAt";
    }

    /// <summary>
    /// True when the key may use <paramref name="model"/> (no allow-list means every model). As in Ollama, a name
    /// without a tag is the same model as its <c>:latest</c>.
    /// </summary>
    public bool Allows(string model) => Models.Count == 0 || Models.Any(allowed => Llm.ModelNames.AreSame(allowed, model));

    /// <summary>Makes a new key: its record and the clear value <c>llmk_{tenant}_{key}_{secret}</c>.</summary>
    public static (ApiKey Key, string ClearValue) Create(Guid tenantId, string name, IReadOnlyList<string> models, UsageLimits limits, Guid createdBy, DateTimeOffset now)
    {
        var keyId = Guid.CreateVersion7(now);
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var key = new ApiKey(keyId, tenantId, name, models, limits, Hash(secret), createdBy, now);
        return (key, $"{Prefix}{tenantId:N}_{keyId:N}_{secret}");
    }

    /// <summary>
    /// Splits a presented key into its tenant, key id and secret; false when it is not shaped like one. The secret is
    /// a slice of <paramref name="value"/>, not a copy.
    /// </summary>
    public static bool TryParse(ReadOnlyMemory<char> value, out Guid tenantId, out Guid keyId, out ReadOnlyMemory<char> secret)
    {
        tenantId = keyId = Guid.Empty;
        secret = ReadOnlyMemory<char>.Empty;
        if (!value.Span.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        // Room for a fourth part, so that a value with more than three is seen as one (its last range holds the rest).
        var rest = value[Prefix.Length..];
        Span<Range> parts = stackalloc Range[4];
        if (rest.Span.Split(parts, '_') != 3 || !Guid.TryParseExact(rest.Span[parts[0]], "N", out tenantId)
            || !Guid.TryParseExact(rest.Span[parts[1]], "N", out keyId) || rest.Span[parts[2]].Length < 32)
        {
            return false;
        }

        secret = rest[parts[2]];
        return true;
    }

    /// <summary>Compares in constant time, so response times do not reveal how much of a guess was right.</summary>
    public bool SecretMatches(ReadOnlySpan<char> secret)
    {
        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> stored = stackalloc byte[SHA256.HashSizeInBytes];
        Hash(secret, presented);
        return Convert.FromHexString(SecretHash, stored, out _, out var written) == System.Buffers.OperationStatus.Done
            && written == stored.Length
            && CryptographicOperations.FixedTimeEquals(presented, stored);
    }

    private static string Hash(string secret)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        Hash(secret, hash);
        return Convert.ToHexString(hash);
    }

    /// <summary>The SHA-256 of the secret's UTF-8, without allocating for a secret of ordinary length.</summary>
    private static void Hash(ReadOnlySpan<char> secret, Span<byte> hash)
    {
        const int OnStack = 256;
        var most = Encoding.UTF8.GetMaxByteCount(secret.Length);
        Span<byte> utf8 = most <= OnStack ? stackalloc byte[OnStack] : new byte[most];
        SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(secret, utf8)], hash);
    }

    public HashEntry[] ToHashEntries() =>
    [
        new(Fields.Id, KeyId.ToString("D")),
        new(Fields.TenantId, TenantId.ToString("D")),
        new(Fields.Name, Name),
        new(Fields.Models, JsonSerializer.Serialize(Models)),
        new(Fields.Limits, Limits.ToJson()),
        new(Fields.SecretHash, SecretHash),
        new(Fields.CreatedBy, CreatedBy.ToString("D")),
        new(Fields.CreatedAt, RedisHashes.Format(CreatedAt)),
    ];

    public static ApiKey? FromHash(HashEntry[] entries)
    {
        if (entries.Length == 0)
        {
            return null;
        }

        var f = RedisHashes.ToDictionary(entries);
        return new ApiKey(
            Guid.Parse(f.Get(Fields.Id)),
            Guid.Parse(f.Get(Fields.TenantId)),
            f.Get(Fields.Name),
            JsonSerializer.Deserialize<List<string>>(f.Get(Fields.Models)) ?? [],
            UsageLimits.FromJson(f.GetValueOrDefault(Fields.Limits)),
            f.Get(Fields.SecretHash),
            Guid.Parse(f.Get(Fields.CreatedBy)),
            RedisHashes.ParseTime(f.Get(Fields.CreatedAt)));
    }

    public ApiKeyResponse ToResponse() =>
        new(KeyId, Name, Models, Limits.RequestsPerMinute, Limits.TokensPerMinute, Limits.MonthlyTokenBudget, CreatedAt);
}

/// <summary>A key as listed: never its secret or hash.</summary>
internal sealed record ApiKeyResponse(
    Guid KeyId, string Name, IReadOnlyList<string> Models, int? RequestsPerMinute, int? TokensPerMinute, long? MonthlyTokenBudget, DateTimeOffset CreatedAt);

/// <summary>A new key, with its clear value shown this one time.</summary>
internal sealed record ApiKeyCreatedResponse(
    Guid KeyId, string Key, string Name, IReadOnlyList<string> Models, int? RequestsPerMinute, int? TokensPerMinute, long? MonthlyTokenBudget,
    DateTimeOffset CreatedAt);
