using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LlmApi.Api.Llm.Pipeline;

/// <summary>
/// Traces and metrics of model calls after the OpenTelemetry GenAI semantic conventions, with the bucket boundaries
/// they advise (seconds for durations, powers of four for tokens) and the tenant as a dimension. The model dimension
/// only ever holds names the gateway routes: unknown names are refused before anything is recorded. Prompts and
/// completions are never recorded, only their token counts.
/// </summary>
internal sealed class GatewayTelemetry
{
    public const string Name = "LlmApi.Gateway";

    public static readonly ActivitySource Source = new(Name);

    private static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] FirstTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
    // Admission is one Redis round trip: a tenth of a millisecond on a quiet node, tens of milliseconds when Redis queues.
    private static readonly double[] AdmissionBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];
    private static readonly long[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    public GatewayTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        TokenUsage = meter.CreateHistogram("gen_ai.client.token.usage", "{token}", "Tokens used per model call, by type (input, output).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        Duration = meter.CreateHistogram("gen_ai.client.operation.duration", "s", "Duration of model calls, streams included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        TimeToFirstToken = meter.CreateHistogram("gen_ai.server.time_to_first_token", "s", "Time from request to the first streamed token.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBuckets });
        Admission = meter.CreateHistogram("llmapi.gateway.admission.duration", "s",
            "Time the limits took to admit or refuse a model call (one Redis round trip), by result: admitted, limit, key.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = AdmissionBuckets });
    }

    public Histogram<long> TokenUsage { get; }

    public Histogram<double> Duration { get; }

    public Histogram<double> TimeToFirstToken { get; }

    public Histogram<double> Admission { get; }
}
