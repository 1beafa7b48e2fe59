using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Net;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace LlmApi.Api.Llm.Upstreams;

/// <summary>How an upstream stands in rotation.</summary>
internal enum UpstreamState
{
    /// <summary>In rotation.</summary>
    Healthy,

    /// <summary>Out of rotation after failed calls, until its break ends or a probe succeeds.</summary>
    Ejected,

    /// <summary>Out of rotation after failed probes, until a probe succeeds.</summary>
    Down,
}

/// <summary>
/// One model server and its live state: calls in flight, the models it serves, and its health. Passive health is a
/// Polly circuit breaker over its calls (repeated failures open it for <see cref="UpstreamHealthOptions.BreakDuration"/>);
/// active health is the probe of <see cref="UpstreamHealthMonitor"/>, which isolates the breaker while the server
/// does not answer and closes it again as soon as it does.
/// </summary>
internal sealed class Upstream
{
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly ConcurrentDictionary<string, Uri> _addresses = new(StringComparer.Ordinal);
    private readonly CircuitBreakerManualControl _control = new();
    private FrozenDictionary<string, string> _discovered = FrozenDictionary<string, string>.Empty;
    private int _inFlight;
    private int _failedProbes;
    private long _ejectedUntil;

    /// <summary>
    /// The address of <paramref name="path"/> (one of the few the gateway calls) under the upstream's base address,
    /// made once per path rather than parsed into a new <see cref="Uri"/> on every call.
    /// </summary>
    public Uri Address(string path) => _addresses.GetOrAdd(path, static (p, baseUri) => new Uri(baseUri, p), Definition.BaseUri);

    public Upstream(UpstreamDefinition definition, LlmOptions options, ILogger logger)
    {
        Definition = definition;
        var health = options.Health;
        Pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = health.FailureRatio,
                MinimumThroughput = health.MinimumThroughput,
                SamplingDuration = health.SamplingDuration,
                BreakDuration = health.BreakDuration,
                ShouldHandle = args => ValueTask.FromResult(IsFailure(args.Outcome)),
                StateProvider = _circuit,
                ManualControl = _control,
                OnOpened = args =>
                {
                    // The breaker lets a trial call through once its break is over; until then nobody picks this one.
                    Volatile.Write(ref _ejectedUntil, Environment.TickCount64 + (long)args.BreakDuration.TotalMilliseconds);
                    UpstreamLog.Ejected(logger, Name);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    UpstreamLog.Readmitted(logger, Name);
                    return ValueTask.CompletedTask;
                },
            })
            // Inside the breaker, so that an upstream that keeps timing out is ejected like one that fails.
            .AddTimeout(options.AttemptTimeout)
            .Build();
    }

    public UpstreamDefinition Definition { get; }

    public string Name => Definition.Name;

    public LlmProvider Provider => Definition.Provider;

    /// <summary>Its calls: a breaker (passive health) around a timeout to the first byte.</summary>
    public ResiliencePipeline<HttpResponseMessage> Pipeline { get; }

    public int InFlight => Volatile.Read(ref _inFlight);

    public UpstreamState State => _circuit.CircuitState switch
    {
        CircuitState.Isolated => UpstreamState.Down,
        CircuitState.Open when Environment.TickCount64 < Volatile.Read(ref _ejectedUntil) => UpstreamState.Ejected,
        _ => UpstreamState.Healthy,
    };

    public DateTimeOffset? LastProbe { get; private set; }

    /// <summary>Names of the models it serves: configured, or as its model list last said, by the names clients may use.</summary>
    public IEnumerable<string> Models => Definition.Models.Count > 0 ? Definition.Models : _discovered.Values.Distinct(StringComparer.Ordinal);

    /// <summary>The upstream's own description of each model it listed (Ollama tag or OpenAI model object).</summary>
    public IReadOnlyDictionary<string, System.Text.Json.Nodes.JsonObject> ModelDetails { get; private set; } =
        FrozenDictionary<string, System.Text.Json.Nodes.JsonObject>.Empty;

    /// <summary>The name this upstream knows <paramref name="model"/> by, or null when it does not serve it.</summary>
    public string? ServedName(string model)
    {
        if (Definition.Models.Count > 0)
        {
            return Definition.Models.Contains(model, StringComparer.Ordinal) ? model
                : Provider == LlmProvider.Ollama ? Definition.Models.FirstOrDefault(m => ModelNames.AreSame(m, model))
                : null;
        }

        return _discovered.GetValueOrDefault(model);
    }

    /// <summary>Takes a slot for one call; false (and nothing taken) when it is at its concurrency cap.</summary>
    public bool TryEnter()
    {
        var now = Interlocked.Increment(ref _inFlight);
        if (Definition.MaxConcurrency is { } cap && now > cap)
        {
            Interlocked.Decrement(ref _inFlight);
            return false;
        }

        return true;
    }

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>True when it may take a call now: in rotation and below its concurrency cap.</summary>
    public bool IsAvailable => State == UpstreamState.Healthy && (Definition.MaxConcurrency is not { } cap || InFlight < cap);

    /// <summary>Records a successful probe: the models it lists now, and back into rotation if it was out.</summary>
    public async Task ProbeSucceededAsync(IReadOnlyDictionary<string, System.Text.Json.Nodes.JsonObject> models, DateTimeOffset now)
    {
        LastProbe = now;
        _failedProbes = 0;
        ModelDetails = models.ToFrozenDictionary(StringComparer.Ordinal);
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in models.Keys)
        {
            names[name] = name;
            // Ollama answers "llama3" for "llama3:latest", and so do clients; the untagged name routes here too.
            if (Provider == LlmProvider.Ollama && ModelNames.Untagged(name) is { } untagged)
            {
                names.TryAdd(untagged, name);
            }
        }

        _discovered = names.ToFrozenDictionary(StringComparer.Ordinal);
        // Back into rotation if probes had taken it out, or if failed calls had and their break is over; not
        // before: a server can list its models while every call to it fails.
        if (State == UpstreamState.Down || (_circuit.CircuitState == CircuitState.Open && State == UpstreamState.Healthy))
        {
            await _control.CloseAsync();
        }
    }

    /// <summary>Records a failed probe; enough of them in a row take the upstream out until a probe succeeds.</summary>
    public async Task ProbeFailedAsync(int failuresToEject, DateTimeOffset now)
    {
        LastProbe = now;
        if (++_failedProbes >= failuresToEject && _circuit.CircuitState is not CircuitState.Isolated)
        {
            await _control.IsolateAsync();
        }
    }

    /// <summary>What counts against an upstream: no connection, no answer in time, a server error, or "too busy".</summary>
    public static bool IsFailure(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException or TimeoutRejectedException or IOException } => true,
        { Result: { } response } => (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests,
        _ => false,
    };
}

internal static partial class UpstreamLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Model upstream {Upstream} is out of rotation after failed calls")]
    public static partial void Ejected(ILogger logger, string upstream);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model upstream {Upstream} is back in rotation")]
    public static partial void Readmitted(ILogger logger, string upstream);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model upstream {Upstream} failed its health probe: {Reason}")]
    public static partial void ProbeFailed(ILogger logger, string upstream, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Attempt at model upstream {Upstream} failed with status {Status}")]
    public static partial void AttemptFailed(ILogger logger, string upstream, int status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Attempt at model upstream {Upstream} failed")]
    public static partial void AttemptFailed(ILogger logger, string upstream, Exception exception);
}
