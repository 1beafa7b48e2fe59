namespace LlmApi.AppHost.Cache;

/// <summary>The shape of the Redis deployment (setting <c>Cache:Topology</c>).</summary>
internal enum CacheTopology
{
    /// <summary>One Redis node: a container or <c>redis-server</c> locally, one StatefulSet pod in Kubernetes.</summary>
    Single,

    /// <summary>
    /// A primary, two replicas and three sentinels (quorum 2) that promote a replica when the primary fails:
    /// executables locally, two StatefulSets with headless Services, ConfigMaps and disruption budgets in Kubernetes.
    /// </summary>
    Sentinel,

    /// <summary>
    /// A Redis the operator runs (a managed Redis, a Redis Cluster or a Sentinel group), given by the connection string
    /// <c>ConnectionStrings:cache</c>; nothing Redis-shaped is run or generated.
    /// </summary>
    External,
}
