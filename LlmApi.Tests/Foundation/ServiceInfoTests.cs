using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Foundation;

[Collection(SharedApi.Name)]
public class ServiceInfoTests(ApiFixture fixture)
{
    [Fact]
    public async Task Root_names_the_service_its_version_and_its_endpoints()
    {
        using var client = fixture.CreateClient();

        var info = await client.GetFromJsonAsync<JsonElement>("/");

        Assert.Equal("LLM API Layer", info.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(info.GetProperty("version").GetString()));
        var endpoints = info.GetProperty("endpoints").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("GET /", endpoints);
        Assert.Contains(endpoints, e => e!.EndsWith(" /health", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Health_is_ok_and_names_the_redis_check_when_redis_answers()
    {
        using var client = fixture.CreateClient();

        using var response = await client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("StackExchange.Redis").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Metrics_are_exposed_for_prometheus()
    {
        // An instance of its own: OpenTelemetry's listener sees the instruments of every host in the test process, and
        // a long-lived host's meter provider counts all it ever saw against its stream limit (disposed ones too), so
        // late instruments of the shared instances can be dropped. One host per process, as deployed, has no such issue.
        await using var api = new ApiFactory(fixture.Settings);
        api.StartServer();
        using var client = api.CreateClient();
        (await client.GetAsync("/")).Dispose();

        // A request is measured as it ends, which may be just after its client has the answer; and scrapes are
        // cached briefly: wait for the measurement rather than racing it.
        await Eventually.MatchAsync(() => client.GetStringAsync("/metrics"), m => m.Contains("http_server_request_duration_seconds", StringComparison.Ordinal),
            TimeSpan.FromSeconds(5), "the request is measured");

        // The per-request detail instruments are dropped unless asked for (Metrics:Detailed).
        var metrics = await client.GetStringAsync("/metrics");
        Assert.DoesNotContain("aspnetcore_routing_match_attempts", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("aspnetcore_memory_pool", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_detailed_metrics_the_frameworks_detail_instruments_are_exposed_too()
    {
        await using var api = new ApiFactory(new Dictionary<string, string?>(fixture.Settings) { ["Metrics:Detailed"] = "true" });
        api.StartServer();
        using var client = api.CreateClient();
        (await client.GetAsync("/")).Dispose();

        await Eventually.MatchAsync(() => client.GetStringAsync("/metrics"),
            m => m.Contains("aspnetcore_routing_match_attempts_total", StringComparison.Ordinal) && m.Contains("http_server_request_duration_seconds", StringComparison.Ordinal),
            TimeSpan.FromSeconds(5), "the route match is counted");
    }

    [Fact]
    public async Task With_a_scrape_key_metrics_answer_only_a_scraper_that_presents_it()
    {
        var key = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20));
        await using var api = new ApiFactory(new Dictionary<string, string?>(fixture.Settings) { ["Metrics:ScrapeKey"] = key });
        api.StartServer();
        using var client = api.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/metrics", null));
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/metrics", "not-the-key"));
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/metrics", key));
    }
}
