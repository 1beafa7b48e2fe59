#pragma warning disable ASPIREPROBES001 // Probe annotations are experimental; they are how the model records probes.

using k8s.Models;

namespace LlmApi.AppHost.Kubernetes;

/// <summary>The Kubernetes objects of one resource: config, workload, service and the policy objects it declares.</summary>
internal sealed class WorkloadBuilder
{
    private readonly IResource _resource;
    private readonly DistributedApplicationModel _model;
    private readonly KubernetesEnvironment _environment;
    private readonly IReadOnlyList<KubernetesPorts> _ports;
    /// <summary>Replicas spread over nodes first, then over zones.</summary>
    private static readonly string[] SpreadTopologies = ["kubernetes.io/hostname", "topology.kubernetes.io/zone"];

    private readonly SortedSet<string> _secretKeys = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, string> _config = new(StringComparer.Ordinal);
    private readonly List<V1EnvVar> _env = [];
    private readonly List<string> _args = [];
    private string _image = string.Empty;
    private string? _ingressHost;

    private WorkloadBuilder(IResource resource, DistributedApplicationModel model, KubernetesEnvironment environment)
    {
        _resource = resource;
        _model = model;
        _environment = environment;
        _ports = KubernetesPorts.Of(resource);
    }

    public IReadOnlyCollection<string> SecretKeys => _secretKeys;

    public List<object> Objects { get; } = [];

    private string Name => _resource.Name;

    private string ConfigMapName => Name + "-config";

    private string FilesConfigMapName => Name + "-files";

    private ConfigFilesAnnotation? Files => _resource.Annotations.OfType<ConfigFilesAnnotation>().LastOrDefault();

    public static async Task<WorkloadBuilder> CreateAsync(
        IResource resource, DistributedApplicationModel model, DistributedApplicationExecutionContext executionContext,
        KubernetesEnvironment environment, ValueRenderer renderer, CancellationToken cancellationToken)
    {
        var builder = new WorkloadBuilder(resource, model, environment);
        await builder.RenderEnvironmentAsync(executionContext, renderer, cancellationToken);
        await builder.RenderArgumentsAsync(executionContext, renderer, cancellationToken);
        builder._image = await builder.RenderImageAsync(renderer);
        if (resource.TryGetLastAnnotation<IngressAnnotation>(out var ingress))
        {
            builder._ingressHost = (await renderer.RenderAsync(ingress.Host)).Text;
        }

        builder.Build();
        return builder;
    }

    private async Task RenderEnvironmentAsync(DistributedApplicationExecutionContext executionContext, ValueRenderer renderer, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        var context = new EnvironmentCallbackContext(executionContext, _resource, values, cancellationToken);
        foreach (var callback in _resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        var secretRefs = new List<V1EnvVar>();
        var composites = new List<V1EnvVar>();
        foreach (var (name, value) in values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            var rendered = await renderer.RenderAsync(value);
            _secretKeys.UnionWith(rendered.SecretKeys);
            if (rendered.SecretKeys.Count == 0)
            {
                _config[name] = rendered.Text;
            }
            else if (rendered.IsSingleSecret)
            {
                secretRefs.Add(SecretEnv(name, rendered.SecretKeys[0]));
            }
            else
            {
                composites.Add(new V1EnvVar { Name = name, Value = rendered.Text });
            }
        }

        // $(VAR) expands only variables defined earlier in the list, so the helpers for composite values come first.
        _env.AddRange(composites.SelectMany(c => SecretKeysIn(c.Value)).Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(key => SecretEnv(ValueRenderer.SecretVariable(key), key)));
        _env.AddRange(secretRefs);
        _env.AddRange(composites);
    }

    private IEnumerable<string> SecretKeysIn(string text) =>
        _secretKeys.Where(key => text.Contains(ValueRenderer.Placeholder(key), StringComparison.Ordinal));

    private async Task RenderArgumentsAsync(DistributedApplicationExecutionContext executionContext, ValueRenderer renderer, CancellationToken cancellationToken)
    {
        var args = new List<object>();
        var context = new CommandLineArgsCallbackContext(args, _resource, cancellationToken) { ExecutionContext = executionContext };
        foreach (var callback in _resource.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            await callback.Callback(context);
        }

        foreach (var arg in args)
        {
            var rendered = await renderer.RenderAsync(arg);
            _secretKeys.UnionWith(rendered.SecretKeys);
            _args.Add(rendered.Text);
            foreach (var key in rendered.SecretKeys.Where(k => _env.All(e => e.Name != ValueRenderer.SecretVariable(k))))
            {
                _env.Insert(0, SecretEnv(ValueRenderer.SecretVariable(key), key));
            }
        }
    }

    private async Task<string> RenderImageAsync(ValueRenderer renderer)
    {
        if (_resource.TryGetLastAnnotation<DeploymentImageAnnotation>(out var deployment))
        {
            return (await renderer.RenderAsync(deployment.Image)).Text;
        }

        if (_resource.TryGetLastAnnotation<ContainerImageAnnotation>(out var image))
        {
            var reference = $"{image.Image}:{image.Tag ?? "latest"}";
            return string.IsNullOrEmpty(image.Registry) ? reference : $"{image.Registry}/{reference}";
        }

        throw new InvalidOperationException($"'{Name}' has no image: declare one with WithDeploymentImage.");
    }

    private V1EnvVar SecretEnv(string name, string key) => new()
    {
        Name = name,
        ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = _environment.SecretName, Key = key } },
    };

    private SortedDictionary<string, string> Labels() => KubernetesManifestGenerator.Labels(_environment.ApplicationName, Name);

    private Dictionary<string, string> Selector() => new(StringComparer.Ordinal) { [KubernetesManifestGenerator.NameLabel] = Name };

    private V1ObjectMeta Metadata(string? name = null) => new() { Name = name ?? Name, NamespaceProperty = _environment.Namespace, Labels = Labels() };

    private void Build()
    {
        if (_config.Count > 0)
        {
            Objects.Add(new V1ConfigMap { ApiVersion = "v1", Kind = "ConfigMap", Metadata = Metadata(ConfigMapName), Data = _config });
        }

        if (Files is { } files)
        {
            Objects.Add(new V1ConfigMap
            {
                ApiVersion = "v1",
                Kind = "ConfigMap",
                Metadata = Metadata(FilesConfigMapName),
                Data = new SortedDictionary<string, string>(files.Files.ToDictionary(), StringComparer.Ordinal),
            });
        }

        var storage = _resource.Annotations.OfType<PersistentStorageAnnotation>().LastOrDefault();
        Objects.Add(storage is null ? Deployment() : StatefulSet(storage));
        if (_ports.Count > 0)
        {
            Objects.Add(Service());
        }

        if (_resource.TryGetLastAnnotation<AutoscalingAnnotation>(out var autoscaling))
        {
            Objects.Add(PolicyObjects.Autoscaler(Metadata(), storage is null ? "Deployment" : "StatefulSet", Name, autoscaling));
        }

        if (_resource.TryGetLastAnnotation<DisruptionBudgetAnnotation>(out var budget))
        {
            Objects.Add(PolicyObjects.DisruptionBudget(Metadata(), Selector(), budget));
        }

        if (_resource.TryGetLastAnnotation<IngressAnnotation>(out var ingress))
        {
            var metadata = Metadata();
            metadata.Annotations = ingress.ControllerSettings.Count == 0 ? null : new SortedDictionary<string, string>(ingress.ControllerSettings.ToDictionary(), StringComparer.Ordinal);
            Objects.Add(PolicyObjects.Ingress(metadata, _ingressHost!, ingress, _ports.Single(p => p.IsExternal && p.Scheme is "http" or "https"), Name));
        }

        // A resource behind the Ingress is reached from the ingress controller's pods as well as from the resources that
        // reference it (the API from the console): its ports stay open to any client; the others admit only referrers.
        Objects.Add(PolicyObjects.NetworkPolicy(Metadata(), Selector(), _ports, ingress is null ? ReferencedBy() : []));
    }

    /// <summary>Names of the resources that reference this one (WithReference), the only ones allowed to reach it.</summary>
    private List<string> ReferencedBy() =>
        _model.Resources
            .Where(r => r.Annotations.OfType<ResourceRelationshipAnnotation>().Any(a => a.Resource == _resource && a.Type == "Reference"))
            .Select(r => r.Name)
            .Order(StringComparer.Ordinal)
            .ToList();

    private V1Deployment Deployment()
    {
        var rolling = _resource.Annotations.OfType<RollingUpdateAnnotation>().LastOrDefault();
        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = Metadata(),
            Spec = new V1DeploymentSpec
            {
                Replicas = _resource.GetReplicaCount(),
                Selector = new V1LabelSelector { MatchLabels = Selector() },
                Strategy = rolling is null ? null : new V1DeploymentStrategy
                {
                    Type = "RollingUpdate",
                    RollingUpdate = new V1RollingUpdateDeployment { MaxSurge = rolling.MaxSurge, MaxUnavailable = rolling.MaxUnavailable },
                },
                Template = PodTemplate(storage: null),
            },
        };
    }

    private V1StatefulSet StatefulSet(PersistentStorageAnnotation storage) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "StatefulSet",
        Metadata = Metadata(),
        Spec = new V1StatefulSetSpec
        {
            Replicas = _resource.GetReplicaCount(),
            ServiceName = Name,
            Selector = new V1LabelSelector { MatchLabels = Selector() },
            Template = PodTemplate(storage),
            VolumeClaimTemplates =
            [
                new V1PersistentVolumeClaim
                {
                    Metadata = new V1ObjectMeta { Name = "data", Labels = Labels() },
                    Spec = new V1PersistentVolumeClaimSpec
                    {
                        AccessModes = ["ReadWriteOnce"],
                        Resources = new V1VolumeResourceRequirements
                        {
                            Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(storage.Size) },
                        },
                    },
                },
            ],
        },
    };

    private V1PodTemplateSpec PodTemplate(PersistentStorageAnnotation? storage)
    {
        var security = _resource.Annotations.OfType<SecurityContextAnnotation>().LastOrDefault();
        var writable = security?.WritablePaths ?? [];
        var container = new V1Container
        {
            Name = Name,
            Image = _image,
            Command = _resource is ContainerResource { Entrypoint: { Length: > 0 } entrypoint } ? [entrypoint] : null,
            Args = _args.Count > 0 ? _args : null,
            Ports = _ports.Count > 0 ? _ports.Select(p => new V1ContainerPort { Name = p.Name, ContainerPort = p.ContainerPort, Protocol = "TCP" }).ToList() : null,
            EnvFrom = _config.Count > 0 ? [new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = ConfigMapName } }] : null,
            Env = _env.Count > 0 ? _env : null,
            StartupProbe = Probe(ProbeType.Startup),
            LivenessProbe = Probe(ProbeType.Liveness),
            ReadinessProbe = Probe(ProbeType.Readiness),
            Resources = ComputeResources(),
            SecurityContext = security is null ? null : new V1SecurityContext
            {
                RunAsNonRoot = true,
                RunAsUser = security.RunAsUser,
                AllowPrivilegeEscalation = false,
                ReadOnlyRootFilesystem = security.ReadOnlyRootFilesystem,
                Capabilities = new V1Capabilities { Drop = ["ALL"] },
            },
            VolumeMounts = writable.Select((path, i) => new V1VolumeMount { Name = $"writable-{i}", MountPath = path })
                .Concat(storage is null ? Array.Empty<V1VolumeMount>() : [new V1VolumeMount { Name = "data", MountPath = storage.MountPath }])
                .Concat(Files is { } files ? [new V1VolumeMount { Name = "files", MountPath = files.MountPath, ReadOnlyProperty = true }] : Array.Empty<V1VolumeMount>())
                .ToList() is { Count: > 0 } mounts ? mounts : null,
        };

        return new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = Labels() },
            Spec = new V1PodSpec
            {
                // The workloads call no Kubernetes API: no token to steal, and no service env vars to leak into config.
                AutomountServiceAccountToken = false,
                EnableServiceLinks = false,
                Containers = [container],
                Volumes = writable.Select((_, i) => new V1Volume { Name = $"writable-{i}", EmptyDir = new V1EmptyDirVolumeSource() })
                    .Concat(Files is null ? Array.Empty<V1Volume>() : [new V1Volume { Name = "files", ConfigMap = new V1ConfigMapVolumeSource { Name = FilesConfigMapName } }])
                    .ToList() is { Count: > 0 } volumes ? volumes : null,
                SecurityContext = security is null ? null : new V1PodSecurityContext
                {
                    RunAsNonRoot = true,
                    RunAsUser = security.RunAsUser,
                    RunAsGroup = security.RunAsUser,
                    FsGroup = security.RunAsUser,
                    SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                },
                TopologySpreadConstraints = _resource.TryGetLastAnnotation<TopologySpreadAnnotation>(out var spread)
                    ? SpreadTopologies.Select(key => new V1TopologySpreadConstraint
                    {
                        MaxSkew = spread.MaxSkew,
                        TopologyKey = key,
                        WhenUnsatisfiable = "ScheduleAnyway",
                        LabelSelector = new V1LabelSelector { MatchLabels = Selector() },
                    }).ToList()
                    : null,
            },
        };
    }

    private V1Probe? Probe(ProbeType type)
    {
        if (_resource.Annotations.OfType<EndpointProbeAnnotation>().LastOrDefault(p => p.Type == type) is { } http)
        {
            var port = _ports.Single(p => p.Name == http.EndpointReference.EndpointName);
            return new V1Probe
            {
                HttpGet = new V1HTTPGetAction { Path = http.Path, Port = port.ContainerPort },
                InitialDelaySeconds = http.InitialDelaySeconds,
                PeriodSeconds = http.PeriodSeconds,
                TimeoutSeconds = http.TimeoutSeconds,
                FailureThreshold = http.FailureThreshold,
                SuccessThreshold = 1,
            };
        }

        if (_resource.Annotations.OfType<ExecProbeAnnotation>().LastOrDefault(p => p.Type == type) is { } exec)
        {
            return new V1Probe
            {
                Exec = new V1ExecAction { Command = exec.Command.ToList() },
                InitialDelaySeconds = exec.InitialDelaySeconds,
                PeriodSeconds = exec.PeriodSeconds,
                TimeoutSeconds = exec.TimeoutSeconds,
                FailureThreshold = exec.FailureThreshold,
                SuccessThreshold = 1,
            };
        }

        return null;
    }

    private V1ResourceRequirements? ComputeResources() =>
        _resource.Annotations.OfType<ComputeResourcesAnnotation>().LastOrDefault() is { } r
            ? new V1ResourceRequirements
            {
                Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(r.CpuRequest), ["memory"] = new(r.MemoryRequest) },
                Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(r.CpuLimit), ["memory"] = new(r.MemoryLimit) },
            }
            : null;

    private V1Service Service() => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Metadata(),
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            ClusterIP = _resource.HasAnnotationOfType<HeadlessServiceAnnotation>() ? "None" : null,
            PublishNotReadyAddresses = _resource.HasAnnotationOfType<HeadlessServiceAnnotation>() ? true : null,
            Selector = Selector(),
            Ports = _ports.Select(p => new V1ServicePort { Name = p.Name, Port = p.ServicePort, TargetPort = p.Name, Protocol = "TCP" }).ToList(),
        },
    };
}
