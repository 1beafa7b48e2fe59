using System.Text.Json.Serialization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmApi.Api.Llm.Upstreams;

/// <summary>One upstream as health reports show it: never its endpoint or key.</summary>
internal sealed record UpstreamStatus(
    string Name, LlmProvider Provider, [property: JsonConverter(typeof(JsonStringEnumConverter<UpstreamState>))] UpstreamState State,
    int InFlight, int? MaxConcurrency, int Models, DateTimeOffset? LastProbe)
{
    public static UpstreamStatus Of(Upstream upstream) => new(upstream.Name, upstream.Provider, upstream.State, upstream.InFlight,
        upstream.Definition.MaxConcurrency, upstream.Models.Count(), upstream.LastProbe);
}

/// <summary>
/// The upstreams in <c>/health</c>: Degraded, never Unhealthy, when some or all are out of rotation. Readiness decides
/// whether a replica gets traffic; a replica cannot mend a model server, and the API's other routes (sign-in, users,
/// keys) still work, so model servers being down must not take every replica out of its Service.
/// </summary>
internal sealed class UpstreamHealthCheck(UpstreamPool pool) : IHealthCheck
{
    public const string Name = "llm-upstreams";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!pool.IsConfigured)
        {
            return Task.FromResult(HealthCheckResult.Healthy("No model upstream is configured."));
        }

        var data = pool.All.ToDictionary(u => u.Name, u => (object)$"{u.State.ToString().ToLowerInvariant()}, {u.InFlight} in flight");
        var healthy = pool.All.Count(u => u.State == UpstreamState.Healthy);
        var description = $"{healthy} of {pool.All.Count} model upstreams in rotation.";
        return Task.FromResult(healthy == pool.All.Count
            ? HealthCheckResult.Healthy(description, data)
            : HealthCheckResult.Degraded(description, data: data));
    }
}
