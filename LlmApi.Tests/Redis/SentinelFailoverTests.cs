using System.Collections.Concurrent;
using System.Diagnostics;
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

    /// <summary>
    /// Four writers register tenants without pause; after 2 s, <paramref name="disrupt"/> runs. Writing goes on until
    /// registrations are acknowledged again, then every acknowledged tenant must sign in.
    /// </summary>
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
        using var client = api.CreateClient();

        var acknowledged = new ConcurrentBag<string>();
        var statuses = new ConcurrentDictionary<HttpStatusCode, int>();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var errorTimes = new ConcurrentBag<double>();
        string? firstError = null;
        var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var domain = ApiCalls.UniqueDomain("fo");
                using var response = await client.PostAsJsonAsync("/api/auth/register", new
                {
                    tenantName = "Failover", domain, username = "admin", email = $"admin@{domain}", password = ApiCalls.Password,
                });
                statuses.AddOrUpdate(response.StatusCode, 1, (_, n) => n + 1);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    acknowledged.Add(domain);
                }
                else
                {
                    errorTimes.Add(clock.Elapsed.TotalSeconds);
                    firstError ??= $"{(int)response.StatusCode} Retry-After: {response.Headers.RetryAfter} {await response.Content.ReadAsStringAsync()}";
                }
            }
        })).ToList();

        await Task.Delay(TimeSpan.FromSeconds(2));
        var before = acknowledged.Count;
        var disruptedAt = clock.Elapsed.TotalSeconds;
        await disrupt();
        var afterDisruption = acknowledged.Count;
        // Keep writing until registrations are acknowledged again, which shows the API followed the new primary.
        await Eventually.MatchAsync(() => Task.FromResult(acknowledged.Count), n => n > afterDisruption + 2, TimeSpan.FromSeconds(30),
            "writes acknowledged after the failover");
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        var lost = new List<string>();
        foreach (var domain in acknowledged)
        {
            // Signing in writes a session, so it too waits out the end of the failover; only a 401 means the tenant is gone.
            var status = await Eventually.MatchAsync(async () => (await client.LoginAsync($"admin@{domain}", ApiCalls.Password, domain)).StatusCode,
                s => s != HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20), "the data store to take writes again");
            if (status != HttpStatusCode.OK)
            {
                lost.Add($"{domain}: {(int)status}");
            }
        }

        output.WriteLine($"registrations acknowledged: {acknowledged.Count} ({before} before the disruption)");
        output.WriteLine("statuses: " + string.Join(", ", statuses.Select(s => $"{(int)s.Key} x{s.Value}")));
        output.WriteLine(errorTimes.IsEmpty ? "no errors" : $"errors from {errorTimes.Min() - disruptedAt:0.00} s to {errorTimes.Max() - disruptedAt:0.00} s after the disruption began");
        output.WriteLine($"acknowledged but lost: {lost.Count}");
        // Every kind of exception the handler logged, once each with its count: the cause of any 500 is among them.
        foreach (var kind in api.Logs.Lines.Where(l => l.Contains("ProblemExceptionHandler", StringComparison.Ordinal))
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"[A-Za-z.]+Exception: [^\n]{0,160}").Value)
            .Select(m => System.Text.RegularExpressions.Regex.Replace(m, "script: [0-9a-f]+", "script: ..."))
            .GroupBy(m => m).OrderByDescending(g => g.Count()))
        {
            output.WriteLine($"logged x{kind.Count()}: {kind.Key}");
        }

        output.WriteLine("first error: " + firstError);
        if (statuses.Keys.Any(s => (int)s >= 500 && s != HttpStatusCode.ServiceUnavailable))
        {
            // A 500 is a defect to find: each kind of logged exception once, whole, with its stack.
            foreach (var line in api.Logs.Lines.Where(l => l.Contains("ProblemExceptionHandler", StringComparison.Ordinal))
                .DistinctBy(l => System.Text.RegularExpressions.Regex.Match(l, @"[A-Za-z.]+Exception: [^\n]{0,60}").Value))
            {
                output.WriteLine(line);
            }
        }

        Assert.Empty(lost);
        Assert.DoesNotContain(statuses.Keys, s => (int)s >= 500 && s != HttpStatusCode.ServiceUnavailable);
        Assert.True(acknowledged.Count > afterDisruption, "registrations succeed again after the failover");
    }
}
