using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

[Collection(Fleet.Name)]
public sealed class UpstreamFleetTests(FleetFixture fleet)
{
    [Fact]
    public async Task A_call_goes_to_the_upstream_with_the_fewest_calls_in_flight()
    {
        await fleet.AllInRotationAsync();
        using var client = fleet.CreateClient();
        var admin = await client.RegisterAsync();
        fleet.Gpu1.ResetGate();
        fleet.Gpu2.ResetGate();

        // One call held open on one upstream...
        using var held = await client.SendStreamingAsync(LlmCalls.OpenAiChat(admin.Token, model: "gated", stream: true));
        using var reader = new StreamReader(await held.Content.ReadAsStreamAsync());
        await reader.ReadLineAsync();
        var (busy, idle) = fleet.Gpu1.InFlight == 1 ? (fleet.Gpu1, fleet.Gpu2) : (fleet.Gpu2, fleet.Gpu1);
        var (busyBefore, idleBefore) = (busy.Served, idle.Served);

        // ...so every short call goes to the other, where round-robin would send half of them to the busy one.
        for (var i = 0; i < 6; i++)
        {
            using var response = await client.SendAsync(LlmCalls.OpenAiChat(admin.Token));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(idleBefore + 6, idle.Served);
        Assert.Equal(busyBefore, busy.Served);
        busy.ReleaseGate();
        await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task A_failing_upstream_costs_no_call_is_taken_out_and_comes_back_when_it_recovers()
    {
        await fleet.AllInRotationAsync();
        using var client = fleet.CreateClient();
        var admin = await client.RegisterAsync();
        fleet.Gpu1.Mode = UpstreamMode.Failing;
        try
        {
            // Ties between idle upstreams are broken at random, so how many calls try gpu1 first is not fixed: eight
            // calls left it below the breaker's minimum of two failures about one run in thirty. Every call must
            // succeed (retried on gpu2) until gpu1 is out; forty calls leave it in with odds of about 4e-11.
            var state = "";
            for (var i = 0; i < 40 && state != "Ejected"; i++)
            {
                using var response = await client.SendAsync(LlmCalls.OpenAiChat(admin.Token));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode); // retried on gpu2
                state = (await FleetFixture.StatesAsync(client))["gpu1"];
            }

            Assert.Equal("Ejected", state);
        }
        finally
        {
            fleet.Gpu1.Mode = UpstreamMode.Normal;
        }

        await fleet.AllInRotationAsync();
        var before = fleet.Gpu1.Served;
        await Eventually.MatchAsync(async () =>
        {
            (await client.SendAsync(LlmCalls.OpenAiChat(admin.Token))).Dispose();
            return fleet.Gpu1.Served;
        }, served => served > before, TimeSpan.FromSeconds(10), "calls reach gpu1 again");
    }

    [Fact]
    public async Task A_killed_upstream_costs_no_call_and_is_readmitted_when_it_listens_again()
    {
        await fleet.AllInRotationAsync();
        using var client = fleet.CreateClient();
        var admin = await client.RegisterAsync();
        await fleet.Gpu2.StopAsync();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                using var response = await client.SendAsync(LlmCalls.OllamaChat(admin.Token, admin.TenantId));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode); // refused connections are retried on gpu1
            }

            await Eventually.MatchAsync(() => FleetFixture.StatesAsync(client), s => s["gpu2"] is "Down" or "Ejected", TimeSpan.FromSeconds(5),
                "the dead upstream is out of rotation");
        }
        finally
        {
            await fleet.Gpu2.RestartAsync();
        }

        await fleet.AllInRotationAsync();
    }

    [Fact]
    public async Task A_stream_that_has_begun_is_never_retried()
    {
        await fleet.AllInRotationAsync();
        using var client = fleet.CreateClient();
        var admin = await client.RegisterAsync();
        var before = fleet.Gpu1.Served + fleet.Gpu2.Served;

        using var response = await client.SendStreamingAsync(LlmCalls.OpenAiChat(admin.Token, model: "cutoff", stream: true));
        var text = await new StreamReader(await response.Content.ReadAsStreamAsync()).ReadToEndAsync();

        Assert.True(text.Contains("Hello", StringComparison.Ordinal), text);
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal); // the client sees the stream end early
        Assert.Equal(before + 1, fleet.Gpu1.Served + fleet.Gpu2.Served);
    }

    [Fact]
    public async Task An_alias_routes_to_its_served_model_and_is_listed()
    {
        using var client = fleet.CreateClient();
        var admin = await client.RegisterAsync();

        using var response = await client.SendAsync(LlmCalls.OpenAiChat(admin.Token, model: "gpt-4o-mini"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("gpt-4o-mini", body.GetProperty("model").GetString());
        var sent = fleet.Gpu1.Requests.Concat(fleet.Gpu2.Requests).Last(r => r.Path == "/api/chat").Body;
        Assert.Equal("llama3:latest", sent["model"]!.GetValue<string>());

        using var models = await client.SendAsync(HttpMethod.Get, "/v1/models", admin.Token);
        var ids = (await models.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Contains("gpt-4o-mini", ids);
        Assert.Contains("big", ids);
        using var one = await client.SendAsync(HttpMethod.Get, "/v1/models/gpt-4o-mini", admin.Token);
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
    }

    [Fact]
    public async Task When_every_upstream_of_a_model_fails_its_fallback_answers()
    {
        await fleet.AllInRotationAsync();
        using var client = fleet.CreateClient();
        var admin = await client.RegisterAsync();
        fleet.Big.Mode = UpstreamMode.Failing;
        try
        {
            using var response = await client.SendAsync(LlmCalls.OpenAiChat(admin.Token, model: "big"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("mistral", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model").GetString());
        }
        finally
        {
            fleet.Big.Mode = UpstreamMode.Normal;
        }

        using var usage = await client.SendAsync(HttpMethod.Get, "/api/usage?groupBy=model", admin.Token);
        var item = Assert.Single((await usage.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("items").EnumerateArray());
        Assert.Equal("mistral", item.GetProperty("key").GetString()); // metered as the model that answered
        await fleet.AllInRotationAsync();
    }

    [Fact]
    public async Task When_every_upstream_is_busy_the_caller_gets_503_with_retry_after()
    {
        await fleet.AllInRotationAsync();
        using var client = fleet.CreateClient();
        var admin = await client.RegisterAsync();
        fleet.Gpu1.Mode = fleet.Gpu2.Mode = UpstreamMode.Busy;
        try
        {
            using var response = await client.SendAsync(LlmCalls.OpenAiChat(admin.Token, model: "mistral"));
            await response.AssertOpenAiErrorAsync(HttpStatusCode.ServiceUnavailable, "upstream_unavailable");
            Assert.NotNull(response.Headers.RetryAfter);
        }
        finally
        {
            fleet.Gpu1.Mode = fleet.Gpu2.Mode = UpstreamMode.Normal;
        }

        await fleet.AllInRotationAsync();
    }

    [Fact]
    public async Task Health_reports_every_upstream_with_its_load_and_never_its_key()
    {
        using var client = fleet.CreateClient();

        var llmHealth = await client.GetStringAsync("/api/llm/health");
        using var health = await client.GetAsync("/health");
        var readiness = await health.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        foreach (var name in new[] { "gpu1", "gpu2", "big1" })
        {
            Assert.Contains(name, llmHealth, StringComparison.Ordinal);
            Assert.Contains(name, readiness, StringComparison.Ordinal);
        }

        Assert.Contains("inFlight", llmHealth, StringComparison.Ordinal);
        Assert.DoesNotContain(FleetFixture.UpstreamKey, llmHealth + readiness, StringComparison.Ordinal);
        Assert.DoesNotContain(fleet.Gpu1.Url, llmHealth + readiness, StringComparison.Ordinal);
    }
}
