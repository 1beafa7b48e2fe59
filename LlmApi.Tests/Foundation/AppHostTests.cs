using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Foundation;

[Collection(SharedAppHost.Name)]
public sealed class AppHostTests(AppHostFixture fixture)
{
    [Fact]
    public async Task Api_answers_health_alive_and_metrics_through_the_apphost_endpoint()
    {
        using var client = fixture.CreateApiClient();

        using var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var checks = (await health.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("StackExchange.Redis").GetProperty("status").GetString());

        using var alive = await client.GetAsync("/alive");
        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/metrics")).StatusCode); // tenants' usage is not public
        using var scrape = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        scrape.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", fixture.MetricsScrapeKey);
        using var metrics = await client.SendAsync(scrape);
        Assert.Contains("http_server_request_duration", await metrics.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stopping_redis_makes_health_unavailable_while_alive_stays_ok_and_health_recovers_when_redis_returns()
    {
        using var client = fixture.CreateApiClient();
        await Eventually.MatchAsync(() => StatusOf(client, "/health"), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "healthy at start");

        var stop = await fixture.App.ResourceCommands.ExecuteCommandAsync("cache", KnownResourceCommands.StopCommand);
        Assert.True(stop.Success, stop.Message);
        try
        {
            await Eventually.MatchAsync(() => StatusOf(client, "/health"), s => s == HttpStatusCode.ServiceUnavailable,
                TimeSpan.FromSeconds(5), "/health must turn 503 within 5 s of Redis stopping");

            using var unhealthy = await client.GetAsync("/health");
            if (unhealthy.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                var checks = (await unhealthy.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks");
                Assert.Equal("Unhealthy", checks.GetProperty("StackExchange.Redis").GetProperty("status").GetString());
            }

            Assert.Equal(HttpStatusCode.OK, await StatusOf(client, "/alive"));
        }
        finally
        {
            var start = await fixture.App.ResourceCommands.ExecuteCommandAsync("cache", KnownResourceCommands.StartCommand);
            Assert.True(start.Success, start.Message);
        }

        // Every replica reconnects on its own: several 200s in a row through the round-robin endpoint.
        var consecutiveOk = 0;
        await Eventually.MatchAsync(async () =>
            {
                consecutiveOk = await StatusOf(client, "/health") == HttpStatusCode.OK ? consecutiveOk + 1 : 0;
                return consecutiveOk;
            },
            n => n >= 2 * AppHostFixture.ExpectedApiReplicas, TimeSpan.FromSeconds(60), "/health back to 200 on every replica without restarting the API");
    }

    private static async Task<HttpStatusCode> StatusOf(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }
}
