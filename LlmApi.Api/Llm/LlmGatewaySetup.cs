using LlmApi.Api.ApiKeys;
using LlmApi.Api.Usage;

namespace LlmApi.Api.Llm;

internal static class LlmGatewaySetup
{
    public static void AddLlmGateway(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<LlmOptions>()
            .BindConfiguration(LlmOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // A malformed connection string stops the process at start with a message naming it; a missing one leaves
        // the API running, with the model routes answering 503.
        builder.Services.AddSingleton(new ConfiguredUpstream(
            LlmUpstream.FromConnectionString(builder.Configuration.GetConnectionString(LlmOptions.ConnectionName))));
        // No retries and no client timeout here: a chat request is not idempotent, streams last as long as they
        // last, and the gateway applies Llm:Timeout itself so it can tell a timeout (504) from a client leaving.
        builder.Services.AddHttpClient<UpstreamClient>(http => http.Timeout = Timeout.InfiniteTimeSpan);

        builder.Services.AddSingleton<GatewayTelemetry>();
        builder.Services.AddSingleton<UsageLimiter>();
        builder.Services.AddSingleton<UsageStore>();
        builder.Services.AddSingleton<ApiKeyStore>();
        builder.Services.AddScoped<ChatGateway>();
        builder.Services.AddScoped<ModelCatalog>();
    }
}
