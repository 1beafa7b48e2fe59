using LlmApi.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LlmApi.Tests.Redis;

/// <summary>
/// The API on a real Redis Cluster while the primary that holds the tenant index, which every registration writes, is
/// replaced by its replica: in a planned failover and when it is killed. Writes are refused with 503 only while the
/// replica takes over and the API learns of it, and no answer is a 500; a planned failover loses no acknowledged write.
/// </summary>
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_planned_failover_under_steady_registrations_is_followed_within_seconds_and_loses_nothing()
    {
        await using var redis = await RedisCluster.StartAsync();
        await redis.WaitForReplicasInSyncAsync();
        var (primary, replica) = await redis.NodesServingAsync("tenants");
        await using var api = StartApi(redis);

        // StackExchange.Redis learns that a cluster node changed role from its periodic check of each node, which the
        // API runs every 5 s: with the client's default of 60 s, writes to the old primary's slots were refused for
        // about a minute after a failover (docs/redis.md). 20 s leaves room for a loaded machine.
        await RegistrationsUnderDisruption.RunAsync(api, () => redis.FailoverAsync(replica), TimeSpan.FromSeconds(20), output);

        Assert.Equal((replica, primary), await redis.NodesServingAsync("tenants"));
    }

    [Fact]
    public async Task A_killed_primary_is_replaced_and_followed_within_seconds_without_a_500()
    {
        await using var redis = await RedisCluster.StartAsync();
        await redis.WaitForReplicasInSyncAsync();
        var (primary, replica) = await redis.NodesServingAsync("tenants");
        await using var api = StartApi(redis);

        // The replica takes over after the 5 s node timeout and an election; the API then learns of it as above. A
        // cluster's writes are not confirmed by replicas (Redis:WaitForReplicas is 0), so the last acknowledged before
        // the kill may be lost: reported, not failed.
        await RegistrationsUnderDisruption.RunAsync(api, async () =>
        {
            await redis.KillAsync(primary);
            await redis.WaitForPrimaryAsync(replica);
        }, TimeSpan.FromSeconds(20), output, lossPossible: true);
    }

    private static ApiFactory StartApi(RedisCluster redis)
    {
        var api = new ApiFactory(new Dictionary<string, string?>
        {
            ["ConnectionStrings:cache"] = redis.ConnectionString,
            ["Jwt:SigningKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48)),
            ["Throttling:RegistrationsPerHour"] = "1000000",
        });
        api.StartServer();
        return api;
    }
}
