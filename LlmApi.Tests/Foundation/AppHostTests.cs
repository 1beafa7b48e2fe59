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
    public async Task Stopping_redis_keeps_replicas_ready_answering_503_with_retry_after_and_they_recover_when_redis_returns()
    {
        using var client = fixture.CreateApiClient();
        await Eventually.MatchAsync(() => StatusOf(client, "/health"), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "healthy at start");
        // A token every replica has validated and remembers: its access check runs ahead of the pipeline there.
        var admin = await client.RegisterAsync();
        for (var i = 0; i < 2 * AppHostFixture.ExpectedApiReplicas; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", admin.Token));
        }

        var stop = await fixture.App.ResourceCommands.ExecuteCommandAsync("cache", KnownResourceCommands.StopCommand);
        Assert.True(stop.Success, stop.Message);
        try
        {
            // Readiness stays: the Service keeps its replicas, and they answer for themselves.
            await Eventually.MatchAsync(() => RedisCheckAsync(client), s => s == "Degraded", TimeSpan.FromSeconds(5),
                "/health must show Redis degraded within 5 s of Redis stopping");
            Assert.Equal(HttpStatusCode.OK, await StatusOf(client, "/health"));
            Assert.Equal(HttpStatusCode.OK, await StatusOf(client, "/alive"));
            using var login = await client.PostAsJsonAsync("/api/auth/login", new { email = "a@b.example.com", password = "whatever pass", domain = "b.example.com" });
            await login.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.NotNull(login.Headers.RetryAfter);
            // The access check cannot answer: 503 from every replica, not a 401 that would sign the client out.
            for (var i = 0; i < 2 * AppHostFixture.ExpectedApiReplicas; i++)
            {
                using var refused = await client.SendAsync(HttpMethod.Get, "/api/auth/me", admin.Token);
                await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
                Assert.NotNull(refused.Headers.RetryAfter);
            }
        }
        finally
        {
            var start = await fixture.App.ResourceCommands.ExecuteCommandAsync("cache", KnownResourceCommands.StartCommand);
            Assert.True(start.Success, start.Message);
        }

        // Every replica reconnects on its own: Redis healthy several times in a row through the round-robin endpoint.
        var consecutiveHealthy = 0;
        await Eventually.MatchAsync(async () =>
            {
                consecutiveHealthy = await RedisCheckAsync(client) == "Healthy" ? consecutiveHealthy + 1 : 0;
                return consecutiveHealthy;
            },
            n => n >= 2 * AppHostFixture.ExpectedApiReplicas, TimeSpan.FromSeconds(60), "Redis healthy again on every replica without restarting the API");
    }

    private static async Task<string?> RedisCheckAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/health");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty("StackExchange.Redis").GetProperty("status").GetString();
    }

    private static async Task<HttpStatusCode> StatusOf(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }
}
