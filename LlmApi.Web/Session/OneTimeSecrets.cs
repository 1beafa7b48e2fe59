using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using StackExchange.Redis;

namespace LlmApi.Web.Session;

/// <summary>
/// A secret shown once after a form (a new API key): kept encrypted in Redis for a minute under a random id and for one
/// person, then read and deleted in one command. The form's answer is a redirect to a page naming the id, so reloading
/// that page shows the secret no more and never posts the form again (which would create a second key).
/// </summary>
internal sealed class OneTimeSecrets(IConnectionMultiplexer redis, IDataProtectionProvider dataProtection)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);

    private readonly IDataProtector _protector = dataProtection.CreateProtector("LlmApi.Console.OneTimeSecrets");

    public async Task<string> KeepAsync(string owner, string secret)
    {
        var id = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(24));
        await redis.GetDatabase().StringSetAsync(ConsoleKeys.OneTimeSecret(id), _protector.Protect(owner + "\n" + secret), Lifetime);
        return id;
    }

    /// <summary>The secret, if it is still there and was kept for <paramref name="owner"/>; gone afterwards either way.</summary>
    public async Task<string?> TakeAsync(string owner, string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 64)
        {
            return null;
        }

        var value = await redis.GetDatabase().StringGetDeleteAsync(ConsoleKeys.OneTimeSecret(id));
        if (value.IsNull)
        {
            return null;
        }

        try
        {
            var kept = _protector.Unprotect(value.ToString());
            return kept.StartsWith(owner + "\n", StringComparison.Ordinal) ? kept[(owner.Length + 1)..] : null;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
