using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every service of the solution shares: telemetry, health checks and the endpoints
/// that orchestrators (Aspire, Kubernetes, Prometheus) call.
/// </summary>
public static class ServiceDefaultsExtensions
{
    public const string HealthEndpointPath = "/health";
    public const string AlivenessEndpointPath = "/alive";
    public const string MetricsEndpointPath = "/metrics";

    /// <summary>Tag of the checks that only say the process is running (used by <c>/alive</c>).</summary>
    public const string LiveTag = "live";

    /// <summary>Names of the meters the services publish besides the framework's own.</summary>
    public const string ApplicationMeterPrefix = "LlmApi.";

    /// <summary>Set to true to keep <see cref="DetailInstruments"/> as well.</summary>
    public const string DetailedMetricsSetting = "Metrics:Detailed";

    /// <summary>
    /// The framework's instruments that are updated on every request or upstream call and say little that the kept
    /// ones do not; recorded only when <see cref="DetailedMetricsSetting"/> is true. A dropped instrument is never
    /// enabled, so it costs nothing; these cost about 3% of a model call's CPU (docs/benchmarks.md, issue 11,
    /// seventeenth pass). Kept: request and upstream durations and active requests, Kestrel's connections, the runtime,
    /// rate limiting and the application's own meters.
    /// </summary>
    public static readonly IReadOnlyList<string> DetailInstruments =
    [
        // Each route and its outcome are on http.server.request.duration already (http.route, status code).
        "aspnetcore.routing.match_attempts",
        // .NET 10's: two records per API-key call (the bearer scheme forwards to the key's); refusals show as 401 and
        // 403 by route on http.server.request.duration.
        "aspnetcore.authentication.authenticate.duration",
        "aspnetcore.authorization.attempts",
        // Kestrel's buffer pool, counted per rent; the process's memory and the collector's metrics stay.
        "aspnetcore.memory_pool.*",
        // Four updates per upstream call (a connection turning active and then idle); requests to each upstream and
        // their durations are on http.client.request.duration and http.client.active_requests.
        "http.client.open_connections",
    ];

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureLogging();
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        return builder;
    }

    /// <summary>
    /// JSON console logs outside Development so that log collectors get the scopes
    /// (tenant, user, trace) as fields; readable single-line text in Development.
    /// </summary>
    private static void ConfigureLogging<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.ClearProviders();
        if (builder.Environment.IsDevelopment())
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.IncludeScopes = true;
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        }
        else
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
    }

    private static void ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var detailed = builder.Configuration.GetValue<bool>(DetailedMetricsSetting);
        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                if (!detailed)
                {
                    foreach (var instrument in DetailInstruments)
                    {
                        metrics.AddView(instrument, MetricStreamConfiguration.Drop);
                    }
                }

                metrics
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddMeter(ApplicationMeterPrefix + "*")
                    .AddPrometheusExporter();
            })
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(ApplicationMeterPrefix + "*")
                // Probes and scrapes arrive every few seconds from every orchestrator; tracing them buries real traffic.
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsInfrastructurePath(context.Request.Path))
                .AddHttpClientInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }
    }

    private static void AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
    }

    private static bool IsInfrastructurePath(PathString path) =>
        path.StartsWithSegments(HealthEndpointPath) ||
        path.StartsWithSegments(AlivenessEndpointPath) ||
        path.StartsWithSegments(MetricsEndpointPath);

    /// <summary>
    /// Maps <c>/health</c> (readiness: every check, Redis included), <c>/alive</c> (liveness: the process only)
    /// and <c>/metrics</c> (Prometheus) in every environment: Kubernetes probes and scrapers need them in production.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = WriteHealthReportAsync });
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(LiveTag),
            ResponseWriter = WriteHealthReportAsync,
        });
        // /metrics names tenants and their usage: with Metrics:ScrapeKey set (every deployment), only a scraper that
        // presents it as a bearer token reads it; others get 401 and learn nothing.
        var scrapeKey = app.Configuration["Metrics:ScrapeKey"];
        app.MapPrometheusScrapingEndpoint(MetricsEndpointPath, meterProvider: null, configureBranchedPipeline: pipeline => pipeline.Use(async (context, next) =>
        {
            if (!string.IsNullOrEmpty(scrapeKey) && !PresentsKey(context, scrapeKey))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                return;
            }

            await next(context);
        }), optionsName: null);

        return app;
    }

    private static bool PresentsKey(HttpContext context, string key)
    {
        var header = context.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : string.Empty;
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(presented), System.Text.Encoding.UTF8.GetBytes(key));
    }

    private static readonly JsonSerializerOptions HealthJsonOptions = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Writes <c>{status, checks:{name:{status, description, durationMs}}}</c> so that a 503 names the failing check.
    /// Exception details are left out: they can carry connection strings.
    /// </summary>
    private static Task WriteHealthReportAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var body = new
        {
            status = report.Status.ToString(),
            totalDurationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 1),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new
                {
                    status = e.Value.Status.ToString(),
                    description = e.Value.Description ?? e.Value.Exception?.GetType().Name,
                    durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
                    data = e.Value.Data.Count == 0 ? null : e.Value.Data,
                }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, HealthJsonOptions), context.RequestAborted);
    }
}
