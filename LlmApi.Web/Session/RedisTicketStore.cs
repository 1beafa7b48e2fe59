using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using StackExchange.Redis;

namespace LlmApi.Web.Session;

/// <summary>
/// Console sessions kept on the server, in Redis, so every replica has them: the browser's cookie carries only a
/// protected random id. The ticket (claims, and the API token or operator key) is encrypted with the shared data
/// protection keys before it is stored, and expires with the session. Signing out deletes it, so a copied cookie
/// stops working at once.
/// </summary>
internal sealed class RedisTicketStore(IConnectionMultiplexer redis, IDataProtectionProvider dataProtection, TimeProvider clock) : ITicketStore
{
    private readonly IDataProtector _protector = dataProtection.CreateProtector("LlmApi.Console.SessionTickets");

    public async Task<string> StoreAsync(AuthenticationTicket ticket)
    {
        var id = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        await RenewAsync(id, ticket);
        return id;
    }

    public async Task RenewAsync(string key, AuthenticationTicket ticket)
    {
        var lifetime = (ticket.Properties.ExpiresUtc ?? clock.GetUtcNow().AddHours(1)) - clock.GetUtcNow();
        if (lifetime <= TimeSpan.Zero)
        {
            await RemoveAsync(key);
            return;
        }

        var value = _protector.Protect(TicketSerializer.Default.Serialize(ticket));
        await redis.GetDatabase().StringSetAsync(ConsoleKeys.Session(key), value, lifetime);
    }

    public async Task<AuthenticationTicket?> RetrieveAsync(string key)
    {
        var value = await redis.GetDatabase().StringGetAsync(ConsoleKeys.Session(key));
        if (value.IsNull)
        {
            return null;
        }

        try
        {
            return TicketSerializer.Default.Deserialize(_protector.Unprotect((byte[])value!));
        }
        catch (CryptographicException)
        {
            return null; // written under a key ring this one no longer has: a sign-in is needed
        }
    }

    public Task RemoveAsync(string key) => redis.GetDatabase().KeyDeleteAsync(ConsoleKeys.Session(key));
}
