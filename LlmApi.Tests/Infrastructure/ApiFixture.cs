using System.Security.Cryptography;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// A private Redis, a test model upstream, and two API instances sharing them, the way replicas share one Redis in
/// production. Tests that need "another replica" use <see cref="Replica"/>.
/// </summary>
public class ApiFixture : IAsyncLifetime
{
    public ITestRedis Redis { get; private set; } = null!;

    /// <summary>The model upstream both instances call (Ollama wire format).</summary>
    public FakeUpstream Upstream { get; private set; } = null!;

    public ApiFactory Api { get; private set; } = null!;

    public ApiFactory Replica { get; private set; } = null!;

    /// <summary>A model server speaking the OpenAI format under an SDK-style base URL with a path of its own.</summary>
    public FakeUpstream OpenAiUpstream { get; private set; } = null!;

    /// <summary>An instance whose one upstream (<c>oai</c>) speaks the OpenAI format, sharing Redis with the others.</summary>
    public ApiFactory OpenAiBacked { get; private set; } = null!;

    /// <summary>The signing key both instances share (48 random bytes, base64).</summary>
    public string JwtSigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));

    public string OperatorKey { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    public IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["ConnectionStrings:cache"] = Redis.ConnectionString,
        ["Jwt:SigningKey"] = JwtSigningKey,
        ["Operator:Key"] = OperatorKey,
        ["ConnectionStrings:llm"] = Upstream.ConnectionString("Ollama"),
        // Every test calls from 127.0.0.1: per-address limits are tested with instances of their own.
        ["Throttling:RegistrationsPerHour"] = "1000000",
        ["Throttling:AddressFailures"] = "1000000",
    };

    public HttpClient CreateClient() => Api.CreateCheckedClient();

    public HttpClient CreateReplicaClient() => Replica.CreateCheckedClient();

    public HttpClient CreateOpenAiBackedClient() => OpenAiBacked.CreateCheckedClient();

    public async Task InitializeAsync()
    {
        Redis = await StartRedisAsync();
        Upstream = await FakeUpstream.StartAsync();
        OpenAiUpstream = await FakeUpstream.StartAsync("/openai/v1", ["gpt-test", "mistral", "gated", "embedder", "garbage", "hollow", "ragged", "cutoff", "twofold"]);
        Api = new ApiFactory(Settings);
        Replica = new ApiFactory(Settings);
        var openAi = new Dictionary<string, string?>(Settings)
        {
            ["ConnectionStrings:llm"] = null,
            ["Llm:Upstreams:oai:Endpoint"] = OpenAiUpstream.OpenAiUrl,
            ["Llm:Upstreams:oai:Provider"] = "OpenAI",
            ["Llm:Upstreams:oai:Key"] = "sk-upstream-secret-key",
        };
        OpenAiBacked = new ApiFactory(openAi);
        Api.StartServer();
        Replica.StartServer();
        OpenAiBacked.StartServer();
    }

    /// <summary>The Redis the API instances share: one server here, a cluster in <see cref="ClusterApiFixture"/>.</summary>
    protected virtual async Task<ITestRedis> StartRedisAsync() => await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        await Replica.DisposeAsync();
        await OpenAiBacked.DisposeAsync();
        await Redis.DisposeAsync();
        await Upstream.DisposeAsync();
        await OpenAiUpstream.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class SharedApi : ICollectionFixture<ApiFixture>
{
    public const string Name = "API over a private Redis";
}

/// <summary>The same API instances, on a real Redis Cluster (three primaries, three replicas).</summary>
public sealed class ClusterApiFixture : ApiFixture
{
    protected override async Task<ITestRedis> StartRedisAsync() => await RedisCluster.StartAsync();
}

[CollectionDefinition(Name)]
public sealed class ClusterApi : ICollectionFixture<ClusterApiFixture>
{
    public const string Name = "API over a private Redis Cluster";
}
