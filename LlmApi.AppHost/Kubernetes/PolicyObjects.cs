using k8s.Models;

namespace LlmApi.AppHost.Kubernetes;

/// <summary>The objects that carry deployment policy: autoscaler, disruption budget, ingress, network policy.</summary>
internal static class PolicyObjects
{
    public static V2HorizontalPodAutoscaler Autoscaler(V1ObjectMeta metadata, string targetKind, string targetName, AutoscalingAnnotation a) => new()
    {
        ApiVersion = "autoscaling/v2",
        Kind = "HorizontalPodAutoscaler",
        Metadata = metadata,
        Spec = new V2HorizontalPodAutoscalerSpec
        {
            ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = targetKind, Name = targetName },
            MinReplicas = a.MinReplicas,
            MaxReplicas = a.MaxReplicas,
            Metrics = [Utilization("cpu", a.CpuUtilizationPercent), Utilization("memory", a.MemoryUtilizationPercent)],
            Behavior = new V2HorizontalPodAutoscalerBehavior
            {
                ScaleUp = new V2HPAScalingRules
                {
                    StabilizationWindowSeconds = 0,
                    SelectPolicy = "Max",
                    Policies =
                    [
                        new V2HPAScalingPolicy { Type = "Percent", Value = a.ScaleUpPercent, PeriodSeconds = a.ScaleUpPeriodSeconds },
                        new V2HPAScalingPolicy { Type = "Pods", Value = a.ScaleUpPods, PeriodSeconds = a.ScaleUpPeriodSeconds },
                    ],
                },
                ScaleDown = new V2HPAScalingRules
                {
                    StabilizationWindowSeconds = a.ScaleDownStabilizationSeconds,
                    SelectPolicy = "Min",
                    Policies =
                    [
                        new V2HPAScalingPolicy { Type = "Percent", Value = a.ScaleDownPercent, PeriodSeconds = a.ScaleDownPeriodSeconds },
                        new V2HPAScalingPolicy { Type = "Pods", Value = a.ScaleDownPods, PeriodSeconds = a.ScaleDownPeriodSeconds },
                    ],
                },
            },
        },
    };

    private static V2MetricSpec Utilization(string resource, int percent) => new()
    {
        Type = "Resource",
        Resource = new V2ResourceMetricSource
        {
            Name = resource,
            Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = percent },
        },
    };

    public static V1PodDisruptionBudget DisruptionBudget(V1ObjectMeta metadata, IDictionary<string, string> selector, DisruptionBudgetAnnotation budget) => new()
    {
        ApiVersion = "policy/v1",
        Kind = "PodDisruptionBudget",
        Metadata = metadata,
        Spec = new V1PodDisruptionBudgetSpec { MinAvailable = budget.MinAvailable, Selector = new V1LabelSelector { MatchLabels = selector } },
    };

    public static V1Ingress Ingress(V1ObjectMeta metadata, string host, IngressAnnotation ingress, KubernetesPorts port, string serviceName) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "Ingress",
        Metadata = metadata,
        Spec = new V1IngressSpec
        {
            IngressClassName = ingress.ClassName,
            Tls = [new V1IngressTLS { Hosts = [host], SecretName = ingress.TlsSecretName }],
            Rules =
            [
                new V1IngressRule
                {
                    Host = host,
                    Http = new V1HTTPIngressRuleValue
                    {
                        Paths =
                        [
                            new V1HTTPIngressPath
                            {
                                Path = ingress.Path,
                                PathType = "Prefix",
                                Backend = new V1IngressBackend
                                {
                                    Service = new V1IngressServiceBackend { Name = serviceName, Port = new V1ServiceBackendPort { Name = port.Name } },
                                },
                            },
                        ],
                    },
                },
            ],
        },
    };

    /// <summary>
    /// Admits traffic only on the resource's ports; when other resources reference it, only from their pods.
    /// </summary>
    public static V1NetworkPolicy NetworkPolicy(
        V1ObjectMeta metadata, IDictionary<string, string> selector, IReadOnlyList<KubernetesPorts> ports, IReadOnlyList<string> allowedClients) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "NetworkPolicy",
        Metadata = metadata,
        Spec = new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = selector },
            PolicyTypes = ["Ingress"],
            Ingress = ports.Count == 0 ? [] :
            [
                new V1NetworkPolicyIngressRule
                {
                    Ports = ports.Select(p => new V1NetworkPolicyPort { Port = p.ContainerPort, Protocol = "TCP" }).ToList(),
                    FromProperty = allowedClients.Count == 0 ? null :
                    [
                        new V1NetworkPolicyPeer
                        {
                            PodSelector = new V1LabelSelector
                            {
                                MatchExpressions =
                                [
                                    new V1LabelSelectorRequirement
                                    {
                                        Key = KubernetesManifestGenerator.NameLabel,
                                        OperatorProperty = "In",
                                        Values = allowedClients.ToList(),
                                    },
                                ],
                            },
                        },
                    ],
                },
            ],
        },
    };
}
