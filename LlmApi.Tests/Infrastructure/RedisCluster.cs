using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster on loopback: six <c>redis-server --cluster-enabled yes</c> processes formed into three
/// primaries with a replica each by <c>redis-cli --cluster create</c>, as an operator would form one. A key, script or
/// transaction that spans hash slots fails here as it would in production.
/// </summary>
public sealed class RedisCluster : ITestRedis
{
    private const int Nodes = 6;
    private readonly List<Process> _processes;
    private readonly string _directory;

    private RedisCluster(List<Process> processes, string directory, int[] ports, ConnectionMultiplexer connection)
    {
        _processes = processes;
        _directory = directory;
        Ports = ports;
        Connection = connection;
    }

    public IReadOnlyList<int> Ports { get; }

    public string ConnectionString => string.Join(',', Ports.Take(3).Select(p => $"127.0.0.1:{p}")) + ",allowAdmin=true";

    public ConnectionMultiplexer Connection { get; }

    public IDatabase Database => Connection.GetDatabase();

    public async Task<int> CountKeysAsync(string pattern)
    {
        var count = 0;
        foreach (var server in Connection.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var _ in server.KeysAsync(pattern: pattern))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>
    /// The port of the primary that serves <paramref name="key"/>'s hash slot and of its replica, as the nodes report
    /// them (<c>CLUSTER KEYSLOT</c>, <c>CLUSTER NODES</c>), not as a client believes they are.
    /// </summary>
    public async Task<(int Primary, int Replica)> NodesServingAsync(string key)
    {
        var slot = int.Parse((await RedisProcesses.CliAsync(Ports[0], "cluster", "keyslot", key)).Trim(), CultureInfo.InvariantCulture);
        // <id> <ip:port@bus> <flags> <primary id or -> <ping> <pong> <epoch> <link> <slot ranges...>
        var nodes = (await RedisProcesses.CliAsync(Ports[0], "cluster", "nodes")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Trim().Split(' ')).Where(fields => fields.Length >= 8).ToList();
        var primary = nodes.Single(fields => fields[2].Contains("master", StringComparison.Ordinal) && fields.Skip(8).Any(range => Serves(range, slot)));
        var replica = nodes.Single(fields => fields[3] == primary[0]);
        return (PortOf(primary[1]), PortOf(replica[1]));

        static bool Serves(string range, int slot) => range.Split('-') is var ends && !range.StartsWith('[')
            && int.Parse(ends[0], CultureInfo.InvariantCulture) <= slot && slot <= int.Parse(ends[^1], CultureInfo.InvariantCulture);

        static int PortOf(string address) => int.Parse(address[(address.LastIndexOf(':') + 1)..address.IndexOf('@')], CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until every replica has its primary's data and a live link to it (a manual failover needs both).</summary>
    public async Task WaitForReplicasInSyncAsync()
    {
        foreach (var port in Ports)
        {
            await RedisProcesses.WaitUntilAsync(async () => await RedisProcesses.CliAsync(port, "info", "replication") is var info
                && (info.Contains("role:master", StringComparison.Ordinal) || info.Contains("master_link_status:up", StringComparison.Ordinal)),
                $"node {port} to be a primary or a replica in sync");
        }
    }

    /// <summary>
    /// A planned failover (<c>CLUSTER FAILOVER</c> on <paramref name="replica"/>): it takes over its primary's slots once
    /// it has every write, and the primary becomes its replica. Returns when the nodes report it.
    /// </summary>
    public async Task FailoverAsync(int replica)
    {
        var answer = await RedisProcesses.CliAsync(Own(replica), "cluster", "failover");
        if (!answer.Contains("OK", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"CLUSTER FAILOVER on {replica} answered: {answer}");
        }

        await WaitForPrimaryAsync(replica);
    }

    /// <summary>
    /// Kills the node on <paramref name="port"/> (SIGKILL). A primary's replica takes over once the other primaries have
    /// found it unreachable for the node timeout (5 s here), if it has its primary's data (<see cref="WaitForReplicasInSyncAsync"/>).
    /// </summary>
    public async Task KillAsync(int port)
    {
        var process = _processes[Ports.ToList().IndexOf(Own(port))];
        process.Kill();
        await process.WaitForExitAsync();
    }

    /// <summary>Waits until the node on <paramref name="port"/> reports itself a primary.</summary>
    public Task WaitForPrimaryAsync(int port) =>
        RedisProcesses.WaitUntilAsync(async () => (await RedisProcesses.CliAsync(Own(port), "role")).StartsWith("master", StringComparison.Ordinal),
            $"node {port} to take over as primary");

    private int Own(int port) =>
        Ports.Contains(port) ? port : throw new ArgumentOutOfRangeException(nameof(port), port, "not a node of this cluster");

    /// <summary>
    /// Starts and forms the cluster. A node's ports are probed free and then bound by redis-server, and another process
    /// may take one in between (its own, or the cluster bus port 10,000 above it, from the same ephemeral range as every
    /// outgoing connection): a node that never answers failed a whole CI run's cluster collection once. As for a single
    /// server (<see cref="RedisServer.StartAsync"/>), a few attempts with fresh ports make that harmless.
    /// </summary>
    public static async Task<RedisCluster> StartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync();
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // the processes are stopped and the folder removed; try again on other ports
            }
        }
    }

    private static async Task<RedisCluster> StartOnceAsync()
    {
        var server = Executables.Find("redis-server") ?? throw new InvalidOperationException("redis-server is not on PATH (apt-get install -y redis-server).");
        var directory = Directory.CreateTempSubdirectory("llmapi-test-cluster-").FullName;
        var ports = Enumerable.Range(0, Nodes).Select(_ => FreeNodePort()).Distinct().ToArray();
        var processes = ports.Select(port =>
        {
            var node = Directory.CreateDirectory(Path.Combine(directory, port.ToString(CultureInfo.InvariantCulture))).FullName;
            return RedisServer.StartProcess(server, port, node, ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"]);
        }).ToList();

        try
        {
            foreach (var port in ports)
            {
                await RedisProcesses.WaitUntilAsync(async () => (await RedisProcesses.CliAsync(port, "ping")).Contains("PONG", StringComparison.Ordinal),
                    $"node {port} to answer");
            }

            var create = await RedisProcesses.CliAsync(0, ["--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "1", "--cluster-yes"]);
            if (!create.Contains("All 16384 slots covered", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("redis-cli --cluster create failed:\n" + create);
            }

            foreach (var port in ports)
            {
                await RedisProcesses.WaitUntilAsync(async () => (await RedisProcesses.CliAsync(port, "cluster", "info")).Contains("cluster_state:ok", StringComparison.Ordinal),
                    $"node {port} to see the cluster ok");
            }

            var connection = await ConnectionMultiplexer.ConnectAsync(string.Join(',', ports.Select(p => $"127.0.0.1:{p}")) + ",allowAdmin=true");
            return new RedisCluster(processes, directory, ports, connection);
        }
        catch
        {
            await RedisProcesses.StopAsync(processes);
            Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>A free port whose cluster bus port (10,000 above it, so at most 55535) is free too.</summary>
    private static int FreeNodePort()
    {
        while (true)
        {
            var port = RedisServer.FreeTcpPort();
            if (port <= 55535 && RedisServer.IsTcpPortFree(port + 10000))
            {
                return port;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        await RedisProcesses.StopAsync(_processes);
        Directory.Delete(_directory, recursive: true);
    }
}
