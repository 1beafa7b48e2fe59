namespace LlmApi.AppHost.Cache;

/// <summary>
/// <c>redis-server</c> from the machine's PATH, run by the AppHost's orchestrator as a process: the way to get Redis
/// where no container runtime exists. It offers the same connection string shape as the container resource.
/// </summary>
internal sealed class RedisServerResource(string name, string command, string dataDirectory, ParameterResource password)
    : ExecutableResource(name, command, dataDirectory), IResourceWithConnectionString
{
    public const string PrimaryEndpointName = "tcp";

    private EndpointReference? _primaryEndpoint;

    public EndpointReference PrimaryEndpoint => _primaryEndpoint ??= new(this, PrimaryEndpointName);

    /// <summary>Folder that holds the append-only file and the generated redis.conf; never inside the repository.</summary>
    public string DataDirectory { get; } = dataDirectory;

    public ParameterResource Password { get; } = password;

    public string ConfigurationFile => Path.Combine(DataDirectory, "redis.conf");

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)},password={Password}");
}
