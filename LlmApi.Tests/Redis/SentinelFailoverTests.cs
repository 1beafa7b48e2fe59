using System.Collections.Concurrent;
using System.Diagnostics;
using LlmApi.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LlmApi.Tests.Redis;

/// <summary>The API on Redis Sentinel, through a failover: no acknowledged write is lost, and no answer is a 500.</summary>
public sealed class SentinelFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_planned_failover_under_steady_registrations_loses_no_acknowledged_tenant()
    {
        await using var redis = await RedisSentinelGroup.StartAsync();
        var firstPrimary = await redis.PrimaryPortAsync();
        await using var api = new ApiFactory(new Dictionary<string, string?>
        {
            ["ConnectionStrings:cache"] = redis.ConnectionString,
            ["Jwt:SigningKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48)),
            ["Throttling:RegistrationsPerHour"] = "1000000",
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
                    firstError ??= await response.Content.ReadAsStringAsync();
                }
            }
        })).ToList();

        await Task.Delay(TimeSpan.FromSeconds(2));
        var before = acknowledged.Count;
        var failoverAt = clock.Elapsed.TotalSeconds;
        await redis.FailoverAsync();
        await RedisSentinelGroup.WaitUntilAsync(async () => await redis.PrimaryPortAsync() != firstPrimary, "a new primary");
        var atSwitch = acknowledged.Count;
        // Keep writing until registrations are acknowledged on the new primary, which shows the API followed it.
        await Eventually.MatchAsync(() => Task.FromResult(acknowledged.Count), n => n > atSwitch + 2, TimeSpan.FromSeconds(30), "writes acknowledged after the failover");
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

        output.WriteLine($"registrations acknowledged: {acknowledged.Count} ({before} before the failover)");
        output.WriteLine("statuses: " + string.Join(", ", statuses.Select(s => $"{(int)s.Key} x{s.Value}")));
        output.WriteLine(errorTimes.IsEmpty ? "no errors" : $"errors from {errorTimes.Min() - failoverAt:0.00} s to {errorTimes.Max() - failoverAt:0.00} s after the failover began");
        output.WriteLine($"acknowledged but lost: {lost.Count}");
        // What the exception handler logged for anything but the expected 503s: the cause of any 500.
        foreach (var error in api.Logs.Lines.Where(l => l.Contains("ProblemExceptionHandler", StringComparison.Ordinal)
            && !l.Contains("ReplicationTimeoutException", StringComparison.Ordinal) && !l.Contains("RedisConnectionException", StringComparison.Ordinal)).Take(3))
        {
            output.WriteLine(error[..Math.Min(600, error.Length)]);
        }

        output.WriteLine("first error: " + firstError);
        Assert.Empty(lost);
        Assert.DoesNotContain(statuses.Keys, s => (int)s >= 500 && s != HttpStatusCode.ServiceUnavailable);
        Assert.True(acknowledged.Count > atSwitch, "registrations succeed again after the failover");
    }
}
