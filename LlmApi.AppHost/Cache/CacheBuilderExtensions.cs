using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApi.AppHost.Cache;

internal static class CacheBuilderExtensions
{
    /// <summary>
    /// Redis settings for every mode. <c>noeviction</c> deliberately deviates from the seed's <c>allkeys-lru</c>:
    /// this Redis is the system of record for tenants, users and token revocations, and evicting any of them under
    /// memory pressure would silently lose accounts or resurrect logged-out tokens. A full Redis refuses writes instead.
    /// </summary>
    public static readonly IReadOnlyList<KeyValuePair<string, string>> ServerSettings =
    [
        new("appendonly", "yes"),
        new("appendfsync", "everysec"),
        new("maxmemory", "512mb"),
        new("maxmemory-policy", "noeviction"),
    ];

    /// <summary>Adds the Redis that the API uses, in the mode <see cref="CacheModeResolver"/> chose.</summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddCache(
        this IDistributedApplicationBuilder builder, string name, CacheMode mode, string? redisServerPath)
    {
        return mode switch
        {
            CacheMode.Container => builder.AddRedis(name)
                .WithDataVolume()
                .WithRedisConfiguration(ServerSettings),
            CacheMode.Executable => builder.AddRedisServer(name, redisServerPath!, DataDirectory(builder, name))
                .WithRedisConfiguration(ServerSettings),
            CacheMode.External => builder.AddConnectionString(name),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Resolve the mode before adding the cache."),
        };
    }

    /// <summary>References the cache, and waits for it where the AppHost runs it.</summary>
    public static IResourceBuilder<T> WithCache<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResourceWithConnectionString> cache)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        builder.WithReference(cache);
        return cache.Resource is RedisResource or RedisServerResource ? builder.WaitFor(cache) : builder;
    }

    private static IResourceBuilder<T> WithRedisConfiguration<T>(this IResourceBuilder<T> builder, IReadOnlyList<KeyValuePair<string, string>> settings)
        where T : IResourceWithArgs
    {
        var annotation = new RedisConfigurationAnnotation(settings);
        return builder.WithAnnotation(annotation).WithArgs(context =>
        {
            // For a deployment, the Redis container starts as `sh -c "redis-server --requirepass $REDIS_PASSWORD"`
            // (so the password comes from the environment, not the manifest): the settings join that command line,
            // and the password is quoted, so that an empty one or one with spaces still reaches requirepass whole.
            if (context.ExecutionContext.IsPublishMode && context.Args is [.., string command] && command.StartsWith("redis-server", StringComparison.Ordinal))
            {
                context.Args[^1] = command.Replace("--requirepass $REDIS_PASSWORD", "--requirepass \"$REDIS_PASSWORD\"", StringComparison.Ordinal)
                    + " " + string.Join(' ', annotation.ToArguments());
                return;
            }

            foreach (var argument in annotation.ToArguments())
            {
                context.Args.Add(argument);
            }
        });
    }

    /// <summary>
    /// Runs <paramref name="redisServerPath"/> on loopback with a generated password. The password goes into a
    /// redis.conf readable only by the current user rather than onto the command line, where any local user could
    /// read it from the process list.
    /// </summary>
    private static IResourceBuilder<RedisServerResource> AddRedisServer(
        this IDistributedApplicationBuilder builder, string name, string redisServerPath, string dataDirectory)
    {
        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        var redis = new RedisServerResource(name, redisServerPath, dataDirectory, password);

        string? connectionString = null;
        builder.Eventing.Subscribe<ConnectionStringAvailableEvent>(redis, async (_, ct) =>
            connectionString = await ((IResourceWithConnectionString)redis).GetConnectionStringAsync(ct));

        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(redis, async (_, ct) =>
        {
            Directory.CreateDirectory(redis.DataDirectory);
            var conf = new StringBuilder()
                .AppendLine("# Written by the LlmApi AppHost at every start; edits are overwritten.")
                .AppendLine(CultureInfo.InvariantCulture, $"requirepass {await password.GetValueAsync(ct)}")
                .ToString();
            await File.WriteAllTextAsync(redis.ConfigurationFile, conf, ct);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(redis.ConfigurationFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        });

        var healthCheckKey = $"{name}_check";
        builder.Services.AddHealthChecks().AddRedis(
            _ => connectionString ?? throw new InvalidOperationException($"The connection string of '{name}' is not known yet."),
            name: healthCheckKey);

        return builder.AddResource(redis)
            .WithEndpoint(name: RedisServerResource.PrimaryEndpointName, scheme: "tcp")
            .WithArgs(context =>
            {
                context.Args.Add(redis.ConfigurationFile);
                context.Args.Add("--port");
                context.Args.Add(redis.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add("--bind");
                context.Args.Add("127.0.0.1");
                context.Args.Add("--dir");
                context.Args.Add(redis.DataDirectory);
            })
            .WithHealthCheck(healthCheckKey);
    }

    /// <summary><c>Cache:DataDirectory</c>, else a per-user folder outside the repository.</summary>
    private static string DataDirectory(IDistributedApplicationBuilder builder, string name) =>
        builder.Configuration["Cache:DataDirectory"] is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "LlmApi", name);
}
