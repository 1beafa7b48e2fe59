using LlmApi.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LlmApi.Tests.Redis;

/// <summary>
/// The API on the Sentinel topology as the AppHost ships it (<see cref="RedisSentinelGroup"/> runs the generated start
/// scripts and settings), through a planned failover and through a killed primary: no acknowledged write is lost,
/// and no answer is a 500.
/// </summary>
public sealed class SentinelFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_planned_failover_under_steady_registrations_loses_no_acknowledged_tenant()
    {
        await using var redis = await RedisSentinelGroup.StartAsync();
        var firstPrimary = await redis.PrimaryPortAsync();

        await RunUnderRegistrationsAsync(redis, async () =>
        {
            await redis.FailoverAsync();
            await RedisSentinelGroup.WaitUntilAsync(async () => await redis.PrimaryPortAsync() != firstPrimary, "a new primary");
        });
    }

    [Fact]
    public async Task A_killed_primary_is_replaced_rejoins_as_a_replica_and_no_acknowledged_tenant_is_lost()
    {
        await using var redis = await RedisSentinelGroup.StartAsync();
        var firstPrimary = await redis.PrimaryPortAsync();
        var killed = -1;

        await RunUnderRegistrationsAsync(redis, async () =>
        {
            killed = await redis.KillPrimaryAsync();
            // The shipped timings: down after 5 s without an answer, then the sentinels elect and promote a replica.
            await Eventually.MatchAsync(redis.PrimaryPortAsync, p => p != firstPrimary, TimeSpan.FromSeconds(40), "a new primary");
            // The killed node comes back (as its pod would be restarted) and, asking the sentinels, joins as a replica;
            // until then the new primary has one replica of two, so writes wait for it (Redis:WaitForReplicas=2).
            redis.StartDataNode(killed);
            await redis.WaitInSyncAsync(redis.DataPorts[killed]);
        });

        var rejoined = await redis.ReplicationAsync(redis.DataPorts[killed]);
        Assert.Contains("role:slave", rejoined, StringComparison.Ordinal);
        Assert.Contains($"master_port:{await redis.PrimaryPortAsync()}", rejoined, StringComparison.Ordinal);
    }

    /// <summary>The API as the AppHost configures it for the Sentinel topology, under <see cref="RegistrationsUnderDisruption"/>.</summary>
    private async Task RunUnderRegistrationsAsync(RedisSentinelGroup redis, Func<Task> disrupt)
    {
        await using var api = new ApiFactory(new Dictionary<string, string?>
        {
            ["ConnectionStrings:cache"] = redis.ConnectionString,
            ["Jwt:SigningKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48)),
            ["Throttling:RegistrationsPerHour"] = "1000000",
            // What the AppHost sets for the Sentinel topology: every replica confirms a write before it is acknowledged.
            ["Redis:WaitForReplicas"] = Environment.GetEnvironmentVariable("WAIT_REPLICAS") ?? "2",
        });
        api.StartServer();
        await RegistrationsUnderDisruption.RunAsync(api, disrupt, TimeSpan.FromSeconds(30), output);
    }
}
