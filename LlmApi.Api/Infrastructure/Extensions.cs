using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

internal static class Extensions
{
    /// <summary>The connection name of Redis, as the AppHost names the resource.</summary>
    public const string CacheConnectionName = "cache";

    public static void AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();

        builder.AddRedisClient(CacheConnectionName, configureOptions: options =>
        {
            // Keep retrying in the background instead of failing the process when Redis starts after the API.
            options.AbortOnConnectFail = false;
            // While Redis is unreachable, fail commands at once (503) rather than queueing them until the sync
            // timeout: a caller gets a quick answer, and /health turns 503 within a second.
            options.BacklogPolicy = BacklogPolicy.FailFast;
        });
    }
}
