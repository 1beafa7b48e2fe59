using Microsoft.Extensions.Options;

namespace LlmApi.Api.Llm.Upstreams;

/// <summary>An upstream that can answer for a model, with the name it knows the model by.</summary>
internal sealed record RouteTarget(Upstream Upstream, string ServedModel);

/// <summary>Every configured model server and its live state, one instance per process.</summary>
internal sealed class UpstreamPool
{
    public UpstreamPool(IOptions<LlmOptions> options, IConfiguration configuration, ILogger<UpstreamPool> logger)
    {
        var definitions = UpstreamDefinition.All(options.Value, configuration.GetConnectionString(LlmOptions.ConnectionName));
        All = definitions.Select(d => new Upstream(d, options.Value, logger)).ToList();
    }

    public IReadOnlyList<Upstream> All { get; }

    public bool IsConfigured => All.Count > 0;

    /// <summary>
    /// The target to call next: among those not tried yet and free to take a call, the one with the fewest calls in
    /// flight for its weight (ties broken at random, so equal upstreams share the load). Takes a slot on it, which
    /// the caller gives back with <see cref="Upstream.Exit"/>; null when no target is left.
    /// </summary>
    public static T? Pick<T>(IReadOnlyList<T> targets, Func<T, Upstream> upstreamOf, IReadOnlySet<Upstream> tried)
        where T : class
    {
        while (true)
        {
            T? best = null;
            var bestLoad = double.MaxValue;
            var ties = 0;
            foreach (var target in targets)
            {
                var upstream = upstreamOf(target);
                if (tried.Contains(upstream) || !upstream.IsAvailable)
                {
                    continue;
                }

                var load = (upstream.InFlight + 1) / upstream.Definition.Weight;
                if (load < bestLoad)
                {
                    (best, bestLoad, ties) = (target, load, 1);
                }
                else if (load == bestLoad && Random.Shared.Next(++ties) == 0)
                {
                    best = target;
                }
            }

            if (best is null)
            {
                return null;
            }

            // Another call may have taken the last slot since the look above: then look again.
            if (upstreamOf(best).TryEnter())
            {
                return best;
            }
        }
    }
}
