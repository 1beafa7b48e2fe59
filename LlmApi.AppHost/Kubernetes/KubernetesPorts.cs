namespace LlmApi.AppHost.Kubernetes;

/// <summary>
/// The port rules of the Kubernetes output, in one place. A container listens on its endpoint's target port; a
/// project, which the model gives no fixed port, listens on 8080 (the port .NET container images serve HTTP on).
/// Its Service listens on the endpoint's port, or on 80 for HTTP and on the container port otherwise. A project's
/// HTTPS endpoint is left out: in the cluster TLS ends at the Ingress, and the pod serves plain HTTP behind it.
/// </summary>
internal sealed record KubernetesPorts(string Name, string Scheme, int ContainerPort, int ServicePort, bool IsExternal)
{
    public const int ProjectHttpPort = 8080;

    public static IReadOnlyList<KubernetesPorts> Of(IResource resource) =>
        resource.Annotations.OfType<EndpointAnnotation>()
            .Where(e => !(resource is ProjectResource && e.UriScheme == "https"))
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .Select(e =>
            {
                var containerPort = e.TargetPort ?? (resource is ProjectResource && e.UriScheme is "http" or "https"
                    ? ProjectHttpPort
                    : throw new InvalidOperationException($"Endpoint '{e.Name}' of '{resource.Name}' has no target port."));
                var servicePort = e.UriScheme == "http" ? 80 : e.Port ?? containerPort;
                return new KubernetesPorts(e.Name, e.UriScheme, containerPort, servicePort, e.IsExternal);
            })
            .ToList();

    public static KubernetesPorts For(IResource resource, string endpointName) =>
        Of(resource).SingleOrDefault(p => p.Name == endpointName)
        ?? throw new InvalidOperationException($"'{resource.Name}' has no endpoint '{endpointName}'.");
}
