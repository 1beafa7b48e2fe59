using System.ComponentModel.DataAnnotations;

namespace LlmApi.Api.Llm;

public enum LlmProvider
{
    /// <summary>Ollama's native API (<c>/api/chat</c>, <c>/api/generate</c>, <c>/api/embed</c>, <c>/api/tags</c>).</summary>
    Ollama,

    /// <summary>Any server speaking the OpenAI wire format (<c>chat/completions</c>, <c>embeddings</c>, <c>models</c>).</summary>
    OpenAI,
}

/// <summary>
/// Settings of the <c>Llm</c> section: the model servers (<c>Llm:Upstreams:&lt;name&gt;</c>, or the connection string
/// <c>llm</c> as a single upstream), public aliases and fallbacks of model names, timeouts, and health policy.
/// </summary>
internal sealed class LlmOptions
{
    public const string Section = "Llm";
    public const string ConnectionName = "llm";

    /// <summary>The whole of one call, every attempt included; past it the caller gets 504.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>
    /// How long one upstream may take to start answering (response headers) before the call moves on to the next
    /// upstream. A non-streaming answer's headers come with the whole answer, so this bounds generation time too.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Upstreams tried for one call at most (the first included), fallback model apart.</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Completion tokens reserved (and asked of the upstream) when a request names no maximum.</summary>
    [Range(1, 1_000_000)]
    public int DefaultMaxTokens { get; set; } = 1024;

    /// <summary>Upper bound of a request's maximum completion tokens.</summary>
    [Range(1, 10_000_000)]
    public int MaxTokensLimit { get; set; } = 32_768;

    /// <summary>The model servers, by name (<c>Llm:Upstreams:gpu1:Endpoint</c>, ...).</summary>
    public Dictionary<string, UpstreamOptions> Upstreams { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Public model names that route to served ones: <c>Llm:Aliases:gpt-4o-mini=llama3:latest</c>, or a list
    /// (<c>Llm:Aliases:gpt-4o-mini:0</c>, <c>:1</c>) when several served models may answer for it.
    /// </summary>
    public Dictionary<string, string[]> Aliases { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The model to try when every upstream of a model has failed: <c>Llm:Fallbacks:llama3:70b=llama3:8b</c>.</summary>
    public Dictionary<string, string> Fallbacks { get; set; } = new(StringComparer.Ordinal);

    public UpstreamHealthOptions Health { get; set; } = new();
}

/// <summary>One model server: <c>Llm:Upstreams:&lt;name&gt;</c>.</summary>
internal sealed class UpstreamOptions
{
    /// <summary>
    /// Ollama: <c>http://host:11434</c>. OpenAI format: the base URL as OpenAI SDKs take it, <c>/v1</c> included
    /// (<c>https://api.openai.com/v1</c>, <c>http://vllm:8000/v1</c>); a bare host gets <c>/v1</c> added.
    /// </summary>
    public string? Endpoint { get; set; }

    public LlmProvider Provider { get; set; } = LlmProvider.Ollama;

    /// <summary>Sent as <c>Authorization: Bearer</c>; never logged or shown.</summary>
    public string? Key { get; set; }

    /// <summary>The models it serves; when empty, its own model list, refreshed by the health probe.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Share of the load relative to other upstreams of the same model.</summary>
    public double Weight { get; set; } = 1;

    /// <summary>Calls in flight at most; further calls go elsewhere, or wait for a 503 when none is free.</summary>
    public int? MaxConcurrency { get; set; }
}

/// <summary>Passive and active health of upstreams (<c>Llm:Health</c>).</summary>
internal sealed class UpstreamHealthOptions
{
    /// <summary>Share of failed calls within <see cref="SamplingDuration"/> that takes an upstream out of rotation.</summary>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Calls within the sampling window before the failure ratio counts.</summary>
    [Range(2, 1000)]
    public int MinimumThroughput { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an ejected upstream stays out before one trial call may go to it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often every upstream's model list is read: it readmits ejected upstreams and refreshes models.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Consecutive failed probes that take an upstream out of rotation until a probe succeeds.</summary>
    [Range(1, 100)]
    public int ProbeFailuresToEject { get; set; } = 1;
}
