#pragma warning disable ASPIREPROBES001 // Probe annotations are experimental; they are how the model records probes.

using k8s.Models;

namespace LlmApi.AppHost.Kubernetes;

/// <summary>A file of the kustomize base and the Kubernetes objects it holds, in order.</summary>
internal sealed record ManifestFile(string Name, IReadOnlyList<object> Objects);

/// <summary>The files of the base, and the keys the generated Secret must hold (the secret parameters used).</summary>
internal sealed record KubernetesManifests(IReadOnlyList<ManifestFile> Files, IReadOnlyList<string> SecretKeys);

/// <summary>
/// Maps the app model to Kubernetes objects. The mapping rules, all here:
/// <list type="bullet">
/// <item>Every project and container resource becomes a workload: a StatefulSet when it has
///   <see cref="PersistentStorageAnnotation"/>, else a Deployment; replicas from <c>WithReplicas</c>.</item>
/// <item>Its endpoints become a ClusterIP Service (ports per <see cref="KubernetesPorts"/>); an
///   <see cref="IngressAnnotation"/> adds an Ingress for its external HTTP endpoint.</item>
/// <item>Its environment: plain values go to a ConfigMap; secret parameters to keys of the generated Secret, referenced
///   by secretKeyRef (or expanded with <c>$(VAR)</c> inside composite values such as connection strings).</item>
/// <item>Probes from <see cref="EndpointProbeAnnotation"/> (HTTP) and <see cref="ExecProbeAnnotation"/>.</item>
/// <item>Policy annotations (autoscaling, disruption budget, compute resources, security context, rolling update,
///   topology spread) become their objects or fields.</item>
/// <item>NetworkPolicy: a resource accepts traffic only on its ports; a resource that others reference (the cache)
///   accepts it only from those resources' pods.</item>
/// </list>
/// </summary>
internal sealed class KubernetesManifestGenerator(
    DistributedApplicationModel model, DistributedApplicationExecutionContext executionContext, KubernetesEnvironment environment)
{
    public const string NameLabel = "app.kubernetes.io/name";
    public const string PartOfLabel = "app.kubernetes.io/part-of";
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ManagedBy = "llmapi-apphost";

    public async Task<KubernetesManifests> GenerateAsync(CancellationToken cancellationToken)
    {
        var renderer = new ValueRenderer(cancellationToken);
        var files = new List<ManifestFile> { new("namespace.yaml", NamespaceObjects()) };
        var secretKeys = new SortedSet<string>(StringComparer.Ordinal);

        foreach (var resource in DeployableResources())
        {
            var workload = await WorkloadBuilder.CreateAsync(resource, model, executionContext, environment, renderer, cancellationToken);
            secretKeys.UnionWith(workload.SecretKeys);
            files.Add(new ManifestFile(resource.Name + ".yaml", workload.Objects));
        }

        files.Add(new ManifestFile("kustomization.yaml", [Kustomization.For(environment, files.Select(f => f.Name).ToList())]));
        return new KubernetesManifests(files, secretKeys.ToList());
    }

    private IEnumerable<IResource> DeployableResources() =>
        model.Resources
            .Where(r => r is ProjectResource or ContainerResource)
            .Where(r => !r.TryGetLastAnnotation<ManifestPublishingCallbackAnnotation>(out var m) || m.Callback is not null)
            .OrderBy(r => r.Name, StringComparer.Ordinal);

    /// <summary>The labels of every object (sorted, so the output is stable); <paramref name="name"/> adds the resource's.</summary>
    public static SortedDictionary<string, string> Labels(string applicationName, string? name = null)
    {
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            [ManagedByLabel] = ManagedBy,
            [PartOfLabel] = applicationName,
        };
        if (name is not null)
        {
            labels[NameLabel] = name;
        }

        return labels;
    }

    private SortedDictionary<string, string> Labels() => Labels(environment.ApplicationName);

    private List<object> NamespaceObjects()
    {
        var quota = environment.Quota;
        var limits = environment.ContainerLimits;
        return
        [
            new V1Namespace
            {
                ApiVersion = "v1",
                Kind = "Namespace",
                Metadata = new V1ObjectMeta { Name = environment.Namespace, Labels = Labels() },
            },
            new V1ResourceQuota
            {
                ApiVersion = "v1",
                Kind = "ResourceQuota",
                Metadata = new V1ObjectMeta { Name = environment.ApplicationName + "-quota", NamespaceProperty = environment.Namespace, Labels = Labels() },
                Spec = new V1ResourceQuotaSpec
                {
                    Hard = new Dictionary<string, ResourceQuantity>
                    {
                        ["requests.cpu"] = new(quota.CpuRequests),
                        ["limits.cpu"] = new(quota.CpuLimits),
                        ["requests.memory"] = new(quota.MemoryRequests),
                        ["limits.memory"] = new(quota.MemoryLimits),
                        ["persistentvolumeclaims"] = new(quota.PersistentVolumeClaims.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        ["services.loadbalancers"] = new(quota.LoadBalancers.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    },
                },
            },
            new V1LimitRange
            {
                ApiVersion = "v1",
                Kind = "LimitRange",
                Metadata = new V1ObjectMeta { Name = environment.ApplicationName + "-limits", NamespaceProperty = environment.Namespace, Labels = Labels() },
                Spec = new V1LimitRangeSpec
                {
                    Limits =
                    [
                        new V1LimitRangeItem
                        {
                            Type = "Container",
                            Min = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(limits.MinCpu), ["memory"] = new(limits.MinMemory) },
                            Max = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(limits.MaxCpu), ["memory"] = new(limits.MaxMemory) },
                            DefaultRequest = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(limits.DefaultCpuRequest), ["memory"] = new(limits.DefaultMemoryRequest) },
                            DefaultProperty = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(limits.DefaultCpuLimit), ["memory"] = new(limits.DefaultMemoryLimit) },
                        },
                    ],
                },
            },
        ];
    }
}
