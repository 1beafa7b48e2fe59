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

    /// <summary>Adds the Redis that the API uses, in the topology and mode <see cref="CacheModeResolver"/> chose.</summary>
    public static CacheResources AddCache(this IDistributedApplicationBuilder builder, string name, CacheSetup setup)
    {
        if (setup.Topology == CacheTopology.Sentinel)
        {
            return builder.AddSentinelCache(name, setup.RedisServerPath);
        }

        IResourceBuilder<IResourceWithConnectionString> single = setup.Mode switch
        {
            CacheMode.Container => builder.AddRedis(name)
                .WithDataVolume()
                .WithRedisConfiguration(ServerSettings),
            CacheMode.Executable => builder.AddRedisServer(name, setup.RedisServerPath!, DataDirectory(builder, name))
                .WithRedisConfiguration(ServerSettings),
            CacheMode.External => builder.AddConnectionString(name),
            _ => throw new ArgumentOutOfRangeException(nameof(setup), setup.Mode, "Resolve the mode before adding the cache."),
        };

        // The AppHost waits for the Redis it runs; an external one is the operator's to start.
        return new CacheResources(single, setup.Mode == CacheMode.External ? [] : [single.Resource], WaitForReplicas: null);
    }

    /// <summary>References the cache, waits for what the AppHost runs of it, and asks for the replication it offers.</summary>
    public static IResourceBuilder<T> WithCache<T>(this IResourceBuilder<T> builder, CacheResources cache)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        builder.WithReference(cache.Connection);
        foreach (var member in cache.Members)
        {
            builder.WithReferenceRelationship(member);
            if (!builder.ApplicationBuilder.ExecutionContext.IsPublishMode)
            {
                builder.WaitFor(builder.ApplicationBuilder.CreateResourceBuilder(member));
            }
        }

        // Sentinel: a write is acknowledged once every replica has it, so no failover loses it (docs/redis.md).
        return cache.WaitForReplicas is { } replicas
            ? builder.WithEnvironment("Redis__WaitForReplicas", replicas.ToString(CultureInfo.InvariantCulture))
            : builder;
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
    internal static string DataDirectory(IDistributedApplicationBuilder builder, string name) =>
        builder.Configuration["Cache:DataDirectory"] is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "LlmApi", name);
}

/// <summary>
/// The cache as the API sees it: the connection string, the resources the AppHost runs for it (waited for, and the
/// only pods allowed to be reached by it in Kubernetes), and how many replicas must confirm a write, if any.
/// </summary>
internal sealed record CacheResources(IResourceBuilder<IResourceWithConnectionString> Connection, IReadOnlyList<IResource> Members, int? WaitForReplicas);
