using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// A real Redis Sentinel deployment on loopback: a primary, two replicas and three <c>redis-sentinel</c> processes
/// (quorum 2) watching it as <see cref="ServiceName"/>, so failovers happen as in production.
/// </summary>
public sealed class RedisSentinelGroup : IAsyncDisposable
{
    public const string ServiceName = "mymaster";

    private readonly List<Process> _processes;
    private readonly string _directory;

    private RedisSentinelGroup(List<Process> processes, string directory, int[] dataPorts, int[] sentinelPorts)
    {
        _processes = processes;
        _directory = directory;
        DataPorts = dataPorts;
        SentinelPorts = sentinelPorts;
    }

    public IReadOnlyList<int> DataPorts { get; }

    public IReadOnlyList<int> SentinelPorts { get; }

    /// <summary>How the API connects: the sentinels and the service name (the Aspire Redis client's syntax).</summary>
    public string ConnectionString => string.Join(',', SentinelPorts.Select(p => $"127.0.0.1:{p}")) + $",serviceName={ServiceName},allowAdmin=true";

    public static async Task<RedisSentinelGroup> StartAsync()
    {
        var server = Executables.Find("redis-server") ?? throw new InvalidOperationException("redis-server is not on PATH (apt-get install -y redis-server).");
        var sentinel = Executables.Find("redis-sentinel") ?? throw new InvalidOperationException("redis-sentinel is not on PATH (apt-get install -y redis-sentinel).");
        var directory = Directory.CreateTempSubdirectory("llmapi-test-sentinel-").FullName;
        var dataPorts = Enumerable.Range(0, 3).Select(_ => RedisServer.FreeTcpPort()).ToArray();
        var sentinelPorts = Enumerable.Range(0, 3).Select(_ => RedisServer.FreeTcpPort()).ToArray();
        var processes = new List<Process>();
        try
        {
            for (var i = 0; i < dataPorts.Length; i++)
            {
                var node = Directory.CreateDirectory(Path.Combine(directory, "data" + i)).FullName;
                string[] replicaOf = i == 0 ? [] : ["--replicaof", "127.0.0.1", dataPorts[0].ToString(CultureInfo.InvariantCulture)];
                processes.Add(RedisServer.StartProcess(server, dataPorts[i], node, replicaOf));
            }

            foreach (var port in sentinelPorts)
            {
                var config = Path.Combine(directory, $"sentinel-{port}.conf");
                await File.WriteAllTextAsync(config, string.Join('\n',
                    $"port {port}", "bind 127.0.0.1", $"dir {directory}",
                    $"sentinel monitor {ServiceName} 127.0.0.1 {dataPorts[0]} 2",
                    $"sentinel down-after-milliseconds {ServiceName} 1000",
                    $"sentinel failover-timeout {ServiceName} 5000",
                    $"sentinel parallel-syncs {ServiceName} 1") + "\n");
                processes.Add(Process.Start(new ProcessStartInfo(sentinel, config) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!);
            }

            var group = new RedisSentinelGroup(processes, directory, dataPorts, sentinelPorts);
            await WaitUntilAsync(async () => Count(await group.SentinelAsync("replicas")) == 2 && Count(await group.SentinelAsync("sentinels")) == 2,
                "the sentinels to see both replicas and each other");
            foreach (var replica in dataPorts.Skip(1))
            {
                await WaitUntilAsync(async () => (await RedisProcesses.CliAsync(replica, "info", "replication")).Contains("master_link_status:up", StringComparison.Ordinal),
                    $"replica {replica} to be in sync");
            }
            return group;
        }
        catch
        {
            await RedisProcesses.StopAsync(processes);
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>The port of the primary, as the sentinels name it now.</summary>
    public async Task<int> PrimaryPortAsync() =>
        int.Parse((await SentinelAsync("get-master-addr-by-name")).Split('\n', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    /// <summary>A planned failover (<c>SENTINEL FAILOVER</c>): a replica becomes the primary and the primary a replica.</summary>
    public Task FailoverAsync() => SentinelAsync("failover");

    // Sentinels are asked with redis-cli, as an operator would: the client library talks to them only to find the primary.
    private Task<string> SentinelAsync(string what) => RedisProcesses.CliAsync(SentinelPorts[0], "sentinel", what, ServiceName);

    /// <summary>Entries in a redis-cli listing of sentinel or replica descriptions (each starts with its "name" field).</summary>
    private static int Count(string listing) => listing.Split('\n').Count(line => line.Trim() == "name");

    public static Task WaitUntilAsync(Func<Task<bool>> condition, string what) => RedisProcesses.WaitUntilAsync(condition, what);

    public async ValueTask DisposeAsync()
    {
        await RedisProcesses.StopAsync(_processes);
        Directory.Delete(_directory, recursive: true);
    }
}
