using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;
using StackExchange.Redis;

namespace LlmApi.Api.ApiKeys;

/// <summary>Reads a key and its tenant in one round trip and says whether the key works; keeps the cache in step.</summary>
internal sealed class ApiKeyVerifier(IConnectionMultiplexer redis, ApiKeyCache cache)
{
    public const string InvalidKey = "The API key is not valid.";

    public const string InactiveTenant = "The tenant is not active.";

    /// <summary>
    /// The key and tenant when the key exists, <paramref name="secretMatches"/> and the tenant is active; else why not.
    /// <paramref name="presentedSecret"/>, when the check was of a presented secret, is remembered with the key.
    /// </summary>
    public async Task<(ApiKey? Key, Tenant? Tenant, string? Failure)> VerifyAsync(
        Guid tenantId, Guid keyId, Func<ApiKey, bool> secretMatches, ReadOnlyMemory<char> presentedSecret = default)
    {
        var batch = redis.GetDatabase().CreateBatch();
        var keyRead = batch.HashGetAllAsync(RedisKeys.ApiKey(tenantId, keyId));
        var tenantRead = batch.HashGetAllAsync(RedisKeys.Tenant(tenantId));
        batch.Execute();
        await tenantRead; // the last reply first: one continuation for both (see AccessValidator)
        var key = ApiKey.FromHash(await keyRead);
        if (key is null || !secretMatches(key))
        {
            cache.Remove(keyId);
            return (null, null, InvalidKey);
        }

        var tenant = Tenant.FromHash(await tenantRead);
        if (tenant is null || tenant.Status != TenantStatus.Active)
        {
            cache.Remove(keyId);
            return (null, null, InactiveTenant);
        }

        cache.Set(key, tenant, presentedSecret.Span);
        return (key, tenant, null);
    }
}
