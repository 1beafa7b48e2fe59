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
        var tried = new HashSet<Upstream>();
        PlannedTarget? current = null;
        string? failure = null;
        TimeSpan? retryAfter = null;
        try
        {
            var response = await _retry.ExecuteAsync(async token =>
            {
                current = UpstreamPool.Pick(targets, t => t.Upstream, tried) ?? throw new NoUpstreamLeftException();
                tried.Add(current.Upstream);
                HttpResponseMessage attempt;
                try
                {
                    attempt = await AttemptAsync(current, token);
                }
                catch (Exception e) when (IsAttemptFailure(e))
                {
                    // Kept for when no upstream is left to try: the call then ends as its last attempt did.
                    (failure, retryAfter) = (FailureOf(e), null);
                    throw;
                }

                if (Upstream.IsFailure(Outcome.FromResult(attempt)))
                {
                    failure = ((int)attempt.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    retryAfter = attempt.StatusCode == HttpStatusCode.TooManyRequests ? attempt.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1) : null;
                }

                return attempt;
            }, cancellationToken);

            if (response.IsSuccessStatusCode)
            {
                return new UpstreamOutcome(AttemptResult.Answered, current, response, null, null);
            }

            if (!Upstream.IsFailure(Outcome.FromResult(response)))
            {
                return new UpstreamOutcome(AttemptResult.Refused, current, response, null, null);
            }

            response.Dispose();
        }
        catch (NoUpstreamLeftException) when (tried.Count == 0)
        {
            return new UpstreamOutcome(AttemptResult.NoneAvailable, null, null, "no_upstream_available", null);
        }
        catch (NoUpstreamLeftException)
        {
            // Every candidate was tried: the last attempt's failure (a timeout stays a timeout, 504, with one upstream as
            // with many) was recorded as it happened.
            failure ??= "upstreams_failed";
        }
        catch (Exception e) when (IsAttemptFailure(e))
        {
            (failure, retryAfter) = (FailureOf(e), null);
        }

        return new UpstreamOutcome(AttemptResult.Failed, current, null, failure, retryAfter);
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
}
