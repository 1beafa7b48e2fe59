using System.Reflection;

namespace LlmApi.Api.Root;

internal static class RootApi
{
    public const string ServiceName = "LLM API Layer";

    public static IEndpointRouteBuilder MapRootApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", GetServiceInfo).WithName("ServiceInfo").WithTags("Service").ExcludeFromDescription();
        return app;
    }

    private static ServiceInfo? _cachedInfo;

    /// <summary>
    /// Name, version and the route table, read from the endpoints themselves so the list cannot go stale. The route
    /// table is fixed once the app runs, so the answer is built once.
    /// </summary>
    internal static Ok<ServiceInfo> GetServiceInfo(EndpointDataSource endpoints) =>
        TypedResults.Ok(_cachedInfo ??= BuildServiceInfo(endpoints));

    private static ServiceInfo BuildServiceInfo(EndpointDataSource endpoints)
    {
        var routes = endpoints.Endpoints
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["ANY"])
                .Select(method => $"{method} /{e.RoutePattern.RawText?.TrimStart('/')}"))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray();

        return new ServiceInfo(ServiceName, Version, "running", routes);
    }

    private static readonly string Version =
        typeof(RootApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";
}

internal sealed record ServiceInfo(string Name, string Version, string Status, IReadOnlyList<string> Endpoints);
