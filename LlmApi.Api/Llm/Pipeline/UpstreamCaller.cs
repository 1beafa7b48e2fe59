using System.Net;
using LlmApi.Api.Llm.Upstreams;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace LlmApi.Api.Llm.Pipeline;

/// <summary>How the attempts at a call ended.</summary>
internal enum AttemptResult
{
    /// <summary>An upstream answered 2xx; its slot is held until the call ends.</summary>
    Answered,

    /// <summary>An upstream refused the request itself (4xx other than 429): the caller's to fix, not retried.</summary>
    Refused,

    /// <summary>Every attempt failed: connection, timeout, 5xx or 429.</summary>
    Failed,

    /// <summary>No upstream could take the call at all: all out of rotation or at their concurrency cap.</summary>
    NoneAvailable,
}

internal sealed record UpstreamOutcome(AttemptResult Result, PlannedTarget? Target, HttpResponseMessage? Response, string? Failure, TimeSpan? RetryAfter)
{
    public bool TimedOut => Failure == "timeout";
}

/// <summary>
/// Sends a call to the least loaded of its candidate upstreams and, when that one fails before answering (refused
/// connection, 5xx, 429, no response headers within <see cref="LlmOptions.AttemptTimeout"/>), to the next, up to
/// <see cref="LlmOptions.MaxAttempts"/>. The retries are Polly's retry strategy; each attempt runs inside the chosen
/// upstream's own pipeline (circuit breaker and timeout), so failures also count towards taking it out of rotation.
/// Nothing is retried once an upstream has answered: a stream that has begun is never repeated.
/// </summary>
internal sealed class UpstreamCaller
{
    private readonly UpstreamHttp _http;
    private readonly ILogger<UpstreamCaller> _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;

    public UpstreamCaller(UpstreamHttp http, IOptions<LlmOptions> options, ILogger<UpstreamCaller> logger)
    {
        _http = http;
        _logger = logger;
        var attempts = options.Value.MaxAttempts;
        _retry = attempts <= 1 ? ResiliencePipeline<HttpResponseMessage>.Empty : new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = attempts - 1,
                // The next attempt goes to another upstream: there is nothing to wait for.
                Delay = TimeSpan.Zero,
                ShouldHandle = args => ValueTask.FromResult(Upstream.IsFailure(args.Outcome) || args.Outcome.Exception is BrokenCircuitException),
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public async Task<UpstreamOutcome> CallAsync(IReadOnlyList<PlannedTarget> targets, CancellationToken cancellationToken)
    {
        var call = new Attempts(targets);
        try
        {
            // The retry strategy moves a failed call to another upstream. A route of one has none, and its call would end
            // as its one attempt did (see Attempts.Failure), so that attempt is made without a pass through the strategy.
            var response = targets.Count == 1
                ? await NextAttemptAsync(call, cancellationToken)
                : await _retry.ExecuteAsync(static (state, token) => state.Caller.NextAttemptAsync(state.Call, token), (Caller: this, Call: call), cancellationToken);

            if (response.IsSuccessStatusCode)
            {
                return new UpstreamOutcome(AttemptResult.Answered, call.Current, response, null, null);
            }

            if (!Upstream.IsFailure(Outcome.FromResult(response)))
            {
                return new UpstreamOutcome(AttemptResult.Refused, call.Current, response, null, null);
            }

            response.Dispose();
        }
        catch (NoUpstreamLeftException) when (call.Tried.Count == 0)
        {
            return new UpstreamOutcome(AttemptResult.NoneAvailable, null, null, "no_upstream_available", null);
        }
        catch (NoUpstreamLeftException)
        {
            // Every candidate was tried: the call ends as the last attempt did, recorded as it happened (a timeout stays
            // a timeout, 504, with one upstream as with many).
        }
        catch (Exception e) when (IsAttemptFailure(e))
        {
            (call.Failure, call.RetryAfter) = (FailureOf(e), null);
        }

        return new UpstreamOutcome(AttemptResult.Failed, call.Current, null, call.Failure ?? "upstreams_failed", call.RetryAfter);
    }

    /// <summary>
    /// One attempt at the least loaded candidate not yet tried (<see cref="NoUpstreamLeftException"/> when none is left),
    /// recording a failure in <paramref name="call"/> as it happens.
    /// </summary>
    private async ValueTask<HttpResponseMessage> NextAttemptAsync(Attempts call, CancellationToken cancellationToken)
    {
        var target = UpstreamPool.Pick(call.Targets, static t => t.Upstream, call.Tried) ?? throw new NoUpstreamLeftException();
        call.Current = target;
        call.Tried.Add(target.Upstream);
        HttpResponseMessage attempt;
        try
        {
            attempt = await AttemptAsync(target, cancellationToken);
        }
        catch (Exception e) when (IsAttemptFailure(e))
        {
            (call.Failure, call.RetryAfter) = (FailureOf(e), null);
            throw;
        }

        if (Upstream.IsFailure(Outcome.FromResult(attempt)))
        {
            call.Failure = ((int)attempt.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            call.RetryAfter = attempt.StatusCode == HttpStatusCode.TooManyRequests ? attempt.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1) : null;
        }

        return attempt;
    }

    /// <summary>An attempt that failed without an answer: not connected, broken off, timed out, or its circuit open.</summary>
    private static bool IsAttemptFailure(Exception e) => e is HttpRequestException or IOException or TimeoutRejectedException or BrokenCircuitException;

    private static string FailureOf(Exception e) => e is TimeoutRejectedException ? "timeout" : "upstream_unreachable";

    /// <summary>One attempt at one upstream; gives its slot back unless the upstream answered 2xx.</summary>
    private async ValueTask<HttpResponseMessage> AttemptAsync(PlannedTarget target, CancellationToken cancellationToken)
    {
        var upstream = target.Upstream;
        try
        {
            // The send's task is handed to the pipeline as it is, with its state: no closure or async wrapper per attempt.
            var response = await upstream.Pipeline.ExecuteAsync(
                static (state, token) => new ValueTask<HttpResponseMessage>(
                    state.Http.SendAsync(state.Target.Upstream, HttpMethod.Post, state.Target.Call.Path, state.Target.Call.Body, token)),
                (Http: _http, Target: target), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                upstream.Exit();
                if (Upstream.IsFailure(Outcome.FromResult(response)))
                {
                    UpstreamLog.AttemptFailed(_logger, upstream.Name, (int)response.StatusCode);
                }
            }

            return response;
        }
        catch (Exception e)
        {
            upstream.Exit();
            if (e is not OperationCanceledException)
            {
                UpstreamLog.AttemptFailed(_logger, upstream.Name, e);
            }

            throw;
        }
    }

    /// <summary>Every candidate has been tried or cannot take a call: the attempts end with what the last one said.</summary>
    private sealed class NoUpstreamLeftException : Exception;

    /// <summary>One call's attempts: its candidates, those tried, the one tried last, and how the last failure ended.</summary>
    private sealed class Attempts(IReadOnlyList<PlannedTarget> targets)
    {
        public IReadOnlyList<PlannedTarget> Targets { get; } = targets;

        public HashSet<Upstream> Tried { get; } = [];

        public PlannedTarget? Current { get; set; }

        /// <summary>The last failed attempt's reason (its status code, <c>timeout</c> or <c>upstream_unreachable</c>).</summary>
        public string? Failure { get; set; }

        public TimeSpan? RetryAfter { get; set; }
    }
}
