using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LlmApi.Api.Llm;

/// <summary>
/// Traces and metrics of model calls, named after the OpenTelemetry GenAI semantic conventions, with the tenant as a
/// dimension. Prompts and completions are never recorded, only their token counts.
/// </summary>
internal sealed class GatewayTelemetry
{
    public const string Name = "LlmApi.Gateway";

    public static readonly ActivitySource Source = new(Name);

    public GatewayTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        TokenUsage = meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens used per model call, by type (input, output).");
        Duration = meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "Duration of model calls, streams included.");
        TimeToFirstToken = meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time from request to the first streamed token.");
    }

    public Histogram<long> TokenUsage { get; }

    public Histogram<double> Duration { get; }

    public Histogram<double> TimeToFirstToken { get; }

    public static TagList Tags(LlmProvider provider, string model, Guid tenantId) => new()
    {
        { "gen_ai.operation.name", "chat" },
        { "gen_ai.provider.name", provider == LlmProvider.Ollama ? "ollama" : "openai" },
        { "gen_ai.request.model", model },
        { "tenant.id", tenantId.ToString("D") },
    };
}
