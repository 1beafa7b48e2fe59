using System.Diagnostics;

namespace LlmApi.Tests.Infrastructure;

/// <summary>Programs the tests run, found the way a shell finds them, and run to their end.</summary>
public static class Executables
{
    /// <summary>The <c>dotnet</c> host running the tests, else the one on PATH.</summary>
    public static string Dotnet { get; } =
        Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";

    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// Runs <paramref name="start"/> to its end and returns its exit code and what it wrote to standard output and to
    /// standard error. Both are read as they come: a program that fills one pipe while the other is being read to its
    /// end would wait forever. One still running after <paramref name="limit"/> is killed with its children, and the
    /// test fails with what it wrote (<paramref name="what"/> names it there; the arguments may hold secrets).
    /// </summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunToEndAsync(ProcessStartInfo start, string what, TimeSpan limit)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{what} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{what} was still running after {limit.TotalSeconds:0} s. It wrote:\n{await output}{await error}");
        }

        return (process.ExitCode, await output, await error);
    }
}
