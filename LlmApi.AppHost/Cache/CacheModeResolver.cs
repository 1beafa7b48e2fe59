namespace LlmApi.AppHost.Cache;

/// <summary>
/// Chooses how Redis is provided before the model is built: a container resource on a machine without a container
/// runtime would make the AppHost wait for it forever.
/// </summary>
internal static class CacheModeResolver
{
    public const string ModeSetting = "Cache:Mode";
    public const string RedisServerPathSetting = "Cache:RedisServerPath";

    /// <summary>The mode to use, or an error message that names the remedies.</summary>
    public static (CacheMode Mode, string? RedisServerPath, string? Error) Resolve(IDistributedApplicationBuilder builder)
    {
        var configured = builder.Configuration[ModeSetting];
        if (!Enum.TryParse<CacheMode>(string.IsNullOrWhiteSpace(configured) ? nameof(CacheMode.Auto) : configured, ignoreCase: true, out var mode)
            || !Enum.IsDefined(mode))
        {
            return (default, null, $"{ModeSetting} is '{configured}'; use auto, container, executable or external.");
        }

        // Publishing describes a deployment, which runs Redis from its image; no local runtime is needed for that.
        if (builder.ExecutionContext.IsPublishMode)
        {
            return (mode == CacheMode.External ? CacheMode.External : CacheMode.Container, null, null);
        }

        var redisServer = FindRedisServer(builder.Configuration[RedisServerPathSetting]);
        return mode switch
        {
            CacheMode.Auto when ContainerRuntime.Answers => (CacheMode.Container, null, null),
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
