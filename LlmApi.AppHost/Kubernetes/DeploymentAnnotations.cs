namespace LlmApi.AppHost.Kubernetes;

// Deployment policy the Aspire model has no words for, declared on the resources in Program.cs so that the AppHost
// stays the single source of the Kubernetes output. The publisher reads these; nothing per resource lives there.

/// <summary>A HorizontalPodAutoscaler with the seed's scaling behaviour.</summary>
internal sealed record AutoscalingAnnotation(
    int MinReplicas, int MaxReplicas, int CpuUtilizationPercent, int MemoryUtilizationPercent) : IResourceAnnotation
{
    /// <summary>Scale up at once: at most this many percent or <see cref="ScaleUpPods"/> pods per period, whichever is more.</summary>
    public int ScaleUpPercent { get; init; } = 100;
    public int ScaleUpPods { get; init; } = 4;
    public int ScaleUpPeriodSeconds { get; init; } = 30;

    /// <summary>Scale down after a stable window, by at most this percent or pods per period, whichever is less.</summary>
    public int ScaleDownStabilizationSeconds { get; init; } = 300;
    public int ScaleDownPercent { get; init; } = 50;
    public int ScaleDownPods { get; init; } = 2;
    public int ScaleDownPeriodSeconds { get; init; } = 60;
}

/// <summary>A PodDisruptionBudget.</summary>
internal sealed record DisruptionBudgetAnnotation(int MinAvailable) : IResourceAnnotation;

/// <summary>CPU and memory requests and limits of the resource's container ("200m", "256Mi").</summary>
internal sealed record ComputeResourcesAnnotation(string CpuRequest, string MemoryRequest, string CpuLimit, string MemoryLimit) : IResourceAnnotation;

/// <summary>
/// Runs the container as a fixed non-root user without privilege escalation or capabilities, with seccomp
/// RuntimeDefault and, when <see cref="ReadOnlyRootFilesystem"/>, writable only where <see cref="WritablePaths"/> say.
/// </summary>
internal sealed record SecurityContextAnnotation(long RunAsUser, bool ReadOnlyRootFilesystem, IReadOnlyList<string> WritablePaths) : IResourceAnnotation;

/// <summary>A rolling update with these surge and unavailability bounds.</summary>
internal sealed record RollingUpdateAnnotation(int MaxSurge, int MaxUnavailable) : IResourceAnnotation;

/// <summary>Spread replicas evenly over nodes and zones.</summary>
internal sealed record TopologySpreadAnnotation(int MaxSkew) : IResourceAnnotation;

/// <summary>State that must survive restarts: a StatefulSet with a volume claim of this size mounted here.</summary>
internal sealed record PersistentStorageAnnotation(string Size, string MountPath) : IResourceAnnotation;

/// <summary>
/// An Ingress of the given class for the resource's external HTTP endpoint, with TLS for the host, routing the path
/// prefix <paramref name="Path"/> to it (several resources can share a host: the API at <c>/</c>, the console below it).
/// </summary>
internal sealed record IngressAnnotation(
    ParameterResource Host, string ClassName, string TlsSecretName, IReadOnlyDictionary<string, string> ControllerSettings, string Path)
    : IResourceAnnotation;

/// <summary>The container image a project is deployed from (projects have no image in the model).</summary>
internal sealed record DeploymentImageAnnotation(ParameterResource Image) : IResourceAnnotation;

/// <summary>A probe that runs a command in the container (for servers that do not speak HTTP).</summary>
internal sealed record ExecProbeAnnotation(
#pragma warning disable ASPIREPROBES001 // The probe type enum is experimental; it is the model's own vocabulary for probes.
    ProbeType Type,
#pragma warning restore ASPIREPROBES001
    IReadOnlyList<string> Command, int InitialDelaySeconds, int PeriodSeconds, int TimeoutSeconds, int FailureThreshold) : IResourceAnnotation;

/// <summary>Files the container reads (configuration, start scripts): a ConfigMap mounted read-only at this path.</summary>
internal sealed record ConfigFilesAnnotation(string MountPath, IReadOnlyDictionary<string, string> Files) : IResourceAnnotation;

/// <summary>
/// A headless Service (no cluster IP): every pod of the StatefulSet gets its own DNS name
/// (<c>name-0.name</c>), listed before it is ready, which replication and Sentinel need to find each other.
/// </summary>
internal sealed record HeadlessServiceAnnotation : IResourceAnnotation;
