using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Claims;
using System.Security.Cryptography;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;

namespace LlmApi.Api.ApiKeys;

/// <summary>
/// API keys this replica has verified against Redis, with their tenants, so that a model call need not read them
/// again: its admission script checks, in the same round trip that reserves its usage, that the key still exists
/// with the same secret and that its tenant is still active, and reads the limits there too. So deleting a key or
/// suspending a tenant still stops the next call on every replica, and limits are always the ones in Redis. Other
/// routes do not use this cache; they read the key on every request. Entries live five minutes at most.
/// <para>
/// An entry made when a presented key was verified also holds that key's secret, so the key's next calls are compared
/// with it in constant time instead of hashing what they present: a call one at a time found the SHA-256 (OpenSSL, on
/// cold caches) to be 27-28 us of its path to the model server, the comparison 3.5-4 us (docs/benchmarks.md, issue 11,
/// twenty-third pass).
/// The secret is one the process already holds in every request that presents it, kept no longer than the entry; it
/// is never written anywhere (Redis keeps only its hash).
/// </para>
/// </summary>
internal sealed class ApiKeyCache(TimeProvider clock)
{
    /// <summary>How long an entry is used; a bound on how stale the key's name or the tenant's settings can be.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>Beyond this many keys the cache starts over, so that a flood of distinct keys cannot grow it.</summary>
    private const int Capacity = 10_000;

    private readonly ConcurrentDictionary<Guid, Entry> _entries = new();

    public bool TryGet(Guid keyId, out Entry entry)
    {
        if (_entries.TryGetValue(keyId, out entry!) && entry.Expires > clock.GetUtcNow())
        {
            return true;
        }

        entry = null!;
        return false;
    }

    /// <param name="secret">
    /// The secret that was presented and verified, or empty when the key was checked by its hash alone (a refusal's
    /// re-check): then the secret an earlier check verified is kept, as long as the key's hash is the same.
    /// </param>
    public void Set(ApiKey key, Tenant tenant, ReadOnlySpan<char> secret)
    {
        var (principal, expires) = (ApiKeyAuthenticationHandler.PrincipalOf(key), clock.GetUtcNow() + Lifetime);
        var entry = secret.IsEmpty && _entries.TryGetValue(key.KeyId, out var known)
            ? known.Renewed(key, tenant, principal, expires)
            : new Entry(key, tenant, principal, expires, secret.IsEmpty ? null : secret.ToArray());
        _entries.Remember(key.KeyId, entry, Capacity);
    }

    public void Remove(Guid keyId) => _entries.TryRemove(keyId, out _);

    /// <summary>
    /// A verified key, its tenant as read then, the principal its requests run as (shared, never written), and the
    /// secret that verified it when one was presented.
    /// </summary>
    public sealed class Entry(ApiKey key, Tenant tenant, ClaimsPrincipal principal, DateTimeOffset expires, char[]? secret)
    {
        public ApiKey Key { get; } = key;

        public Tenant Tenant { get; } = tenant;

        public ClaimsPrincipal Principal { get; } = principal;

        public DateTimeOffset Expires { get; } = expires;

        /// <summary>
        /// True when <paramref name="presented"/> is the key's secret: compared in constant time with the one that
        /// verified the entry, or by its hash when the entry has none.
        /// </summary>
        public bool SecretMatches(ReadOnlySpan<char> presented) => secret is null
            ? Key.SecretMatches(presented)
            : CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(presented), MemoryMarshal.AsBytes(secret.AsSpan()));

        /// <summary>
        /// An entry for <paramref name="key"/> as checked again by its hash alone: it keeps this entry's secret while
        /// the key's hash is the one that secret was verified against.
        /// </summary>
        public Entry Renewed(ApiKey key, Tenant tenant, ClaimsPrincipal principal, DateTimeOffset expires) =>
            new(key, tenant, principal, expires, key.SecretHash == Key.SecretHash ? secret : null);
    }
}

/// <summary>
/// Endpoint metadata: the endpoint admits every call through <see cref="Llm.UsageLimiter"/>, whose script checks the
/// API key again, so the key may come from <see cref="ApiKeyCache"/>.
/// </summary>
internal sealed class KeyCheckedAtAdmission
{
    public static readonly KeyCheckedAtAdmission Instance = new();
}
