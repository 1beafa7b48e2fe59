using System.Globalization;
using System.Reflection;
using LlmApi.AppHost.Kubernetes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmApi.AppHost.Cache;

/// <summary>
/// <c>Cache:Topology=sentinel</c>: a primary, two replicas and three sentinels (quorum 2). Every node starts through
/// the same two shell scripts (<c>Cache/Sentinel/</c>), which find the current primary by asking the sentinels:
/// locally the AppHost runs them as executables on loopback; the Kubernetes output ships them, with the shared
/// settings, in ConfigMaps mounted into two StatefulSets. The API connects through the sentinels.
/// </summary>
internal static class SentinelTopology
{
    public const string MasterName = "mymaster";
    public const int DataNodes = 3;
    public const int Sentinels = 3;
    public const int Quorum = 2;
    public const int RedisPort = 6379;
    public const int SentinelPort = 26379;

    /// <summary>Where the ConfigMap with the scripts and settings is mounted in the pods.</summary>
    private const string FilesMountPath = "/config";

    /// <summary>The image and tag that Aspire.Hosting.Redis 13.6 runs for the single topology, so both run one Redis.</summary>
    private const string ImageRegistry = "docker.io";
    private const string Image = "library/redis";
    private const string ImageTag = "8.6";

    /// <summary>The files every data node reads: its start script (and what it shares with the sentinels'), and redis.conf.</summary>
    public static IReadOnlyDictionary<string, string> DataNodeFiles => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["start-redis.sh"] = ShippedFile("start-redis.sh"),
        ["common.sh"] = ShippedFile("common.sh"),
        ["redis.conf"] = "# Settings every data node shares (LlmApi.AppHost, CacheBuilderExtensions.ServerSettings).\n"
            + string.Concat(CacheBuilderExtensions.ServerSettings.Select(s => $"{s.Key} {s.Value}\n")),
    };

    /// <summary>The files every sentinel reads: its start script (and what it shares with the nodes'), and the timings all sentinels share.</summary>
    public static IReadOnlyDictionary<string, string> SentinelFiles => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["start-sentinel.sh"] = ShippedFile("start-sentinel.sh"),
        ["common.sh"] = ShippedFile("common.sh"),
        ["sentinel.conf"] = ShippedFile("sentinel.conf"),
    };

    /// <summary>
    /// Adds the data nodes, the sentinels and <paramref name="name"/>, the connection string the API uses
    /// (the sentinels and the service name, which StackExchange.Redis follows through failovers).
    /// </summary>
    public static CacheResources AddSentinelCache(this IDistributedApplicationBuilder builder, string name, string? redisServerPath)
    {
        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        return builder.ExecutionContext.IsPublishMode
            ? AddForKubernetes(builder, name, password)
            : AddAsExecutables(builder, name, password, redisServerPath!);
    }

    private static CacheResources AddForKubernetes(IDistributedApplicationBuilder builder, string name, ParameterResource password)
    {
        var dataName = $"{name}-redis";
        var sentinelName = $"{name}-sentinel";
        // Pods of a StatefulSet behind a headless Service are reached as pod.service within the namespace.
        var dataHosts = Enumerable.Range(0, DataNodes).Select(i => $"{dataName}-{i}.{dataName}:{RedisPort}").ToList();
        var sentinelHosts = Enumerable.Range(0, Sentinels).Select(i => $"{sentinelName}-{i}.{sentinelName}:{SentinelPort}").ToList();

        var data = AddNodes(builder, dataName, DataNodes, "start-redis.sh", DataNodeFiles, RedisPort, dataHosts[0], sentinelHosts, password)
            .WithPersistentStorage("5Gi", "/data")
            .WithComputeResources(cpuRequest: "200m", memoryRequest: "256Mi", cpuLimit: "1000m", memoryLimit: "768Mi");
        var sentinels = AddNodes(builder, sentinelName, Sentinels, "start-sentinel.sh", SentinelFiles, SentinelPort, dataHosts[0], sentinelHosts, password)
            .WithPersistentStorage("100Mi", "/data")
            .WithComputeResources(cpuRequest: "100m", memoryRequest: "64Mi", cpuLimit: "500m", memoryLimit: "128Mi");

        // Replicas copy from the primary, sentinels watch the nodes and talk to each other, and a starting node asks the
        // sentinels for the primary: each may reach these (the NetworkPolicies admit nothing else but the API).
        data.WithReferenceRelationship(data.Resource).WithReferenceRelationship(sentinels.Resource);
        sentinels.WithReferenceRelationship(data.Resource).WithReferenceRelationship(sentinels.Resource);

        var connection = builder.AddConnectionString(name, ConnectionString(sentinelHosts, password));
        return new CacheResources(connection, [data.Resource, sentinels.Resource], DataNodes - 1);
    }

#pragma warning disable ASPIREPROBES001 // Probes are experimental; they are the only way a publisher can read probes back.
    private static IResourceBuilder<ContainerResource> AddNodes(IDistributedApplicationBuilder builder, string name, int replicas, string script,
        IReadOnlyDictionary<string, string> files, int port, string initialPrimary, IReadOnlyList<string> sentinelHosts, ParameterResource password)
    {
        // A replica loading the primary's data answers LOADING: alive, not yet ready.
        var alive = new[] { "sh", "-c", $"redis-cli -p {port} -a \"$REDIS_PASSWORD\" --no-auth-warning ping | grep -qE 'PONG|LOADING'" };
        var ready = new[] { "sh", "-c", $"redis-cli -p {port} -a \"$REDIS_PASSWORD\" --no-auth-warning ping | grep -q PONG" };
        return builder.AddContainer(name, Image, ImageTag)
            .WithImageRegistry(ImageRegistry)
            .WithEntrypoint("/bin/sh")
            .WithArgs($"{FilesMountPath}/{script}")
            .WithEndpoint(targetPort: port, port: port, scheme: "tcp", name: "tcp")
            .WithEnvironment("SERVICE_DOMAIN", name)
            .WithEnvironment("INITIAL_PRIMARY", initialPrimary)
            .WithEnvironment("SENTINELS", string.Join(' ', sentinelHosts))
            .WithEnvironment("MASTER_NAME", MasterName)
            .WithEnvironment("DATA_DIR", "/data")
            .WithEnvironment("CONF_DIR", FilesMountPath)
            .WithEnvironment(context => context.EnvironmentVariables["REDIS_PASSWORD"] = password)
            .WithAnnotation(new ReplicaAnnotation(replicas))
            .WithConfigFiles(FilesMountPath, files)
            .WithHeadlessService()
            .WithDisruptionBudget(minAvailable: 2)
            .WithTopologySpread()
            .WithHardenedSecurityContext(runAsUser: 999, "/tmp")
            .WithExecProbe(ProbeType.Liveness, alive, initialDelaySeconds: 30, periodSeconds: 10, failureThreshold: 3)
            .WithExecProbe(ProbeType.Readiness, ready, initialDelaySeconds: 5, periodSeconds: 5, failureThreshold: 3);
    }
#pragma warning restore ASPIREPROBES001

    /// <summary>
    /// Six processes on loopback at fixed ports (<c>Cache:Sentinel:FirstPort</c>, default 16380: data nodes first,
    /// then sentinels): the sentinels keep the primary's address in their state between runs, so it must not move.
    /// </summary>
    private static CacheResources AddAsExecutables(IDistributedApplicationBuilder builder, string name, ParameterResource password, string redisServerPath)
    {
        var firstPort = builder.Configuration.GetValue("Cache:Sentinel:FirstPort", 16380);
        var dataPorts = Enumerable.Range(firstPort, DataNodes).ToList();
        var sentinelPorts = Enumerable.Range(firstPort + DataNodes, Sentinels).ToList();
        var root = CacheBuilderExtensions.DataDirectory(builder, $"{name}-sentinel");
        var filesDirectory = Path.Combine(root, "files");
        var sentinels = string.Join(' ', sentinelPorts.Select(p => $"127.0.0.1:{p}"));
        var initialPrimary = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{dataPorts[0]}");

        builder.Eventing.Subscribe<BeforeStartEvent>(async (_, ct) =>
        {
            Directory.CreateDirectory(filesDirectory);
            foreach (var (file, content) in DataNodeFiles.Concat(SentinelFiles))
            {
                await File.WriteAllTextAsync(Path.Combine(filesDirectory, file), content, ct);
            }
        });

        var members = new List<IResource>();
        string? passwordValue = null;
        foreach (var (kind, ports, script) in new[] { ("redis", dataPorts, "start-redis.sh"), ("sentinel", sentinelPorts, "start-sentinel.sh") })
        {
            for (var i = 0; i < ports.Count; i++)
            {
                var port = ports[i];
                var nodeName = $"{name}-{kind}-{i}";
                var directory = Path.Combine(root, $"{kind}-{i}");
                var node = builder.AddExecutable(nodeName, "sh", root, Path.Combine(filesDirectory, script))
                    .WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: "tcp", isProxied: false)
                    .WithEnvironment(kind == "redis" ? "REDIS_PORT" : "SENTINEL_PORT", port.ToString(CultureInfo.InvariantCulture))
                    .WithEnvironment("BIND_ADDRESS", "127.0.0.1")
                    .WithEnvironment("ANNOUNCE_HOST", "127.0.0.1")
                    .WithEnvironment("INITIAL_PRIMARY", initialPrimary)
                    .WithEnvironment("SENTINELS", sentinels)
                    .WithEnvironment("MASTER_NAME", MasterName)
                    .WithEnvironment("DATA_DIR", directory)
                    .WithEnvironment("CONF_DIR", filesDirectory)
                    .WithEnvironment("REDIS_SERVER", redisServerPath)
                    .WithEnvironment(context => context.EnvironmentVariables["REDIS_PASSWORD"] = password);
                if (kind == "redis")
                {
                    // Each data node is healthy when it serves its role; the API waits for all of them.
                    var healthCheckKey = $"{nodeName}_check";
                    var nodeAddress = $"127.0.0.1:{port}";
                    var check = new ReplicationHealthCheck(() => $"{nodeAddress},password={passwordValue ?? throw new InvalidOperationException("The password is not known yet.")}");
                    builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(healthCheckKey, _ => check, failureStatus: null, tags: null));
                    node.WithHealthCheck(healthCheckKey);
                }

                members.Add(node.Resource);
            }
        }

        builder.Eventing.Subscribe<BeforeStartEvent>(async (_, ct) => passwordValue = await password.GetValueAsync(ct));
        var connection = builder.AddConnectionString(name, ConnectionString(sentinelPorts.Select(p => $"127.0.0.1:{p}").ToList(), password));
        return new CacheResources(connection, members, DataNodes - 1);
    }

    private static ReferenceExpression ConnectionString(IReadOnlyList<string> sentinelHosts, ParameterResource password) =>
        ReferenceExpression.Create($"{string.Join(',', sentinelHosts)},serviceName={MasterName},password={password}");

    private static string ShippedFile(string file)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Sentinel/{file}")
            ?? throw new InvalidOperationException($"Cache/Sentinel/{file} is not embedded in the AppHost.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
