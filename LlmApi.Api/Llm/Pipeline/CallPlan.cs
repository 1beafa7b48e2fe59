using LlmApi.Api.Llm.Formats;
using LlmApi.Api.Llm.Routing;
using LlmApi.Api.Llm.Upstreams;

namespace LlmApi.Api.Llm.Pipeline;

/// <summary>An upstream that may take the call, with the request as that upstream must receive it.</summary>
internal sealed record PlannedTarget(Upstream Upstream, string ServedModel, UpstreamCall Call);

/// <summary>
/// A call's candidates for one model: each upstream of the route with the request translated for its format. An
/// upstream whose format cannot express the request is left out; when none is left, <see cref="Refusal"/> says why.
/// </summary>
internal sealed record CallPlan(string Model, IReadOnlyList<PlannedTarget> Targets, TranslationException? Refusal)
{
    public static CallPlan Create(ModelRequest request, ModelRoute route)
    {
        // Targets that share a provider and served model share one translation; a route of one target needs no table.
        var translated = route.Targets.Count > 1 ? new Dictionary<(LlmProvider, string), (UpstreamCall? Call, TranslationException? Error)>() : null;
        var targets = new List<PlannedTarget>(route.Targets.Count);
        TranslationException? refusal = null;
        foreach (var target in route.Targets)
        {
            var key = (target.Upstream.Provider, target.ServedModel);
            if (translated is null || !translated.TryGetValue(key, out var result))
            {
                try
                {
                    result = (Translation.ToUpstream(request, target.Upstream.Provider, target.ServedModel), null);
                }
                catch (TranslationException e)
                {
                    result = (null, e);
                }

                if (translated is not null)
                {
                    translated[key] = result;
                }
            }

            if (result.Call is { } call)
            {
                targets.Add(new PlannedTarget(target.Upstream, target.ServedModel, call));
            }

            refusal ??= result.Error;
        }

        return new CallPlan(route.Model, targets, targets.Count == 0 ? refusal : null);
    }
}
