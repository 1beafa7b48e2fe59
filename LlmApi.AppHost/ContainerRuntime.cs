using System.ComponentModel;
using System.Diagnostics;

namespace LlmApi.AppHost;

/// <summary>Whether a container runtime answers on this machine, asked once per AppHost run.</summary>
internal static class ContainerRuntime
{
    private static readonly Lazy<bool> AnswersOnce = new(Ask);

    public static bool Answers => AnswersOnce.Value;

    /// <summary>
    /// Asks the runtime Aspire would use (docker unless ASPIRE_CONTAINER_RUNTIME says podman) for its server version.
    /// A CLI without a daemon answers with an error at once; a missing CLI throws.
    /// </summary>
    private static bool Ask()
    {
        var runtime = Environment.GetEnvironmentVariable("ASPIRE_CONTAINER_RUNTIME")
            ?? Environment.GetEnvironmentVariable("DOTNET_ASPIRE_CONTAINER_RUNTIME")
            ?? "docker";
        var startInfo = new ProcessStartInfo(runtime)
        {
            ArgumentList = { "info", "--format", "{{.ServerVersion}}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        try
        {
            using var process = Process.Start(startInfo);
            if (process is null)
            {
                return false;
            }

            if (!process.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }

            return process.ExitCode == 0 && !string.IsNullOrWhiteSpace(process.StandardOutput.ReadToEnd());
        }
        catch (Win32Exception)
        {
            return false; // the CLI is not installed
        }
    }
}
