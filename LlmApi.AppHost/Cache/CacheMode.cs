namespace LlmApi.AppHost.Cache;

/// <summary>How the AppHost provides Redis (setting <c>Cache:Mode</c>).</summary>
internal enum CacheMode
{
    /// <summary>A container when a container runtime answers, else <c>redis-server</c> from PATH.</summary>
    Auto,

    /// <summary>The Redis container image with a data volume (needs Docker or Podman).</summary>
    Container,

    /// <summary><c>redis-server</c> from PATH, run by the AppHost as an executable on loopback.</summary>
    Executable,

    /// <summary>An existing Redis, given as the connection string parameter <c>ConnectionStrings:cache</c>.</summary>
    External,
}
