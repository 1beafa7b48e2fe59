using System.Text.Json.Nodes;
using LlmApi.Api.Llm.Upstreams;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Llm.Routing;

/// <summary>The upstreams that can answer for a public model name.</summary>
internal sealed record ModelRoute(string Model, IReadOnlyList<RouteTarget> Targets);

/// <summary>A model name clients may use, with one upstream that serves it and that upstream's description of it.</summary>
internal sealed record PublicModel(string Name, Upstream Upstream, JsonObject? Details);

/// <summary>
/// Which upstreams answer for a model name: the upstreams that serve it, or, for an alias (<c>Llm:Aliases</c>), those
/// that serve one of its targets. A name nobody serves has no route: it is refused before any limit or metric sees it,
/// which also keeps client-chosen names out of metric labels.
/// </summary>
internal sealed class ModelRouter(UpstreamPool pool, UpstreamHealthMonitor monitor, IOptions<LlmOptions> options)
{
    public async ValueTask<ModelRoute?> ResolveAsync(string model, CancellationToken cancellationToken)
    {
        if (Resolve(model) is { } route)
        {
            return route;
        }

        await monitor.RefreshSoonAsync(cancellationToken);
        return Resolve(model);
    }

    public ModelRoute? Resolve(string model)
    {
        var served = options.Value.Aliases.TryGetValue(model, out var aliased) ? aliased : [model];
        var targets = new List<RouteTarget>();
        foreach (var upstream in pool.All)
        {
            if (served.Select(upstream.ServedName).FirstOrDefault(n => n is not null) is { } name)
            {
                targets.Add(new RouteTarget(upstream, name));
            }
        }

        return targets.Count == 0 ? null : new ModelRoute(model, targets);
    }

    /// <summary>The model to try when every upstream of <paramref name="model"/> failed (one level: fallbacks do not chain).</summary>
    public string? FallbackOf(string model) => options.Value.Fallbacks.GetValueOrDefault(model);

    /// <summary>Every routable name, served models and aliases, in order.</summary>
    public IReadOnlyList<PublicModel> List()
    {
        var models = new SortedDictionary<string, PublicModel>(StringComparer.Ordinal);
        foreach (var upstream in pool.All)
        {
            foreach (var name in upstream.Models)
            {
                models.TryAdd(name, new PublicModel(name, upstream, upstream.ModelDetails.GetValueOrDefault(name)));
            }
        }

        foreach (var alias in options.Value.Aliases.Keys)
        {
            if (Resolve(alias) is { Targets: [var first, ..] })
            {
                models.TryAdd(alias, new PublicModel(alias, first.Upstream, first.Upstream.ModelDetails.GetValueOrDefault(first.ServedModel)));
            }
        }

        return [.. models.Values];
    }
}
