using Microsoft.Extensions.Options;

namespace LlmApi.Api.Llm.Upstreams;

/// <summary>
/// Active health: reads every upstream's model list every <see cref="UpstreamHealthOptions.ProbeInterval"/>. A probe
/// that succeeds brings an upstream back into rotation and refreshes the models it serves; probes that keep failing
/// take it out. A model name nobody serves triggers an early refresh (at most one every few seconds), so a model
/// pulled on a server is routable without waiting for the next round.
/// </summary>
internal sealed class UpstreamHealthMonitor(
    UpstreamPool pool, UpstreamHttp http, IOptions<LlmOptions> options, TimeProvider clock, ILogger<UpstreamHealthMonitor> logger)
    : BackgroundService
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan EarlyRefreshSpacing = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _round = new(1, 1);
    private long _lastRound; // a timestamp; 0 (machine start) until the first round

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!pool.IsConfigured)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.Health.ProbeInterval, clock);
        do
        {
            await ProbeAllAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Probes now unless a round ran within the last few seconds; for model names nobody is known to serve.</summary>
    public async Task RefreshSoonAsync(CancellationToken cancellationToken)
    {
        if (clock.GetElapsedTime(Interlocked.Read(ref _lastRound)) >= EarlyRefreshSpacing)
        {
            await ProbeAllAsync(cancellationToken);
        }
    }

    private async Task ProbeAllAsync(CancellationToken cancellationToken)
    {
        await _round.WaitAsync(cancellationToken);
        try
        {
            if (clock.GetElapsedTime(Interlocked.Read(ref _lastRound)) < TimeSpan.FromSeconds(1))
            {
                return; // a round that waited behind another has nothing new to learn
            }

            await Task.WhenAll(pool.All.Select(u => ProbeAsync(u, cancellationToken)));
            Interlocked.Exchange(ref _lastRound, clock.GetTimestamp());
        }
        finally
        {
            _round.Release();
        }
    }

    private async Task ProbeAsync(Upstream upstream, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            var models = await http.ListModelsAsync(upstream, timeout.Token);
            await upstream.ProbeSucceededAsync(models, clock.GetUtcNow());
        }
        catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            UpstreamLog.ProbeFailed(logger, upstream.Name, e is OperationCanceledException ? "no answer within 5 s" : e.GetType().Name);
            await upstream.ProbeFailedAsync(options.Value.Health.ProbeFailuresToEject, clock.GetUtcNow());
        }
    }

    public override void Dispose()
    {
        _round.Dispose();
        base.Dispose();
    }
}
