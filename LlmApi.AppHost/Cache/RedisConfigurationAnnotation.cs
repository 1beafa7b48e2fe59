namespace LlmApi.AppHost.Cache;

/// <summary>
/// Redis server settings (redis.conf directives) that must hold wherever this Redis runs: locally as a container or
/// an executable, and in the Kubernetes output. Keeping them on the resource makes the AppHost their only source.
/// </summary>
internal sealed class RedisConfigurationAnnotation(IReadOnlyList<KeyValuePair<string, string>> settings) : IResourceAnnotation
{
    public IReadOnlyList<KeyValuePair<string, string>> Settings { get; } = settings;

    /// <summary>The settings as redis-server command-line options, in declaration order.</summary>
    public IEnumerable<string> ToArguments() =>
        Settings.SelectMany(s => new[] { "--" + s.Key, s.Value });
}
