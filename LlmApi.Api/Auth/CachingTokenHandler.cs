using System.Security.Claims;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LlmApi.Api.Auth;

/// <summary>
/// Remembers tokens that passed signature, issuer, audience and lifetime validation until they expire, so a client
/// reusing its token is not re-verified on every request (parsing and HMAC were half the cost of an authenticated
/// request). That part of validation is a pure function of the token and the key, so remembering it changes no
/// answer; revocation is not part of it and is still checked in Redis on every request. Only valid tokens are
/// remembered, each entry ends at the token's own expiry, and the cache is bounded. Every request presenting a token
/// gets the one identity made for it, so nothing may change that identity: the access check puts a role that
/// changed since the token was issued on a copy (<see cref="AccessValidator"/>).
/// </summary>
internal sealed class CachingTokenHandler(TimeProvider clock) : JsonWebTokenHandler, IDisposable
{
    /// <summary>Live tokens remembered per replica; beyond that, the least recently used are re-validated.</summary>
    public const int Capacity = 50_000;

    private readonly MemoryCache _validated = new(new MemoryCacheOptions { SizeLimit = Capacity, CompactionPercentage = 0.2 });

    /// <summary>
    /// The identity of <paramref name="token"/> when it passed validation before and has not expired since; null
    /// otherwise, and the token is validated in full. Lets the bearer scheme skip its per-request set-up for a token it
    /// has already validated (<see cref="AuthenticationSetup"/>); the access check still runs on every request.
    /// </summary>
    public ClaimsIdentity? Recall(string token) => Find(token)?.Identity;

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (Find(token) is { } hit)
        {
            return new TokenValidationResult
            {
                IsValid = true,
                ClaimsIdentity = hit.Identity,
                SecurityToken = hit.Token,
                Issuer = hit.Token.Issuer,
            };
        }

        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken jwt && result.ClaimsIdentity is { } identity)
        {
            var expires = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero);
            _validated.Set(token, new Validated(identity, jwt, expires),
                new MemoryCacheEntryOptions { Size = 1, AbsoluteExpiration = expires });
        }

        return result;
    }

    public void Dispose() => _validated.Dispose();

    private Validated? Find(string token) =>
        _validated.TryGetValue(token, out Validated? hit) && hit!.Expires > clock.GetUtcNow() ? hit : null;

    private sealed record Validated(ClaimsIdentity Identity, JsonWebToken Token, DateTimeOffset Expires);
}
