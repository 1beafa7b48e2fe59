using System.Text.Json;
using System.Text.Json.Serialization;
using LlmApi.Api.Auth;
using LlmApi.Api.Llm;
using LlmApi.Api.Platform;
using LlmApi.Api.Tenants;
using LlmApi.Api.Users;
using Microsoft.AspNetCore.Http.Json;
using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

internal static class Extensions
{
    /// <summary>The connection name of Redis, as the AppHost names the resource.</summary>
    public const string CacheConnectionName = "cache";

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public const long MaxRequestBodyBytes = 64 * 1024;

    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddLlmGateway(); // first: its OpenAI error writer must precede the default problem+json writer
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ProblemDetailsConventions.Apply);
        builder.Services.AddSingleton<IProblemDetailsWriter, FallbackProblemWriter>(); // after the default writer: see the class
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        builder.Services.AddValidation();
        // Binding failures (malformed JSON, wrong content type) throw, so they reach the one exception handler and
        // leave as problem+json with a useful detail instead of an empty 400/415.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
            StrictJsonConverters.AddTo(o.SerializerOptions);
            // Typed bodies refuse a member named twice, as documents and model requests do (JsonInput): the serializer
            // would take the last silently, where another reader of the same body may take the first.
            o.SerializerOptions.AllowDuplicateProperties = false;
        });
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(o =>
        {
            o.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            o.AddServerHeader = false; // the server's name and version help only an attacker
        });
        builder.Services.AddSingleton(TimeProvider.System);

        // Its own health check instead of the integration's: see RedisHealthCheck for why it never fails readiness.
        builder.AddRedisClient(CacheConnectionName, settings => settings.DisableHealthChecks = true, configureOptions: options =>
        {
            // Replies complete on the .NET thread pool rather than on the client's own dedicated threads, which spin
            // and hand every continuation over to the pool anyway: 19% less CPU per gateway call (docs/benchmarks.md).
            options.SocketManager = SocketManager.ThreadPool;
            // Keep retrying in the background instead of failing the process when Redis starts after the API.
            options.AbortOnConnectFail = false;
            // While Redis is unreachable, fail commands at once (503) rather than queueing them until the sync
            // timeout: a caller gets a quick 503, and /health shows Redis degraded within a second.
            options.BacklogPolicy = BacklogPolicy.FailFast;
            // How often the client asks each node for its role (INFO replication). On Redis Cluster that is how it learns
            // of a failover: after one, it refused writes to the old primary's slots ("cannot be issued to a replica")
            // until its next check, for about a minute at the default of 60 s, where 5 s brings them back within
            // seconds (ClusterFailoverTests; StackExchange/StackExchange.Redis#3000). The cost: one INFO per node every 5 s.
            options.ConfigCheckSeconds = 5;
        });
        builder.Services.AddHostedService<RedisConnectionWarmup>();
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>(RedisHealthCheck.Name);
        builder.Services.AddOptions<ReplicationOptions>().BindConfiguration(ReplicationOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        builder.AddJwtAuthentication();
        builder.AddClientAddress();
        builder.Services.AddOptions<OperatorOptions>()
            .BindConfiguration(OperatorOptions.Section)
            .Validate(o => string.IsNullOrEmpty(o.Key) || o.Key.Length >= OperatorOptions.MinimumKeyLength,
                $"Operator:Key must be empty (operator routes off) or at least {OperatorOptions.MinimumKeyLength} characters.")
            .ValidateOnStart();

        builder.Services.AddOptions<Audit.AuditOptions>().BindConfiguration(Audit.AuditOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Audit.AuditLog>();
        builder.Services.AddSingleton<TenantStore>();
        builder.Services.AddSingleton<UserStore>();
        builder.Services.AddSingleton<SessionStore>();

        builder.AddOpenApiDocument();
    }
}
