using LlmApi.Api.ApiKeys;
using LlmApi.Api.Llm.Pipeline;
using LlmApi.Api.Llm.Routing;
using LlmApi.Api.Llm.Surfaces;
using LlmApi.Api.Llm.Upstreams;
using LlmApi.Api.Usage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Llm;

internal static class LlmGatewaySetup
{
    public static void AddLlmGateway(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<LlmOptions>()
            .BindConfiguration(LlmOptions.Section)
            // An alias may name one served model (a value) or several (a list); the binder only reads lists.
            .Configure<IConfiguration>((options, configuration) => options.Aliases = ReadAliases(configuration.GetSection($"{LlmOptions.Section}:Aliases")))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<LlmOptions>, LlmOptionsValidator>();

        // Only the client's handlers are used (UpstreamHttp sends through them without an HttpClient), so no retries and
        // no client timeout: a call is not idempotent, streams last as long as they last, and the gateway's pipeline
        // decides timeouts and retries per upstream (UpstreamCaller). No redirects: a model server that answers 3xx is
        // misconfigured, and following it would send the prompt and the upstream's key elsewhere. No per-request log
        // lines from the factory (two handlers and two log scopes per call, measured at 2-4% of a call's CPU): the
        // pipeline logs what matters, and the call is traced.
        builder.Services.AddHttpClient(UpstreamHttp.ClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
            .RemoveAllLoggers();
        builder.Services.AddSingleton<UpstreamHttp>();
        builder.Services.AddSingleton<UpstreamPool>();
        builder.Services.AddSingleton<UpstreamHealthMonitor>();
        builder.Services.AddHostedService(services => services.GetRequiredService<UpstreamHealthMonitor>());
        builder.Services.AddSingleton<ModelRouter>();
        builder.Services.AddSingleton<UpstreamCaller>();
        builder.Services.AddHealthChecks().AddCheck<UpstreamHealthCheck>(UpstreamHealthCheck.Name);

        // Before AddProblemDetails registers the default writer: the first writer that accepts a problem writes it.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, OpenAiErrorWriter>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, OllamaErrorWriter>());

        builder.Services.AddSingleton<GatewayTelemetry>();
        builder.Services.AddSingleton<UsageLimiter>();
        builder.Services.AddSingleton<UsageStore>();
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddSingleton<ApiKeyCache>();
        builder.Services.AddSingleton<ApiKeyVerifier>();
        builder.Services.AddSingleton<ModelGateway>(); // holds no per-call state: each call has its own Exchange
    }

    public static IEndpointRouteBuilder MapLlmGateway(this IEndpointRouteBuilder app)
    {
        app.MapLlmApi();
        app.MapOpenAiApi();
        app.MapOllamaApi();
        return app;
    }

    private static Dictionary<string, string[]> ReadAliases(IConfigurationSection section) =>
        section.GetChildren().ToDictionary(
            alias => alias.Key,
            alias => alias.Value is { } single ? [single] : alias.GetChildren().Select(c => c.Value ?? string.Empty).ToArray(),
            StringComparer.Ordinal);
}
