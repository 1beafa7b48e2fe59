using k8s;
using k8s.Models;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Kubernetes;

/// <summary>The kustomize base regenerated from the app model once, into a temporary folder, for the tests to read.</summary>
public class GeneratedManifestsFixture : IAsyncLifetime
{
    /// <summary>Settings given to the publish step (none: the defaults, which the committed base shows).</summary>
    protected virtual string[] Settings => [];

    public static readonly Dictionary<string, Type> KnownKinds = new(StringComparer.Ordinal)
    {
        ["v1/Namespace"] = typeof(V1Namespace),
        ["v1/ResourceQuota"] = typeof(V1ResourceQuota),
        ["v1/LimitRange"] = typeof(V1LimitRange),
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["v1/Service"] = typeof(V1Service),
        ["apps/v1/Deployment"] = typeof(V1Deployment),
        ["apps/v1/StatefulSet"] = typeof(V1StatefulSet),
        ["autoscaling/v2/HorizontalPodAutoscaler"] = typeof(V2HorizontalPodAutoscaler),
        ["policy/v1/PodDisruptionBudget"] = typeof(V1PodDisruptionBudget),
        ["networking.k8s.io/v1/Ingress"] = typeof(V1Ingress),
        ["networking.k8s.io/v1/NetworkPolicy"] = typeof(V1NetworkPolicy),
    };

    public string Directory { get; private set; } = null!;

    public TimeSpan PublishTime { get; private set; }

    /// <summary>Every Kubernetes object of every YAML file except kustomization.yaml, read in strict mode.</summary>
    public IReadOnlyList<object> Objects { get; private set; } = [];

    public async Task InitializeAsync()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("llmapi-manifests-").FullName;
        var (exitCode, output, elapsed) = await Repository.PublishKubernetesAsync(Directory, Settings);
        Assert.True(exitCode == 0, $"The publish step failed:\n{output}");
        PublishTime = elapsed;
        Objects = LoadAll(Directory);
    }

    public static List<object> LoadAll(string directory) =>
        System.IO.Directory.EnumerateFiles(directory, "*.yaml")
            .Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .Order(StringComparer.Ordinal)
            .SelectMany(f => KubernetesYaml.LoadAllFromString(File.ReadAllText(f), KnownKinds, strict: true))
            .ToList();

    public Task DisposeAsync()
    {
        System.IO.Directory.Delete(Directory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>The base for <c>Cache:Topology=sentinel</c>, committed as <c>aspire-manifests/sentinel</c>.</summary>
public sealed class SentinelManifestsFixture : GeneratedManifestsFixture
{
    protected override string[] Settings => ["Cache:Topology=sentinel"];
}
