using System.Diagnostics;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// The built API run as its own process, as its container runs it (<c>dotnet LlmApi.Api.dll</c>), configured only through
/// settings: for what an operator sees when it will not start, which an in-process host cannot show reliably (a host
/// that fails to start disposes itself on the application's thread while the test host is still reading its services).
/// </summary>
public static class ApiProcess
{
    /// <summary>
    /// Starts the API with <paramref name="settings"/> (as environment variables, in the Testing environment) and waits
    /// for it to exit; its exit code and everything it wrote. Fails the test if it is still running after a minute.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunUntilExitAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var start = new ProcessStartInfo(Executables.Dotnet)
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "LlmApi.Api.dll") },
            WorkingDirectory = AppContext.BaseDirectory,
            Environment = { ["ASPNETCORE_ENVIRONMENT"] = "Testing", ["ASPNETCORE_URLS"] = "http://127.0.0.1:0" },
        };
        foreach (var (key, value) in settings)
        {
            // As a Deployment passes them (Jwt:SigningKey is Jwt__SigningKey), and off the command line that ps shows.
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var (exitCode, output, error) = await Executables.RunToEndAsync(start, "The API", TimeSpan.FromMinutes(1));
        return (exitCode, output + error);
    }
}
