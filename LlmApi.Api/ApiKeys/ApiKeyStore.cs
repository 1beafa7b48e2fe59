using LlmApi.Api.Infrastructure;
using StackExchange.Redis;

namespace LlmApi.Api.ApiKeys;

/// <summary>API keys of a tenant. Every query takes the tenant id: a key is found only within its own tenant.</summary>
internal sealed class ApiKeyStore(IConnectionMultiplexer redis)
{
    private IDatabase Db => redis.GetDatabase();

    public async Task CreateAsync(ApiKey key)
    {
        var tx = Db.CreateTransaction();
        _ = tx.HashSetAsync(RedisKeys.ApiKey(key.TenantId, key.KeyId), key.ToHashEntries());
        _ = tx.SortedSetAddAsync(RedisKeys.TenantApiKeys(key.TenantId), key.KeyId.ToString("D"), 0);
        await tx.ExecuteAsync();
    }

    public async Task<IReadOnlyList<ApiKey>> ListAsync(Guid tenantId)
    {
        var ids = await Db.SortedSetRangeByRankAsync(RedisKeys.TenantApiKeys(tenantId));
        var hashes = await RedisHashes.ReadAllAsync(Db, ids.Select(id => RedisKeys.ApiKey(tenantId, Guid.Parse(id.ToString()))));
        return hashes.Select(ApiKey.FromHash).OfType<ApiKey>().ToList();
    }

    /// <summary>Deletes a key and its index entry together; false when the tenant has no such key.</summary>
    public async Task<bool> DeleteAsync(Guid tenantId, Guid keyId)
    {
        var tx = Db.CreateTransaction();
        var deleted = tx.KeyDeleteAsync(RedisKeys.ApiKey(tenantId, keyId));
        _ = tx.SortedSetRemoveAsync(RedisKeys.TenantApiKeys(tenantId), keyId.ToString("D"));
        await tx.ExecuteAsync();
        return await deleted;
    }
}
