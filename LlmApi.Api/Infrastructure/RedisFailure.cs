using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// What a Redis command that failed looks like to the API: the store unreachable, no answer in time, the server's or the
/// client's refusal, or the socket closed under a write. Code that carries on after such a failure (an action that has
/// already taken effect, a health check that reports rather than fails) catches exactly these, and nothing else.
/// </summary>
internal static class RedisFailure
{
    /// <remarks>
    /// <see cref="RedisTimeoutException"/> is a <see cref="TimeoutException"/> and <see cref="RedisCommandException"/> a
    /// plain <see cref="Exception"/>: neither is a <see cref="RedisException"/>.
    /// </remarks>
    public static bool Is(Exception exception) =>
        exception is RedisException or RedisTimeoutException or RedisCommandException || IsSocketClosedMidWrite(exception);

    /// <summary>
    /// A command written to a Redis connection whose socket has just closed (its node killed): StackExchange.Redis lets
    /// the pipe's own <see cref="InvalidOperationException"/> through instead of a <see cref="RedisConnectionException"/>.
    /// Seen in SentinelFailoverTests after <c>kill -9</c> of the primary.
    /// </summary>
    public static bool IsSocketClosedMidWrite(Exception exception) =>
        exception is InvalidOperationException { Source: "System.IO.Pipelines" } pipe
        && pipe.StackTrace?.Contains("StackExchange.Redis.PhysicalConnection", StringComparison.Ordinal) == true;
}
