using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Redis in <c>/health</c>: Degraded, not Unhealthy, when it does not answer. Readiness decides whether a replica gets
/// traffic, and Redis being away is the same for every replica: failing readiness would empty the Service at once,
/// and clients would get connection errors from the ingress instead of the API's own answer (503 with
/// <c>Retry-After</c>, which it gives on every route that needs Redis). The check still shows the state, by name.
/// </summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public const string Name = "StackExchange.Redis";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await redis.GetDatabase().PingAsync();
            return HealthCheckResult.Healthy();
        }
        // A store that does not answer in time is as away as one that refuses the connection; an exception escaping here
        // would be reported as a failure, and fail readiness on every replica at once.
        catch (Exception e) when (RedisFailure.Is(e))
        {
            return HealthCheckResult.Degraded("Redis does not answer; routes that need it answer 503 with Retry-After.", e);
        }
    }
}
