using System.Collections.Concurrent;
using System.Diagnostics;
using OpenTelemetry;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// A processor in an instance's OpenTelemetry tracing pipeline that keeps the spans the pipeline ends (what its
/// exporter would send) for the traces a test watches, and nothing else. The pipeline's listener is process-wide,
/// so a watched trace also shows the spans of the other hosts in the test process that belong to it.
/// </summary>
public sealed class CapturedSpans : BaseProcessor<Activity>
{
    private readonly ConcurrentDictionary<ActivityTraceId, ConcurrentQueue<Activity>> _traces = new();

    /// <summary>Starts keeping the spans of <paramref name="traceId"/>; the collection fills as they end.</summary>
    public IReadOnlyCollection<Activity> Watch(ActivityTraceId traceId) => _traces.GetOrAdd(traceId, _ => new());

    public override void OnEnd(Activity data)
    {
        if (_traces.TryGetValue(data.TraceId, out var spans))
        {
            spans.Enqueue(data);
        }
    }
}
