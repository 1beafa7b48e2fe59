#pragma warning disable ASPIREPIPELINES001 // Pipeline steps are experimental; they are how Aspire 13 publishes.
#pragma warning disable ASPIREPIPELINES004 // The output service is experimental; it is where --output-path arrives.

using System.Diagnostics;
using System.Text;
using Aspire.Hosting.Pipelines;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmApi.AppHost.Kubernetes;

internal static partial class KubernetesPublishing
{
    /// <summary>First line of every generated file, so the step knows which files of the output folder are its own.</summary>
    public const string Header = "# Generated from the app model by LlmApi.AppHost; do not edit. Regenerate: see README (Kubernetes).";

    public const string SecretsExampleFile = "secrets.env.example";

    /// <summary>
    /// Adds the pipeline step <paramref name="stepName"/>, which writes the app model as a kustomize base into the
    /// output path: <c>dotnet run --project LlmApi.AppHost -- --operation publish --step kubernetes --output-path aspire-manifests</c>.
    /// </summary>
    public static void AddKubernetesPublishing(this IDistributedApplicationBuilder builder, string stepName, KubernetesEnvironment environment) =>
        builder.Pipeline.AddStep(stepName, async context =>
        {
            var started = Stopwatch.GetTimestamp();
            var output = OutputDirectory(context);
            var generator = new KubernetesManifestGenerator(context.Model, context.ExecutionContext, environment);
            var manifests = await generator.GenerateAsync(context.CancellationToken);
            await WriteAsync(output, manifests.Files, manifests.SecretKeys, context.CancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started);
            LogWritten(context.Logger, manifests.Files.Count, output, elapsed.TotalMilliseconds);
        });

    /// <summary>
    /// <c>--output-path</c> as the user typed it, relative to the directory the command ran in (the repository root in
    /// the README's command); Aspire's output service would resolve it against the AppHost project folder instead.
    /// </summary>
    private static string OutputDirectory(PipelineStepContext context) =>
        context.Services.GetRequiredService<IConfiguration>()["Pipeline:OutputPath"] is { Length: > 0 } path
            ? Path.GetFullPath(path, Environment.CurrentDirectory)
            : context.Services.GetRequiredService<IPipelineOutputService>().GetOutputDirectory();

    /// <summary>
    /// Writes the files with LF line ends and no timestamps, so that the same model gives the same bytes, and removes
    /// generated files the model no longer produces. The operator's <c>secrets.env</c> is never touched.
    /// </summary>
    private static async Task WriteAsync(string directory, IReadOnlyList<ManifestFile> files, IReadOnlyList<string> secretKeys, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var documents = file.Objects.Select(o => KubernetesYaml.Serialize(o).TrimEnd('\n') + "\n");
            await WriteFileAsync(Path.Combine(directory, file.Name), Header + "\n" + string.Join("---\n", documents), cancellationToken);
            written.Add(file.Name);
        }

        var example = new StringBuilder(Header).Append('\n')
            .Append("# Copy to secrets.env (git-ignored) and give every key a value; kustomize turns it into the Secret.\n");
        foreach (var key in secretKeys)
        {
            example.Append(key).Append("=\n");
        }

        await WriteFileAsync(Path.Combine(directory, SecretsExampleFile), example.ToString(), cancellationToken);
        written.Add(SecretsExampleFile);

        foreach (var stale in Directory.EnumerateFiles(directory).Where(f => !written.Contains(Path.GetFileName(f))))
        {
            if (File.ReadLines(stale).FirstOrDefault() == Header)
            {
                File.Delete(stale);
            }
        }
    }

    private static Task WriteFileAsync(string path, string content, CancellationToken cancellationToken) =>
        File.WriteAllTextAsync(path, content.ReplaceLineEndings("\n"), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Wrote {Count} Kubernetes manifest files to {Directory} in {ElapsedMs:F0} ms")]
    private static partial void LogWritten(ILogger logger, int count, string directory, double elapsedMs);
}
