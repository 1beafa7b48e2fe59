#pragma warning disable ASPIREPROBES001 // Probe annotations are experimental; they are how a publisher reads probes from the model.

namespace LlmApi.AppHost;

internal static class ProbeExtensions
{
    /// <summary>
    /// Records an HTTP probe for publishers without adding a second Aspire health check. <c>WithHttpProbe</c> derives
    /// the health check key from the path, so two probes on one path (startup and liveness on <c>/alive</c>) throw;
    /// the health check of the first one already covers the path while the AppHost runs.
    /// </summary>
    public static IResourceBuilder<T> WithAdditionalHttpProbe<T>(
        this IResourceBuilder<T> builder, ProbeType type, string path, string endpointName,
        int initialDelaySeconds = 0, int periodSeconds = 10, int timeoutSeconds = 1, int failureThreshold = 3)
        where T : IResourceWithEndpoints
    {
        return builder.WithAnnotation(new EndpointProbeAnnotation
        {
            Type = type,
            Path = path,
            EndpointReference = builder.GetEndpoint(endpointName),
            InitialDelaySeconds = initialDelaySeconds,
            PeriodSeconds = periodSeconds,
            TimeoutSeconds = timeoutSeconds,
            FailureThreshold = failureThreshold,
            SuccessThreshold = 1,
        });
    }
}
