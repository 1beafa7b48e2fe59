using System.Diagnostics;
using System.Net.Sockets;
using StackExchange.Redis;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// A private <c>redis-server</c> on a free loopback port, with its data in a temporary folder, for one test
/// collection. Real Redis, so races and transactions behave as in production.
/// </summary>
public sealed class RedisServer : ITestRedis
{
    private readonly Process _process;
    private readonly string _directory;

    private RedisServer(Process process, string directory, int port, ConnectionMultiplexer connection)
    {
        _process = process;
        _directory = directory;
        Port = port;
        Connection = connection;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port},allowAdmin=true";

    /// <summary>A connection of the test itself, for looking at what the API wrote.</summary>
    public ConnectionMultiplexer Connection { get; }

    public IDatabase Database => Connection.GetDatabase();

    public async Task<int> CountKeysAsync(string pattern)
    {
        var count = 0;
        await foreach (var _ in Connection.GetServers()[0].KeysAsync(pattern: pattern))
        {
            count++;
        }

        return count;
    }

    public static async Task<RedisServer> StartAsync()
    {
        var executable = Executables.Find("redis-server") ?? throw new InvalidOperationException(
            "redis-server is not on PATH. Install it (apt-get install -y redis-server) to run the integration tests.");

        // Another process may take the port between probing and binding; a few attempts make that harmless.
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeTcpPort();
            var directory = Directory.CreateTempSubdirectory("llmapi-test-redis-").FullName;
            var process = StartProcess(executable, port, directory, []);
            var connection = await TryConnectAsync(port, process);
            if (connection is not null)
            {
                return new RedisServer(process, directory, port, connection);
            }

            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
            Directory.Delete(directory, recursive: true);
            if (attempt == 5)
            {
                throw new InvalidOperationException($"redis-server did not start after {attempt} attempts.");
            }
        }
    }

    /// <summary>Starts <c>redis-server</c> on loopback with its data in <paramref name="directory"/>, nothing persisted.</summary>
    internal static Process StartProcess(string executable, int port, string directory, IReadOnlyList<string> extraArguments)
    {
        var start = new ProcessStartInfo(executable)
        {
            ArgumentList =
            {
                "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--bind", "127.0.0.1",
                "--dir", directory,
                "--save", "",
                "--appendonly", "no",
                "--maxmemory-policy", "noeviction",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in extraArguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.OutputDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task<ConnectionMultiplexer?> TryConnectAsync(int port, Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                return await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},allowAdmin=true,connectTimeout=500");
            }
            catch (RedisConnectionException)
            {
                await Task.Delay(50);
            }
        }

        return null;
    }

    internal static int FreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Whether <paramref name="port"/> can be bound on loopback now (another process may take it after).</summary>
    internal static bool IsTcpPortFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
