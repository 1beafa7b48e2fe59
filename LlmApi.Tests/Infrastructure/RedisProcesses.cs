using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace LlmApi.Tests.Infrastructure;

/// <summary>What the multi-process Redis deployments of the tests share: redis-cli, waiting, stopping.</summary>
internal static class RedisProcesses
{
    /// <summary>Runs <c>redis-cli -p PORT COMMAND...</c>, as an operator would, and returns what it printed.</summary>
    public static Task<string> CliAsync(int port, params string[] command) => AuthenticatedCliAsync(port, password: null, command);

    /// <summary>The same, signing in with <paramref name="password"/> (passed in the environment, not the command line).</summary>
    public static async Task<string> AuthenticatedCliAsync(int port, string? password, params string[] command)
    {
        var start = new ProcessStartInfo(Executables.Find("redis-cli") ?? throw new InvalidOperationException("redis-cli is not on PATH (apt-get install -y redis-tools)."));
        if (password is not null)
        {
            start.Environment["REDISCLI_AUTH"] = password;
        }

        if (port > 0)
        {
            start.ArgumentList.Add("-p");
            start.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        }

        foreach (var argument in command)
        {
            start.ArgumentList.Add(argument);
        }

        var (_, output, error) = await Executables.RunToEndAsync(start, "redis-cli", TimeSpan.FromMinutes(1));
        return output + error;
    }

    /// <summary>Polls <paramref name="condition"/> for up to 30 s; failures to ask count as "not yet".</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception e) when (e is RedisException or FormatException or IndexOutOfRangeException)
            {
                // not there yet
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"Timed out waiting for {what}.");
    }

    public static async Task StopAsync(IEnumerable<Process> processes)
    {
        foreach (var process in processes)
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }
    }
}
