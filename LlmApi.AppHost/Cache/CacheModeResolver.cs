namespace LlmApi.AppHost.Cache;

/// <summary>
/// Chooses how Redis is provided before the model is built: a container resource on a machine without a container
/// runtime would make the AppHost wait for it forever.
/// </summary>
internal static class CacheModeResolver
{
    public const string ModeSetting = "Cache:Mode";
    public const string TopologySetting = "Cache:Topology";
    public const string RedisServerPathSetting = "Cache:RedisServerPath";

    /// <summary>The topology and mode to use, or an error message that names the remedies.</summary>
    public static CacheSetup Resolve(IDistributedApplicationBuilder builder)
    {
        var configuredTopology = builder.Configuration[TopologySetting];
        if (!Enum.TryParse<CacheTopology>(string.IsNullOrWhiteSpace(configuredTopology) ? nameof(CacheTopology.Single) : configuredTopology, ignoreCase: true, out var topology)
            || !Enum.IsDefined(topology))
        {
            return CacheSetup.Failed($"{TopologySetting} is '{configuredTopology}'; use single, sentinel or external.");
        }

        var configured = builder.Configuration[ModeSetting];
        if (!Enum.TryParse<CacheMode>(string.IsNullOrWhiteSpace(configured) ? nameof(CacheMode.Auto) : configured, ignoreCase: true, out var mode)
            || !Enum.IsDefined(mode))
        {
            return CacheSetup.Failed($"{ModeSetting} is '{configured}'; use auto, container, executable or external.");
        }

        // Cache:Mode=external predates the topology setting and means the same as Cache:Topology=external.
        if (topology == CacheTopology.External || mode == CacheMode.External)
        {
            return new CacheSetup(CacheTopology.External, CacheMode.External, null, null);
        }

        // Publishing describes a deployment, which runs Redis from its image; no local runtime is needed for that.
        if (builder.ExecutionContext.IsPublishMode)
        {
            return new CacheSetup(topology, CacheMode.Container, null, null);
        }

        var redisServer = FindRedisServer(builder.Configuration[RedisServerPathSetting]);
        if (topology == CacheTopology.Sentinel)
        {
            // Six processes that must reach each other by address: executables on loopback, not containers.
            return mode == CacheMode.Container
                ? CacheSetup.Failed($"{TopologySetting}=sentinel runs redis-server processes locally; leave {ModeSetting} at auto or executable.")
                : redisServer is null
                    ? CacheSetup.Failed($"{TopologySetting}=sentinel needs redis-server on PATH (or at {RedisServerPathSetting}): apt-get install -y redis-server.")
                    : new CacheSetup(topology, CacheMode.Executable, redisServer, null);
        }

        var (resolved, path, error) = mode switch
        {
            CacheMode.Auto when ContainerRuntime.Answers => (CacheMode.Container, (string?)null, (string?)null),
            CacheMode.Auto when redisServer is not null => (CacheMode.Executable, redisServer, null),
            CacheMode.Auto => (mode, null,
                "No Redis for the 'cache' resource: no container runtime answered and redis-server is not on PATH. " +
                "Install Docker (or Podman) and start it, or install redis-server (for example: apt-get install -y redis-server). " +
                $"To use an existing Redis, set {ModeSetting}=external and ConnectionStrings:cache."),
            CacheMode.Executable when redisServer is null => (mode, null,
                $"{ModeSetting} is executable but redis-server was not found on PATH (or at {RedisServerPathSetting}). " +
                "Install redis-server (for example: apt-get install -y redis-server), or use Docker with Cache:Mode=container."),
            _ => (mode, redisServer, null),
        };
        return new CacheSetup(topology, resolved, path, error);
    }

    private static string? FindRedisServer(string? configuredPath)
    {
        if (!string.IsNullOrWhiteSpace(configuredPath))
        {
            return File.Exists(configuredPath) ? Path.GetFullPath(configuredPath) : null;
        }

        var fileName = OperatingSystem.IsWindows() ? "redis-server.exe" : "redis-server";
        return (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, fileName))
            .FirstOrDefault(File.Exists);
    }
}

/// <summary>What <see cref="CacheModeResolver"/> decided: the topology, how its nodes run, and any error.</summary>
internal sealed record CacheSetup(CacheTopology Topology, CacheMode Mode, string? RedisServerPath, string? Error)
{
    public static CacheSetup Failed(string error) => new(CacheTopology.Single, CacheMode.Auto, null, error);
}
