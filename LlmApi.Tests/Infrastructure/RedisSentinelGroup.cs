using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using k8s.Models;
using LlmApi.Tests.Kubernetes;
using StackExchange.Redis;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// A real Redis Sentinel deployment on loopback, started the way the Kubernetes output starts it: the AppHost publishes
/// the Sentinel topology, and the start scripts and settings of its ConfigMaps (<c>cache-redis-files</c>,
/// <c>cache-sentinel-files</c>) run here unchanged, with loopback addresses in place of the pods' DNS names. So a
/// primary, two replicas and three sentinels (quorum 2) fail over as in production, and what ships is what is tested.
/// </summary>
public sealed class RedisSentinelGroup : IAsyncDisposable
{
    private readonly string _directory;
    private readonly Dictionary<string, string> _settings;
    private readonly Process?[] _dataNodes;
    private readonly Process?[] _sentinels;
    private readonly ConcurrentQueue<string> _log = new();

    private RedisSentinelGroup(string directory, Dictionary<string, string> settings, int[] dataPorts, int[] sentinelPorts)
    {
        _directory = directory;
        _settings = settings;
        DataPorts = dataPorts;
        SentinelPorts = sentinelPorts;
        _dataNodes = new Process?[dataPorts.Length];
        _sentinels = new Process?[sentinelPorts.Length];
    }

    public IReadOnlyList<int> DataPorts { get; }

    public IReadOnlyList<int> SentinelPorts { get; }

    public string ServiceName => _settings["MASTER_NAME"];

    public string Password { get; } = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>How the API connects: the sentinels, the service name and the password, as the AppHost writes it.</summary>
    public string ConnectionString => string.Join(',', SentinelPorts.Select(p => $"127.0.0.1:{p}")) + $",serviceName={ServiceName},password={Password}";

    /// <summary>The last lines the nodes printed, for a failure message.</summary>
    public string RecentLog => string.Join('\n', _log.TakeLast(60));

    public static async Task<RedisSentinelGroup> StartAsync()
    {
        var directory = Directory.CreateTempSubdirectory("llmapi-test-sentinel-").FullName;
        var manifests = Path.Combine(directory, "manifests");
        var (exitCode, output, _) = await Repository.PublishKubernetesAsync(manifests, "Cache:Topology=sentinel");
        Assert.True(exitCode == 0, $"Publishing the Sentinel topology failed:\n{output}");
        var maps = GeneratedManifestsFixture.LoadAll(manifests).OfType<V1ConfigMap>().ToDictionary(m => m.Metadata.Name, m => m.Data);
        foreach (var (kind, map) in new[] { ("redis", "cache-redis-files"), ("sentinel", "cache-sentinel-files") })
        {
            var files = Directory.CreateDirectory(Path.Combine(directory, kind + "-files")).FullName;
            foreach (var (name, content) in maps[map])
            {
                await File.WriteAllTextAsync(Path.Combine(files, name), content);
            }
        }

        var group = new RedisSentinelGroup(directory, new Dictionary<string, string>(maps["cache-redis-config"]),
            Enumerable.Range(0, 3).Select(_ => RedisServer.FreeTcpPort()).ToArray(),
            Enumerable.Range(0, 3).Select(_ => RedisServer.FreeTcpPort()).ToArray());
        try
        {
            for (var i = 0; i < group.DataPorts.Count; i++)
            {
                group.StartDataNode(i);
                var port = group.DataPorts[i];
                await WaitUntilAsync(async () => (await group.CliAsync(port, "ping")).Contains("PONG", StringComparison.Ordinal), $"data node {port} to answer");
            }

            for (var i = 0; i < group.SentinelPorts.Count; i++)
            {
                group.StartSentinel(i);
            }

            await WaitUntilAsync(async () => Count(await group.SentinelAsync("replicas")) == 2 && Count(await group.SentinelAsync("sentinels")) == 2,
                "the sentinels to see both replicas and each other");
            foreach (var replica in group.DataPorts.Skip(1))
            {
                await group.WaitInSyncAsync(replica);
            }

            return group;
        }
        catch (Exception e)
        {
            var log = group.RecentLog;
            await group.DisposeAsync();
            throw new InvalidOperationException($"The Sentinel group did not start: {e.Message}\n{log}", e);
        }
    }

    /// <summary>(Re)starts data node <paramref name="index"/> with the shipped script, which asks the sentinels for the primary.</summary>
    public void StartDataNode(int index) =>
        _dataNodes[index] = Start("redis", index, "start-redis.sh", new() { ["REDIS_PORT"] = Port(DataPorts[index]) });

    // Debian's redis-sentinel (the same program as redis-server, in its Sentinel mode), as the image's redis-server is.
    private void StartSentinel(int index) =>
        _sentinels[index] = Start("sentinel", index, "start-sentinel.sh", new()
        {
            ["SENTINEL_PORT"] = Port(SentinelPorts[index]),
            ["REDIS_SERVER"] = Executables.Find("redis-sentinel") ?? throw new InvalidOperationException("redis-sentinel is not on PATH (apt-get install -y redis-sentinel)."),
        });

    private Process Start(string kind, int index, string script, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("sh")
        {
            ArgumentList = { Path.Combine(_directory, kind + "-files", script) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in _settings)
        {
            start.Environment[name] = value;
        }

        // The pods' DNS names become loopback addresses; everything else is as the ConfigMaps say.
        start.Environment["ANNOUNCE_HOST"] = "127.0.0.1";
        start.Environment["BIND_ADDRESS"] = "127.0.0.1";
        start.Environment["INITIAL_PRIMARY"] = $"127.0.0.1:{Port(DataPorts[0])}";
        start.Environment["SENTINELS"] = string.Join(' ', SentinelPorts.Select(p => $"127.0.0.1:{Port(p)}"));
        start.Environment["DATA_DIR"] = Path.Combine(_directory, $"{kind}-{index}");
        start.Environment["CONF_DIR"] = Path.Combine(_directory, kind + "-files");
        start.Environment["REDIS_SERVER"] = Executables.Find("redis-server") ?? throw new InvalidOperationException("redis-server is not on PATH (apt-get install -y redis-server).");
        start.Environment["REDIS_PASSWORD"] = Password;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var prefix = $"{kind}-{index} ";
        process.OutputDataReceived += (_, e) => Keep(prefix + e.Data);
        process.ErrorDataReceived += (_, e) => Keep(prefix + e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Keep(string line)
    {
        _log.Enqueue(line);
        while (_log.Count > 500 && _log.TryDequeue(out _))
        {
        }
    }

    /// <summary>The port of the primary, as the sentinels name it now.</summary>
    public async Task<int> PrimaryPortAsync() =>
        int.Parse((await SentinelAsync("get-master-addr-by-name")).Split('\n', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    /// <summary>A planned failover (<c>SENTINEL FAILOVER</c>): a replica becomes the primary and the primary a replica.</summary>
    public Task FailoverAsync() => SentinelAsync("failover");

    /// <summary>Kills the primary's process with SIGKILL, as a crashed node or a lost machine would end; returns its index.</summary>
    public async Task<int> KillPrimaryAsync()
    {
        var index = DataPorts.ToList().IndexOf(await PrimaryPortAsync());
        var process = _dataNodes[index]!;
        process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
        _dataNodes[index] = null;
        return index;
    }

    /// <summary>The node's view of itself (<c>INFO replication</c>).</summary>
    public Task<string> ReplicationAsync(int port) => CliAsync(port, "info", "replication");

    public Task WaitInSyncAsync(int replicaPort) =>
        WaitUntilAsync(async () => (await ReplicationAsync(replicaPort)).Contains("master_link_status:up", StringComparison.Ordinal),
            $"replica {replicaPort} to be in sync");

    // Sentinels are asked with redis-cli, as an operator would: the client library talks to them only to find the primary.
    private Task<string> SentinelAsync(string what) => CliAsync(SentinelPorts[0], "sentinel", what, ServiceName);

    private Task<string> CliAsync(int port, params string[] command) => RedisProcesses.AuthenticatedCliAsync(port, Password, command);

    /// <summary>Entries in a redis-cli listing of sentinel or replica descriptions (each starts with its "name" field).</summary>
    private static int Count(string listing) => listing.Split('\n').Count(line => line.Trim() == "name");

    private static string Port(int port) => port.ToString(CultureInfo.InvariantCulture);

    public static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => RedisProcesses.WaitUntilAsync(condition, what);

    public async ValueTask DisposeAsync()
    {
        await RedisProcesses.StopAsync(_sentinels.Concat(_dataNodes).OfType<Process>());
        Directory.Delete(_directory, recursive: true);
    }
}
