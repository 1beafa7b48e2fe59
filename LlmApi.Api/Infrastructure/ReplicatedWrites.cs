using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>How many replicas must hold a write before the API acknowledges it (<c>Redis:*</c>).</summary>
internal sealed class ReplicationOptions
{
    public const string Section = "Redis";

    /// <summary>
    /// 0 (single node, or a cluster): writes are acknowledged when the primary has them. With Sentinel, set it to
    /// the number of replicas: a write is then acknowledged only when every replica has it, so the replica Sentinel
    /// promotes has every write the API acknowledged, whichever it picks.
    /// </summary>
    [Range(0, 10)]
    public int WaitForReplicas { get; set; }

    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30")]
    public TimeSpan ReplicationTimeout { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Acknowledges a write only once enough replicas have it (Redis <c>WAIT</c>). During a failover the old primary can
/// take writes its promoted replica never sees, and Sentinel discards them when it makes the old primary a replica;
/// a write that did not reach every replica in time is answered 503 instead of being acknowledged and lost.
/// <c>WAIT</c> covers everything written before it on the connection, so one call per request suffices.
/// </summary>
internal sealed class ReplicatedWritesFilter(IConnectionMultiplexer redis, IOptions<ReplicationOptions> options) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var result = await next(context);
        var needed = options.Value.WaitForReplicas;
        var method = context.HttpContext.Request.Method;
        if (needed == 0 || HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method))
        {
            return result;
        }

        var acknowledged = (long)await redis.GetDatabase().ExecuteAsync("WAIT",
            [needed, (long)options.Value.ReplicationTimeout.TotalMilliseconds], CommandFlags.DemandMaster);
        return acknowledged >= needed
            ? result
            : throw new ReplicationTimeoutException($"The write reached {acknowledged} of {needed} replicas in time.");
    }
}

/// <summary>A write not confirmed by enough replicas: answered 503, like any moment the data store is changing over.</summary>
internal sealed class ReplicationTimeoutException(string message) : Exception(message);
