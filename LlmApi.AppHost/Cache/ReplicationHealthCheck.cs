using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace LlmApi.AppHost.Cache;

/// <summary>
/// A data node of the Sentinel topology is healthy when it serves its role: a primary that answers, or a replica whose
/// link to the primary is up (it has the data). A replica still copying the primary answers PING, but the API, which
/// waits for every node, would find its first writes unconfirmed (<c>Redis:WaitForReplicas</c>) and answer 503.
/// </summary>
internal sealed class ReplicationHealthCheck(Func<string> connectionString) : IHealthCheck, IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConnectionMultiplexer? _connection;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var connection = await ConnectAsync();
            var server = connection.GetServers().Single();
            var info = (await server.InfoAsync("replication")).SelectMany(group => group).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            return info.GetValueOrDefault("role") switch
            {
                "master" => HealthCheckResult.Healthy("primary"),
                "slave" when info.GetValueOrDefault("master_link_status") == "up" => HealthCheckResult.Healthy("replica, in sync"),
                "slave" => HealthCheckResult.Unhealthy("replica, copying the primary"),
                var role => HealthCheckResult.Unhealthy($"role {role}"),
            };
        }
        catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_connection is null)
            {
                var options = ConfigurationOptions.Parse(connectionString());
                // One node as it is, whatever its role: no following of the primary, and no failure until it answers.
                options.AbortOnConnectFail = false;
                options.AllowAdmin = true;
                _connection = await ConnectionMultiplexer.ConnectAsync(options);
            }

            return _connection;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _connection?.Dispose();
        _gate.Dispose();
    }
}
