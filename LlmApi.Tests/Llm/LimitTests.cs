using System.Text.Json;
using LlmApi.Api.Auth;
using LlmApi.Api.Llm;
using LlmApi.Api.Llm.Formats;
using LlmApi.Api.Tenants;
using LlmApi.Api.Users;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

[Collection(SharedApi.Name)]
public class LimitTests(ApiFixture fixture)
{
    [Fact]
    public async Task A_tenants_request_rate_is_exact_across_two_instances_and_refusals_say_why()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var admin = await client.RegisterAsync();
        await client.SetTenantLimitsAsync(fixture, admin.TenantId, new { requestsPerMinute = 5 });

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            (i % 2 == 0 ? client : replica).SendAsync(LlmCalls.OpenAiChat(admin.Token))));

        try
        {
            // A minute boundary between two calls would open a new window; then more than five may pass.
            var ok = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
            Assert.InRange(ok, 5, 10);
            if (DateTime.UtcNow.Second > 2)
            {
                Assert.Equal(5, ok);
            }

            var refused = responses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
            var error = await refused.AssertOpenAiErrorAsync(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
            Assert.Contains("tenant's requestsPerMinute", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.InRange(refused.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task Twenty_parallel_streams_against_a_nearly_spent_budget_do_not_overshoot_it()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var admin = await client.RegisterAsync();
        // Each call reserves its estimated prompt (8 tokens for "hi") plus max_tokens 100: at most nine fit in 1000.
        const long budget = 1000;
        await client.SetTenantLimitsAsync(fixture, admin.TenantId, new { monthlyTokenBudget = budget });

        // All twenty are in flight at once: the upstream holds every stream after its first chunk until released.
        fixture.Upstream.ResetGate();
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? client : replica).SendStreamingAsync(LlmCalls.OpenAiChat(admin.Token, model: "gated", stream: true, maxTokens: 100))));
        var statuses = responses.Select(r => r.StatusCode).ToList();
        fixture.Upstream.ReleaseGate();
        foreach (var response in responses)
        {
            await response.Content.ReadAsStringAsync(); // each stream to its end, so its call is settled
            response.Dispose();
        }

        var admitted = statuses.Count(s => s == HttpStatusCode.OK);
        Assert.InRange(admitted, 1, 9);
        Assert.Equal(20 - admitted, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        var month = DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var counters = await fixture.Redis.Database.HashGetAllAsync($"tenant:{{{admin.TenantId}}}:limit:budget:{month}");
        var used = (long)counters.Single(c => c.Name == "used").Value;
        var reserved = (long)counters.Single(c => c.Name == "reserved").Value;
        Assert.Equal(admitted * (FakeUpstream.PromptTokens + FakeUpstream.Pieces.Length), used);
        Assert.Equal(0, reserved);
        Assert.True(used <= budget);

        // Settled calls gave their unused reservations back: there is room again.
        using var again = await client.SendAsync(LlmCalls.OpenAiChat(admin.Token, maxTokens: 100));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task A_concurrency_cap_holds_one_tenant_without_touching_another()
    {
        using var client = fixture.CreateClient();
        var busy = await client.RegisterAsync();
        var bystander = await client.RegisterAsync();
        await client.SetTenantLimitsAsync(fixture, busy.TenantId, new { concurrentRequests = 1 });
        await client.SetTenantLimitsAsync(fixture, bystander.TenantId, new { concurrentRequests = 1 });
        fixture.Upstream.ResetGate();

        using var holding = await client.SendStreamingAsync(LlmCalls.OpenAiChat(busy.Token, model: "gated", stream: true));
        using var reader = new StreamReader(await holding.Content.ReadAsStreamAsync());
        await reader.ReadLineAsync(); // the first call is in flight

        using var second = await client.SendAsync(LlmCalls.OpenAiChat(busy.Token));
        var error = await second.AssertOpenAiErrorAsync(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.Contains("concurrentRequests", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        using var other = await client.SendAsync(LlmCalls.OpenAiChat(bystander.Token));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        fixture.Upstream.ReleaseGate();
        await reader.ReadToEndAsync();
        await Eventually.MatchAsync(() => client.StatusAsync(HttpMethod.Post, "/v1/chat/completions", busy.Token, new { model = "llama3", messages = LlmCalls.Messages() }),
            s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(5), "the slot is free once the stream ended");
    }

    [Fact]
    public async Task A_keys_own_limits_apply_on_top_of_the_tenants()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, key) = await client.CreateKeyAsync(admin.Token, new { name = "small", requestsPerMinute = 2 });

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add(await client.StatusAsync(HttpMethod.Get, "/v1/models", key)); // model lists are not limited
            using var response = await client.SendAsync(LlmCalls.OpenAiChat(key));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var error = await response.AssertOpenAiErrorAsync(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
                Assert.StartsWith("The key's", error.GetProperty("message").GetString(), StringComparison.Ordinal);
            }
        }

        Assert.InRange(statuses.Count(s => s == HttpStatusCode.TooManyRequests), 1, 2);
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Post, "/v1/chat/completions", admin.Token,
            new { model = "llama3", messages = LlmCalls.Messages() }));
    }

    // The limiter's scripts run by their SHA-1; a Redis that does not have them (restarted, failed over, flushed)
    // answers NOSCRIPT having run nothing, and the call is admitted and settled with the script's text instead.
    [Fact]
    public async Task Calls_are_admitted_and_settled_after_redis_forgets_its_scripts()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        await client.SetTenantLimitsAsync(fixture, admin.TenantId, new { requestsPerMinute = 1000 });
        using (var first = await client.SendAsync(LlmCalls.OpenAiChat(admin.Token)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        foreach (var server in fixture.Redis.Connection.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            await server.ScriptFlushAsync();
        }

        using (var second = await client.SendAsync(LlmCalls.OpenAiChat(admin.Token)))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        }

        var month = DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var counters = await fixture.Redis.Database.HashGetAllAsync($"tenant:{{{admin.TenantId}}}:limit:budget:{month}");
        Assert.Equal(2 * (FakeUpstream.PromptTokens + FakeUpstream.Pieces.Length), (long)counters.Single(c => c.Name == "used").Value);
        Assert.Equal(0, (long)counters.Single(c => c.Name == "reserved").Value);
    }

    // The limiter remembers each caller's counter names for a minute; when the clock turns the minute (here also the
    // day and the month) the next call counts in the new window's counters, and its usage in the new day.
    [Fact]
    public async Task A_new_minute_day_and_month_open_new_counters()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        await client.SetTenantLimitsAsync(fixture, admin.TenantId, new { requestsPerMinute = 1 });
        var db = fixture.Redis.Database;
        var tenant = Tenant.FromHash(await db.HashGetAllAsync($"tenant:{{{admin.TenantId}}}"))!;
        var user = User.FromHash(await db.HashGetAllAsync($"tenant:{{{admin.TenantId}}}:user:{{{admin.UserId}}}"))!;
        var caller = new Caller();
        caller.Set(user, tenant, admin.SessionId, "jti");
        var clock = new SettableClock(new DateTimeOffset(2031, 5, 31, 23, 59, 30, TimeSpan.Zero));
        var limiter = new UsageLimiter(fixture.Redis.Connection, clock);

        var first = await limiter.AdmitAsync(caller, reservedTokens: 10);
        await limiter.SettleAsync(first.Lease!, new TokenUsage(3, 4), ["t"]);
        Assert.Equal("requestsPerMinute", (await limiter.AdmitAsync(caller, reservedTokens: 10)).Refusal?.Limit);

        clock.Now = clock.Now.AddSeconds(40);
        var next = await limiter.AdmitAsync(caller, reservedTokens: 10);
        Assert.NotNull(next.Lease);
        await limiter.SettleAsync(next.Lease, new TokenUsage(5, 6), ["t"]);

        var limit = $"tenant:{{{admin.TenantId}}}:limit:";
        Assert.Equal(1, (long)await db.StringGetAsync(limit + "rpm:203105312359"));
        Assert.Equal(1, (long)await db.StringGetAsync(limit + "rpm:203106010000"));
        Assert.Equal(7, (long)await db.HashGetAsync(limit + "budget:2031-05", "used"));
        Assert.Equal(11, (long)await db.HashGetAsync(limit + "budget:2031-06", "used"));
        Assert.Equal(3, (long)await db.HashGetAsync($"tenant:{{{admin.TenantId}}}:usage:2031-05-31", "t:p"));
        Assert.Equal(5, (long)await db.HashGetAsync($"tenant:{{{admin.TenantId}}}:usage:2031-06-01", "t:p"));

        // Each counter got its lifetime from the call whose increment created it.
        Assert.InRange(await SecondsToLiveAsync(limit + "rpm:203106010000"), 1, 120);
        Assert.InRange(await SecondsToLiveAsync(limit + "tpm:203106010000"), 1, 120);
        Assert.InRange(await SecondsToLiveAsync(limit + "budget:2031-06"), 3_456_000 - 60, 3_456_000);
        Assert.InRange(await SecondsToLiveAsync($"tenant:{{{admin.TenantId}}}:usage:2031-06-01"), 34_560_000 - 60, 34_560_000);

        async Task<double> SecondsToLiveAsync(string key) => (await db.KeyTimeToLiveAsync(key))?.TotalSeconds ?? -1;
    }
}
