using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// The last lines each AppHost resource wrote, all replicas of a resource together. Aspire forwards every resource's
/// output to the host's logging under the category "{AppHost}.Resources.{resource}"; this keeps the tail of it, so a
/// test that meets a server error through the AppHost can show what the server logged.
/// </summary>
public sealed partial class ResourceLogs : ILoggerProvider
{
    private const string Marker = ".Resources.";
    private const int Kept = 400;

    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _byResource = new(StringComparer.Ordinal);

    /// <summary>Keeps the resources' output of the AppHost that <paramref name="builder"/> builds.</summary>
    public static ResourceLogs Capture(IDistributedApplicationTestingBuilder builder)
    {
        var logs = new ResourceLogs();
        builder.Services.AddLogging(logging => logging.AddProvider(logs).AddFilter<ResourceLogs>(null, LogLevel.Information));
        return logs;
    }

    /// <summary>
    /// A client of <paramref name="resource"/>'s http endpoint through the AppHost; a 500 fails the test with the
    /// resource's last log lines.
    /// </summary>
    public HttpClient CreateClient(DistributedApplication app, string resource) =>
        new(new FailOnServerError($"The {resource} replicas' last log lines", async cancellationToken =>
        {
            // The replica's lines reach the host through the orchestrator's log stream, a moment after the answer.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            return Last(resource, 80);
        }) { InnerHandler = new SocketsHttpHandler() })
        { BaseAddress = app.GetEndpoint(resource, "http") };

    public ILogger CreateLogger(string categoryName)
    {
        var at = categoryName.LastIndexOf(Marker, StringComparison.Ordinal);
        return at < 0 ? NullLogger.Instance : new Logger(_byResource.GetOrAdd(categoryName[(at + Marker.Length)..], _ => new()));
    }

    /// <summary>The resource's last <paramref name="count"/> lines, oldest first.</summary>
    public IReadOnlyList<string> Last(string resource, int count) =>
        _byResource.TryGetValue(resource, out var lines) ? [.. lines.TakeLast(count)] : [];

    public void Dispose()
    {
    }

    // The development console logger colours its level names; the escapes only clutter a failure message.
    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex Colours();

    private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lines.Enqueue(Colours().Replace(formatter(state, exception), ""));
            while (lines.Count > Kept && lines.TryDequeue(out _))
            {
            }
        }
    }
}

/// <summary>
/// Fails the test on a 500 from the API, with what the server logged up to it (<paramref name="logged"/>, named by
/// <paramref name="what"/>) in the message. This API never answers 500 on purpose (problem+json with the status that
/// fits, or 503 while Redis is away), and the exception behind one is written only to the server's log: through the
/// AppHost the replicas' output (<see cref="ResourceLogs"/>), in the test process the instance's captured log
/// (<see cref="ServiceFactory{TEntryPoint}.CreateCheckedClient"/>).
/// </summary>
internal sealed class FailOnServerError(string what, Func<CancellationToken, Task<IEnumerable<string>>> logged) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.InternalServerError)
        {
            Assert.Fail($"{request.Method} {request.RequestUri} answered 500. {what}:"
                + Environment.NewLine + string.Join(Environment.NewLine, await logged(cancellationToken)));
        }

        return response;
    }
}
