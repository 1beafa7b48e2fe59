using System.Security.Cryptography;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// A private Redis, a test model upstream, and two API instances sharing them, the way replicas share one Redis in
/// production. Tests that need "another replica" use <see cref="Replica"/>.
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;

    /// <summary>The model upstream both instances call (Ollama wire format).</summary>
    public FakeUpstream Upstream { get; private set; } = null!;

    public ApiFactory Api { get; private set; } = null!;

    public ApiFactory Replica { get; private set; } = null!;

    /// <summary>The signing key both instances share (48 random bytes, base64).</summary>
    public string JwtSigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));

    public string OperatorKey { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["ConnectionStrings:cache"] = Redis.ConnectionString,
        ["Jwt:SigningKey"] = JwtSigningKey,
        ["Operator:Key"] = OperatorKey,
        ["ConnectionStrings:llm"] = Upstream.ConnectionString("Ollama"),
    };

    public HttpClient CreateClient() => Api.CreateClient();

    public HttpClient CreateReplicaClient() => Replica.CreateClient();

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Upstream = await FakeUpstream.StartAsync();
        Api = new ApiFactory(Settings);
        Replica = new ApiFactory(Settings);
        Api.StartServer();
        Replica.StartServer();
    }

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        await Replica.DisposeAsync();
        await Redis.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class SharedApi : ICollectionFixture<ApiFixture>
{
    public const string Name = "API over a private Redis";
}
