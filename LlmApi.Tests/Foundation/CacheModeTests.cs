using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Foundation;

public sealed class CacheModeTests
{
    [Fact]
    public async Task Without_a_container_runtime_or_redis_server_the_apphost_stops_at_once_naming_both_remedies()
    {
        // A PATH with neither docker nor redis-server on it.
        var emptyPath = Directory.CreateTempSubdirectory("llmapi-empty-path-").FullName;
        try
        {
            var (exitCode, output, elapsed) = await Repository.RunAppHostAsync(emptyPath, ["Cache:Mode=auto"]);

            Assert.Equal(1, exitCode);
            Assert.Contains("Install Docker", output, StringComparison.Ordinal);
            Assert.Contains("redis-server", output, StringComparison.Ordinal);
            Assert.True(elapsed < TimeSpan.FromSeconds(60), $"took {elapsed}");
        }
        finally
        {
            Directory.Delete(emptyPath);
        }
    }

    [Fact]
    public async Task An_unknown_cache_mode_is_refused_by_name()
    {
        var (exitCode, output, _) = await Repository.RunAppHostAsync(null, ["Cache:Mode=memcached"]);

        Assert.Equal(1, exitCode);
        Assert.Contains("Cache:Mode", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Cache:Topology=cluster", "Cache:Topology is 'cluster'")]
    [InlineData("Cache:Topology=sentinel Cache:Mode=container", "Cache:Topology=sentinel runs redis-server processes")]
    public async Task A_topology_the_apphost_cannot_run_is_refused_by_name(string settings, string message)
    {
        var (exitCode, output, _) = await Repository.RunAppHostAsync(null, settings.Split(' '));

        Assert.Equal(1, exitCode);
        Assert.Contains(message, output, StringComparison.Ordinal);
    }
}
