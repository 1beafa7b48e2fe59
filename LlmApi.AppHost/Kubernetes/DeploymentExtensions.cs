namespace LlmApi.AppHost.Kubernetes;

/// <summary>The small vocabulary Program.cs uses to declare deployment policy on resources.</summary>
internal static class DeploymentExtensions
{
    public static IResourceBuilder<T> WithAutoscaling<T>(this IResourceBuilder<T> builder, int min, int max, int cpu, int memory)
        where T : IResource => builder.WithAnnotation(new AutoscalingAnnotation(min, max, cpu, memory));

    public static IResourceBuilder<T> WithDisruptionBudget<T>(this IResourceBuilder<T> builder, int minAvailable)
        where T : IResource => builder.WithAnnotation(new DisruptionBudgetAnnotation(minAvailable));

    public static IResourceBuilder<T> WithComputeResources<T>(this IResourceBuilder<T> builder,
        string cpuRequest, string memoryRequest, string cpuLimit, string memoryLimit)
        where T : IResource => builder.WithAnnotation(new ComputeResourcesAnnotation(cpuRequest, memoryRequest, cpuLimit, memoryLimit));

    public static IResourceBuilder<T> WithHardenedSecurityContext<T>(this IResourceBuilder<T> builder, long runAsUser, params string[] writablePaths)
        where T : IResource => builder.WithAnnotation(new SecurityContextAnnotation(runAsUser, ReadOnlyRootFilesystem: true, writablePaths));

    public static IResourceBuilder<T> WithRollingUpdate<T>(this IResourceBuilder<T> builder, int maxSurge, int maxUnavailable)
        where T : IResource => builder.WithAnnotation(new RollingUpdateAnnotation(maxSurge, maxUnavailable));

    public static IResourceBuilder<T> WithTopologySpread<T>(this IResourceBuilder<T> builder, int maxSkew = 1)
        where T : IResource => builder.WithAnnotation(new TopologySpreadAnnotation(maxSkew));

    public static IResourceBuilder<T> WithPersistentStorage<T>(this IResourceBuilder<T> builder, string size, string mountPath)
        where T : IResource => builder.WithAnnotation(new PersistentStorageAnnotation(size, mountPath));

    /// <param name="controllerSettings">Annotations for the ingress controller (ingress-nginx's, with the default class).</param>
    /// <param name="path">The path prefix routed to the resource; the resource serves it as its path base.</param>
    public static IResourceBuilder<T> WithIngress<T>(this IResourceBuilder<T> builder, IResourceBuilder<ParameterResource> host,
        string className = "nginx", string? tlsSecretName = null, IReadOnlyDictionary<string, string>? controllerSettings = null, string path = "/")
        where T : IResource => builder.WithAnnotation(new IngressAnnotation(host.Resource, className, tlsSecretName ?? builder.Resource.Name + "-tls",
            controllerSettings ?? new Dictionary<string, string>(), path));

    public static IResourceBuilder<T> WithDeploymentImage<T>(this IResourceBuilder<T> builder, IResourceBuilder<ParameterResource> image)
        where T : IResource => builder.WithAnnotation(new DeploymentImageAnnotation(image.Resource));

    public static IResourceBuilder<T> WithConfigFiles<T>(this IResourceBuilder<T> builder, string mountPath, IReadOnlyDictionary<string, string> files)
        where T : IResource => builder.WithAnnotation(new ConfigFilesAnnotation(mountPath, files));

    public static IResourceBuilder<T> WithHeadlessService<T>(this IResourceBuilder<T> builder)
        where T : IResource => builder.WithAnnotation(new HeadlessServiceAnnotation());

#pragma warning disable ASPIREPROBES001 // The probe type enum is experimental; it is the model's own vocabulary for probes.
    public static IResourceBuilder<T> WithExecProbe<T>(this IResourceBuilder<T> builder, ProbeType type, string[] command,
        int initialDelaySeconds = 0, int periodSeconds = 10, int timeoutSeconds = 3, int failureThreshold = 3)
        where T : IResource =>
        builder.WithAnnotation(new ExecProbeAnnotation(type, command, initialDelaySeconds, periodSeconds, timeoutSeconds, failureThreshold));
#pragma warning restore ASPIREPROBES001
}
