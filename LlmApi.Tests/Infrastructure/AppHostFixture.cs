extern alias AppHost;

using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// The real AppHost, started once for its collection with Redis as an executable (no container runtime needed)
/// and its data in a temporary folder, a test model server as its one upstream, and a known operator key; waited on
/// until every API and console replica reports healthy.
/// </summary>
public sealed class AppHostFixture : IAsyncLifetime
{
    public const int ExpectedApiReplicas = 3;
    public const int ExpectedConsoleReplicas = 2;

    private string _redisDirectory = null!;

    public DistributedApplication App { get; private set; } = null!;

    public TimeSpan StartToHealthy { get; private set; }

    /// <summary>What the API and console replicas wrote last (their console output, forwarded by Aspire).</summary>
    public ResourceLogs Logs { get; private set; } = null!;

    /// <summary>A client of the API through the AppHost's endpoint; a 500 fails the test with the API's log lines.</summary>
    public HttpClient CreateApiClient() => Logs.CreateClient(App, "api");

    /// <summary>Where a browser reaches the console (the AppHost's proxy in front of its replicas).</summary>
    public Uri ConsoleUrl => App.GetEndpoint("console", "http");

    /// <summary>The model server the API calls: answers every chat at once (FakeUpstream).</summary>
    public FakeUpstream Upstream { get; private set; } = null!;

    public string OperatorKey { get; } = "operator-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));

    /// <summary>The key a Prometheus scraper of this AppHost's API presents.</summary>
    public string MetricsScrapeKey { get; } = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

    public async Task InitializeAsync()
    {
        _redisDirectory = Directory.CreateTempSubdirectory("llmapi-apphost-redis-").FullName;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var started = System.Diagnostics.Stopwatch.StartNew();

        Upstream = await FakeUpstream.StartAsync();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<AppHost::Projects.LlmApi_AppHost>(
        [
            "Cache:Mode=executable", $"Cache:DataDirectory={_redisDirectory}", $"Parameters:metrics-scrape-key={MetricsScrapeKey}",
            $"Parameters:operator-key={OperatorKey}", $"Llm:Upstreams:local:Endpoint={Upstream.Url}",
        ], timeout.Token);
        Logs = ResourceLogs.Capture(builder);
        App = await builder.BuildAsync(timeout.Token);
        await App.StartAsync(timeout.Token);
        await Task.WhenAll(
            WaitForHealthyReplicasAsync("api", ExpectedApiReplicas, timeout.Token),
            WaitForHealthyReplicasAsync("console", ExpectedConsoleReplicas, timeout.Token));
        StartToHealthy = started.Elapsed;
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        await Upstream.DisposeAsync();
        Directory.Delete(_redisDirectory, recursive: true);
    }

    /// <summary>Waits until <paramref name="count"/> distinct replicas of a resource are healthy at once.</summary>
    public async Task WaitForHealthyReplicasAsync(string resourceName, int count, CancellationToken cancellationToken)
    {
        var healthy = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var change in App.ResourceNotifications.WatchAsync(cancellationToken))
        {
            if (change.Resource.Name != resourceName)
            {
                continue;
            }

            if (change.Snapshot.HealthStatus == HealthStatus.Healthy && change.Snapshot.State?.Text == KnownResourceStates.Running)
            {
                healthy.Add(change.ResourceId);
            }
            else
            {
                healthy.Remove(change.ResourceId);
            }

            if (healthy.Count >= count)
            {
                return;
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class SharedAppHost : ICollectionFixture<AppHostFixture>
{
    public const string Name = "AppHost";
}
