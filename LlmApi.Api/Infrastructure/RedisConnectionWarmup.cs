using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Creates the Redis connection before the server accepts requests. The client integration creates it on first use
/// with a synchronous connect; on a cold replica hit by a burst, every request thread then blocks on that connect,
/// which needs thread-pool threads itself, and the process stalls until the connect times out. With
/// AbortOnConnectFail off this returns at once even when Redis is down, and the connection keeps retrying.
/// </summary>
internal sealed class RedisConnectionWarmup(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        services.GetRequiredService<IConnectionMultiplexer>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
