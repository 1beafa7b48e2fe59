namespace LlmApi.AppHost.Kubernetes;

/// <summary>What the whole deployment shares: its namespace, quota, container defaults and secret.</summary>
internal sealed class KubernetesEnvironment
{
    public required string Namespace { get; init; }

    /// <summary>The part-of label on every object.</summary>
    public required string ApplicationName { get; init; }

    /// <summary>Name of the Secret that kustomize generates from <c>secrets.env</c>; every secret parameter is a key of it.</summary>
    public string SecretName { get; init; } = "secrets";

    public required NamespaceQuota Quota { get; init; }

    public required ContainerLimits ContainerLimits { get; init; }
}

/// <summary>ResourceQuota of the namespace.</summary>
internal sealed record NamespaceQuota(string CpuRequests, string CpuLimits, string MemoryRequests, string MemoryLimits, int PersistentVolumeClaims, int LoadBalancers);

/// <summary>LimitRange of the namespace: bounds and defaults for each container.</summary>
internal sealed record ContainerLimits(
    string MinCpu, string MinMemory, string MaxCpu, string MaxMemory,
    string DefaultCpuRequest, string DefaultMemoryRequest, string DefaultCpuLimit, string DefaultMemoryLimit);
