using StackExchange.Redis;

namespace LlmApi.Tests.Infrastructure;

/// <summary>A Redis deployment private to a test collection: a single server, or a cluster.</summary>
public interface ITestRedis : IAsyncDisposable
{
    /// <summary>How the API connects to it (StackExchange.Redis syntax).</summary>
    string ConnectionString { get; }

    /// <summary>A connection of the test itself, for looking at what the API wrote.</summary>
    ConnectionMultiplexer Connection { get; }

    IDatabase Database { get; }

    /// <summary>Keys matching <paramref name="pattern"/> across every primary.</summary>
    Task<int> CountKeysAsync(string pattern);
}
