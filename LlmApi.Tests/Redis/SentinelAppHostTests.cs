extern alias AppHost;

using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using LlmApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApi.Tests.Redis;

/// <summary><c>dotnet run --project LlmApi.AppHost -- Cache:Topology=sentinel</c>: six Redis processes, and an API that uses them.</summary>
public sealed class SentinelAppHostTests
{
    [Fact]
    public async Task The_apphost_runs_the_sentinel_topology_as_executables_and_the_api_works_through_it()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("llmapi-apphost-sentinel-").FullName;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<AppHost::Projects.LlmApi_AppHost>(
                ["Cache:Topology=sentinel", $"Cache:DataDirectory={dataDirectory}", $"Cache:Sentinel:FirstPort={FreePortRun(6)}", "Api:Replicas=1"],
                timeout.Token);
            var logs = ResourceLogs.Capture(builder);
            await using var app = await builder.BuildAsync(timeout.Token);
            await app.StartAsync(timeout.Token);
            await app.ResourceNotifications.WaitForResourceHealthyAsync("api", timeout.Token);

            var model = app.Services.GetRequiredService<DistributedApplicationModel>();
            Assert.Equal(
                ["cache-redis-0", "cache-redis-1", "cache-redis-2", "cache-sentinel-0", "cache-sentinel-1", "cache-sentinel-2"],
                model.Resources.OfType<ExecutableResource>().Select(r => r.Name).Where(n => n.StartsWith("cache", StringComparison.Ordinal)).Order(StringComparer.Ordinal));

            using var client = logs.CreateClient(app, "api");
            var domain = ApiCalls.UniqueDomain("sentinel");
            using var registered = await client.PostAsJsonAsync("/api/auth/register", new
            {
                tenantName = "Sentinel", domain, username = "admin", email = $"admin@{domain}", password = ApiCalls.Password,
            });
            Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
            using var login = await client.LoginAsync($"admin@{domain}", ApiCalls.Password, domain);
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    /// <summary>The first of <paramref name="count"/> consecutive free loopback ports.</summary>
    private static int FreePortRun(int count)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var first = Random.Shared.Next(20000, 30000);
            if (Enumerable.Range(first, count).All(RedisServer.IsTcpPortFree))
            {
                return first;
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free ports found.");
    }
}
