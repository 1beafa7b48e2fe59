using System.Diagnostics;

namespace LlmApi.Tests.Infrastructure;

/// <summary>The repository the tests were built from, and commands run in it the way a user runs them.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string ManifestsDirectory => Path.Combine(Root, "aspire-manifests");

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    /// <summary>Runs the AppHost's Kubernetes publish step into <paramref name="outputDirectory"/>, as the README says.</summary>
    public static Task<(int ExitCode, string Output, TimeSpan Elapsed)> PublishKubernetesAsync(string outputDirectory, params string[] extraArgs) =>
        RunAppHostAsync(null, ["--operation", "publish", "--step", "kubernetes", "--output-path", outputDirectory, .. extraArgs]);

    /// <summary>Runs the built AppHost with <c>dotnet run</c>, as the README does, with the given PATH (or the current one).</summary>
    public static async Task<(int ExitCode, string Output, TimeSpan Elapsed)> RunAppHostAsync(string? path, IEnumerable<string> args)
    {
        var started = Stopwatch.StartNew();
        var start = new ProcessStartInfo(Executables.Dotnet) { WorkingDirectory = Root };
        if (path is not null)
        {
            start.Environment["PATH"] = path;
        }

        foreach (var arg in new[] { "run", "--project", "LlmApi.AppHost", "--no-build", "-c", Configuration, "--" }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        var (exitCode, output, error) = await Executables.RunToEndAsync(start, "The AppHost", TimeSpan.FromMinutes(2));
        return (exitCode, output + error, started.Elapsed);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LlmApi.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The tests must run from a build inside the repository (no LlmApi.sln found above them).");
    }
}
