using System.Text.Json;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// The gateway in front of a fleet: <c>gpu1</c> and <c>gpu2</c> (Ollama, models read from their lists, <c>gpu1</c>
/// with a key), <c>big1</c> (configured to serve only <c>big</c>, capped at one call), an alias
/// <c>gpt-4o-mini</c> for <c>llama3:latest</c>, and <c>big</c> falling back to <c>mistral</c>. Health settles in seconds.
/// </summary>
public sealed class FleetFixture : IAsyncLifetime
{
    public const string UpstreamKey = "sk-fleet-upstream-secret";

    public RedisServer Redis { get; private set; } = null!;

    public FakeUpstream Gpu1 { get; private set; } = null!;

    public FakeUpstream Gpu2 { get; private set; } = null!;

    public FakeUpstream Big { get; private set; } = null!;

    public ApiFactory Api { get; private set; } = null!;

    public HttpClient CreateClient() => Api.CreateClient();

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Gpu1 = await FakeUpstream.StartAsync();
        Gpu2 = await FakeUpstream.StartAsync();
        Big = await FakeUpstream.StartAsync();
        Api = new ApiFactory(new Dictionary<string, string?>
        {
            ["ConnectionStrings:cache"] = Redis.ConnectionString,
            ["Jwt:SigningKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48)),
            ["Llm:Upstreams:gpu1:Endpoint"] = Gpu1.Url,
            ["Llm:Upstreams:gpu1:Key"] = UpstreamKey,
            ["Llm:Upstreams:gpu2:Endpoint"] = Gpu2.Url,
            ["Llm:Upstreams:big1:Endpoint"] = Big.Url,
            ["Llm:Upstreams:big1:Models:0"] = "big",
            ["Llm:Upstreams:big1:MaxConcurrency"] = "1",
            ["Llm:Aliases:gpt-4o-mini"] = "llama3:latest",
            ["Llm:Fallbacks:big"] = "mistral",
            ["Llm:Health:ProbeInterval"] = "00:00:01",
            ["Llm:Health:BreakDuration"] = "00:00:02",
            ["Llm:Health:MinimumThroughput"] = "2",
            ["Llm:Health:ProbeFailuresToEject"] = "1",
            ["Llm:AttemptTimeout"] = "00:00:02",
            ["Throttling:RegistrationsPerHour"] = "1000000",
        });
        Api.StartServer();
        await AllInRotationAsync();
    }

    /// <summary>Waits until every upstream is back in rotation (tests leave the fleet as they found it).</summary>
    public async Task AllInRotationAsync()
    {
        using var client = CreateClient();
        await Eventually.MatchAsync(async () => await StatesAsync(client), s => s.Count == 3 && s.Values.All(v => v == "Healthy"),
            TimeSpan.FromSeconds(15), "every upstream in rotation");
    }

    public static async Task<Dictionary<string, string>> StatesAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/llm/health");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("upstreams").EnumerateArray()
            .ToDictionary(u => u.GetProperty("name").GetString()!, u => u.GetProperty("state").GetString()!);
    }

    public async Task DisposeAsync()
    {
        await Api.DisposeAsync();
        await Gpu1.DisposeAsync();
        await Gpu2.DisposeAsync();
        await Big.DisposeAsync();
        await Redis.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class Fleet : ICollectionFixture<FleetFixture>
{
    public const string Name = "Gateway in front of a fleet of upstreams";
}
