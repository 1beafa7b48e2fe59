using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// A Lua script run by its SHA-1 (<c>EVALSHA</c>), for scripts on the hot path of every model call. Given the text,
/// the client finds the script's hash by looking the whole text up in a table on every call (hashing a kilobyte of
/// Lua each time: measured at 2% of a model call's CPU); this hashes it once. A Redis that does not know the script
/// yet (a new node, a restart, a failover to a replica, <c>SCRIPT FLUSH</c>) answers NOSCRIPT without running anything,
/// and the call is made once more with the text (<c>EVAL</c>, which also loads it there).
/// </summary>
internal sealed class RedisScript(string text)
{
    // SHA-1 is how Redis names a script (EVALSHA), not a security measure: nothing is protected by it.
#pragma warning disable CA5350
    private readonly byte[] _sha1 = SHA1.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350

    public string Text { get; } = text;

    public async Task<RedisResult> EvaluateAsync(IDatabase db, RedisKey[] keys, RedisValue[] args)
    {
        try
        {
            return await db.ScriptEvaluateAsync(_sha1, keys, args);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await db.ScriptEvaluateAsync(Text, keys, args);
        }
    }
}
