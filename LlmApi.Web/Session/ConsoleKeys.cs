using StackExchange.Redis;

namespace LlmApi.Web.Session;

/// <summary>
/// Every Redis key the console writes, in one place (the API's are in its <c>RedisKeys</c>). Each is a single key, so
/// the console runs unchanged on Redis Cluster.
/// </summary>
internal static class ConsoleKeys
{
    /// <summary>List: the data protection key ring every console replica shares.</summary>
    public static readonly RedisKey DataProtection = "console:data-protection-keys";

    /// <summary>String, expiring with the session: a signed-in browser's encrypted ticket (<see cref="RedisTicketStore"/>).</summary>
    public static RedisKey Session(string id) => "console:session:" + id;

    /// <summary>String, one minute: a secret shown once (<see cref="OneTimeSecrets"/>).</summary>
    public static RedisKey OneTimeSecret(string id) => "console:once:" + id;
}
