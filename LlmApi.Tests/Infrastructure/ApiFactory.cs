using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// One instance of a service of the solution in this process, served by Kestrel on a free loopback port (real HTTP),
/// configured only through settings, as an operator would configure it, in the given environment.
/// </summary>
public class ServiceFactory<TEntryPoint> : WebApplicationFactory<TEntryPoint> where TEntryPoint : class
{
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly string _environment;

    public ServiceFactory(IReadOnlyDictionary<string, string?> settings, string environment)
    {
        _settings = settings;
        _environment = environment;
        UseKestrel(0);
    }

    /// <summary>Every log line the instance wrote, with its scopes, for assertions about what must never be logged.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>The spans the instance's tracing pipeline ends, for the traces a test watches.</summary>
    public CapturedSpans Spans { get; } = new();

    /// <summary>A client of the instance over real HTTP that fails the test on a 500, naming the exception behind it.</summary>
    public HttpClient CreateCheckedClient() => CreateDefaultClient(new FailOnServerErrorInProcess(Logs));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_environment);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services =>
        {
            services.AddSingleton<ILoggerProvider>(Logs);
            services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddProcessor(Spans));
        });
    }
}

/// <summary>The API (environment Testing).</summary>
public sealed class ApiFactory(IReadOnlyDictionary<string, string?> settings) : ServiceFactory<Program>(settings, "Testing");

/// <summary>
/// Fails the test on a 500 from an instance in this process, with the instance's last error lines (the exception behind
/// the 500 among them) in the message. This API never answers 500 on purpose, and the exception is written only to its
/// log, which a failed assertion on the status alone does not show: a registration on the cluster fixture answered 500
/// once in a CI run (issue 11, thirty-fourth pass) and nothing was left to tell why. The AppHost's twin is
/// <see cref="FailOnServerError"/>.
/// </summary>
internal sealed class FailOnServerErrorInProcess(CapturedLogs logs) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.InternalServerError)
        {
            // The exception handler logs before it writes the answer, so the line is there when the answer arrives.
            var errors = logs.Lines.Where(line => line.StartsWith("Error ", StringComparison.Ordinal) || line.StartsWith("Critical ", StringComparison.Ordinal));
            Assert.Fail($"{request.Method} {request.RequestUri} answered 500. The instance's last error lines:"
                + Environment.NewLine + string.Join(Environment.NewLine, errors.TakeLast(3)));
        }

        return response;
    }
}
