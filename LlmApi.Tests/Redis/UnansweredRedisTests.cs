using LlmApi.Api.Audit;
using LlmApi.Api.Infrastructure;
using LlmApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmApi.Tests.Redis;

/// <summary>
/// A Redis that is up but does not answer in time (held with <c>CLIENT PAUSE</c>, as a server stalled by a slow command,
/// a fork or a full disk would be): the client gives up with a timeout, not a refused connection. What carries on after
/// a Redis failure must carry on after this one too.
/// </summary>
public sealed class UnansweredRedisTests : IAsyncLifetime
{
    private RedisServer _redis = null!;
    private ConnectionMultiplexer _connection = null!;

    public async Task InitializeAsync()
    {
        _redis = await RedisServer.StartAsync();
        var options = ConfigurationOptions.Parse(_redis.ConnectionString);
        options.AsyncTimeout = 200;
        options.SyncTimeout = 200;
        _connection = await ConnectionMultiplexer.ConnectAsync(options);
    }

    public async Task DisposeAsync()
    {
        await _connection.DisposeAsync();
        await _redis.DisposeAsync();
    }

    // Longer than the client waits: it checks its timeouts about once a second.
    private async Task PauseAsync() => await _redis.Database.ExecuteAsync("CLIENT", "PAUSE", 3000, "ALL");

    [Fact]
    public async Task The_health_check_reports_a_Redis_that_does_not_answer_as_degraded_not_failed()
    {
        var check = new RedisHealthCheck(_connection);
        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);

        await PauseAsync();
        var result = await check.CheckHealthAsync(new HealthCheckContext());

        // Failing readiness would take every replica out of the Service at once (see RedisHealthCheck).
        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.IsType<RedisTimeoutException>(result.Exception);
    }

    [Fact]
    public async Task An_audit_event_Redis_does_not_take_in_time_is_logged_not_turned_into_an_error()
    {
        var logs = new CapturedLogs();
        using var loggers = LoggerFactory.Create(logging => logging.AddProvider(logs));
        var audit = new AuditLog(_connection, Options.Create(new AuditOptions()), TimeProvider.System, loggers.CreateLogger<AuditLog>());
        var tenantId = Guid.CreateVersion7();

        await PauseAsync();
        // The action it describes has already taken effect: the event is best effort.
        await audit.RecordAsync(tenantId, AuditActions.TenantSettingsChanged, AuditActor.User(Guid.CreateVersion7()), new DefaultHttpContext());

        var line = Assert.Single(logs.Lines);
        Assert.StartsWith("Error ", line, StringComparison.Ordinal);
        Assert.Contains($"Audit event {AuditActions.TenantSettingsChanged} of tenant {tenantId} was not recorded", line, StringComparison.Ordinal);
        Assert.Contains(nameof(RedisTimeoutException), line, StringComparison.Ordinal);
    }
}
