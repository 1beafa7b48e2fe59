using System.Text.Json;
using LlmApi.Api.Infrastructure;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

[Collection(SharedApi.Name)]
public class UsageTests(ApiFixture fixture)
{
    private static async Task<JsonElement> UsageAsync(HttpClient client, string credential, string groupBy)
    {
        using var response = await client.SendAsync(HttpMethod.Get, "/api/usage?groupBy=" + groupBy, credential);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Usage_matches_what_the_upstream_counted_by_day_model_key_and_user()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (keyId, key) = await client.CreateKeyAsync(admin.Token);
        (await client.SendAsync(LlmCalls.OpenAiChat(admin.Token))).Dispose();
        (await client.SendAsync(LlmCalls.OllamaChat(admin.Token, admin.TenantId, model: "mistral", stream: true))).Dispose();
        (await client.SendAsync(LlmCalls.OpenAiChat(key, maxTokens: 2))).Dispose();

        var byDay = await UsageAsync(client, admin.Token, "day");
        var total = byDay.GetProperty("total");
        Assert.Equal(3, total.GetProperty("requests").GetInt64());
        Assert.Equal(3 * FakeUpstream.PromptTokens, total.GetProperty("promptTokens").GetInt64());
        Assert.Equal((2 * FakeUpstream.Pieces.Length) + 2, total.GetProperty("completionTokens").GetInt64());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), byDay.GetProperty("items")[0].GetProperty("key").GetString());

        var byModel = (await UsageAsync(client, admin.Token, "model")).GetProperty("items").EnumerateArray()
            .ToDictionary(i => i.GetProperty("key").GetString()!, i => i.GetProperty("requests").GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["llama3"] = 2, ["mistral"] = 1 }, byModel);

        var byKey = (await UsageAsync(client, admin.Token, "key")).GetProperty("items");
        Assert.Equal(keyId.ToString(), Assert.Single(byKey.EnumerateArray()).GetProperty("key").GetString());
        var byUser = (await UsageAsync(client, admin.Token, "user")).GetProperty("items");
        Assert.Equal(2, Assert.Single(byUser.EnumerateArray()).GetProperty("requests").GetInt64());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_call_made_is_answered_even_when_its_settlement_fails_and_the_failure_is_logged(bool stream)
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        // Settlement meters the call into the day's usage hash; a string there makes Redis refuse the script (WRONGTYPE)
        // after the model has answered. The answer stands: refusing it now would have the client retry, and pay for, a
        // call that was made.
        var usage = RedisKeys.Usage(admin.TenantId, DateOnly.FromDateTime(DateTime.UtcNow));
        await fixture.Redis.Database.StringSetAsync(usage, "not a hash");
        string body;
        try
        {
            using var response = await client.SendAsync(LlmCalls.OpenAiChat(admin.Token, stream: stream));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            body = await response.Content.ReadAsStringAsync();
        }
        finally
        {
            await fixture.Redis.Database.KeyDeleteAsync(usage);
        }

        Assert.All(FakeUpstream.Pieces, piece => Assert.Contains(piece, body, StringComparison.Ordinal));
        Assert.True(!stream || body.TrimEnd().EndsWith("data: [DONE]", StringComparison.Ordinal), body);
        var failure = Assert.Single(fixture.Api.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) && l.Contains($"TenantId:{admin.TenantId}", StringComparison.Ordinal));
        Assert.Contains("Settling a call to model llama3 failed", failure, StringComparison.Ordinal);
        Assert.Contains("WRONGTYPE", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(admin.Token, failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repeated_calls_of_each_key_and_user_are_counted_under_that_key_or_user_and_model()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, _, member) = await client.CreateMemberAsync(admin);
        var (firstId, first) = await client.CreateKeyAsync(admin.Token);
        var (secondId, second) = await client.CreateKeyAsync(admin.Token);
        foreach (var (credential, model) in new[]
        {
            (first, "llama3"), (first, "llama3"), (first, "mistral"), (second, "llama3"), (member, "mistral"),
            (member, "mistral"), (admin.Token, "llama3"), (second, "llama3"), (first, "mistral"),
        })
        {
            using var response = await client.SendAsync(LlmCalls.OpenAiChat(credential, model));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        async Task<Dictionary<string, long>> RequestsAsync(string credential, string groupBy) =>
            (await UsageAsync(client, credential, groupBy)).GetProperty("items").EnumerateArray()
                .ToDictionary(i => i.GetProperty("key").GetString()!, i => i.GetProperty("requests").GetInt64());

        Assert.Equal(new Dictionary<string, long> { ["llama3"] = 2, ["mistral"] = 2 }, await RequestsAsync(first, "model"));
        Assert.Equal(new Dictionary<string, long> { ["llama3"] = 2 }, await RequestsAsync(second, "model"));
        Assert.Equal(new Dictionary<string, long> { ["mistral"] = 2 }, await RequestsAsync(member, "model"));
        Assert.Equal(new Dictionary<string, long> { ["llama3"] = 5, ["mistral"] = 4 }, await RequestsAsync(admin.Token, "model"));
        Assert.Equal(new Dictionary<string, long> { [firstId.ToString()] = 4, [secondId.ToString()] = 2 }, await RequestsAsync(admin.Token, "key"));
        Assert.Equal([1, 2], (await RequestsAsync(admin.Token, "user")).Values.Order());
    }

    [Fact]
    public async Task A_user_sees_only_their_own_usage_and_a_key_only_its_own()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, _, member) = await client.CreateMemberAsync(admin);
        var (_, key) = await client.CreateKeyAsync(admin.Token);
        (await client.SendAsync(LlmCalls.OpenAiChat(admin.Token))).Dispose();
        (await client.SendAsync(LlmCalls.OpenAiChat(member))).Dispose();
        (await client.SendAsync(LlmCalls.OpenAiChat(member))).Dispose();

        Assert.Equal(2, (await UsageAsync(client, member, "day")).GetProperty("total").GetProperty("requests").GetInt64());
        var memberByUser = (await UsageAsync(client, member, "user")).GetProperty("items");
        Assert.Single(memberByUser.EnumerateArray());
        Assert.Equal(0, (await UsageAsync(client, key, "day")).GetProperty("total").GetProperty("requests").GetInt64());
        Assert.Equal(3, (await UsageAsync(client, admin.Token, "day")).GetProperty("total").GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task Another_tenants_key_never_sees_this_tenants_usage()
    {
        using var client = fixture.CreateClient();
        var a = await client.RegisterAsync();
        var b = await client.RegisterAsync();
        var (_, bKey) = await client.CreateKeyAsync(b.Token);
        (await client.SendAsync(LlmCalls.OpenAiChat(a.Token))).Dispose();

        foreach (var groupBy in new[] { "day", "model", "key", "user" })
        {
            var report = await UsageAsync(client, bKey, groupBy);
            Assert.Equal(0, report.GetProperty("total").GetProperty("requests").GetInt64());
            Assert.Equal(0, report.GetProperty("items").GetArrayLength());
        }
    }

    [Fact]
    public async Task An_admin_sees_the_tenants_limits_beside_what_this_minute_and_month_have_used_of_them()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, _, member) = await client.CreateMemberAsync(admin);
        await client.SetTenantLimitsAsync(fixture, admin.TenantId, new { requestsPerMinute = 50, monthlyTokenBudget = 100_000 });
        (await client.SendAsync(LlmCalls.OpenAiChat(admin.Token, maxTokens: 2))).Dispose();
        (await client.SendAsync(LlmCalls.OpenAiChat(member, maxTokens: 2))).Dispose();

        using var response = await client.SendAsync(HttpMethod.Get, "/api/usage/current", admin.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var now = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(50, now.GetProperty("limits").GetProperty("requestsPerMinute").GetInt32());
        Assert.Equal(100_000, now.GetProperty("limits").GetProperty("monthlyTokenBudget").GetInt64());
        var month = now.GetProperty("month");
        Assert.Equal(2 * (FakeUpstream.PromptTokens + 2), month.GetProperty("usedTokens").GetInt64());
        Assert.Equal(0, month.GetProperty("reservedTokens").GetInt64());
        Assert.Equal(DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture), month.GetProperty("month").GetString());
        Assert.Equal(0, now.GetProperty("inFlight").GetInt64());
        if (DateTime.UtcNow.Second > 2)
        {
            // Both calls fell in this minute unless it turned over in between.
            Assert.Equal(2, now.GetProperty("minute").GetProperty("requests").GetInt64());
        }

        // Tenant-wide figures are for its admins.
        Assert.Equal(HttpStatusCode.Forbidden, await client.StatusAsync(HttpMethod.Get, "/api/usage/current", member));
    }

    [Fact]
    public async Task Bad_ranges_and_groupings_are_400()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();

        foreach (var query in new[] { "groupBy=week", "from=2026-13-01", "from=2026-02-01&to=2026-01-01", "from=2020-01-01&to=2026-01-01" })
        {
            using var response = await client.SendAsync(HttpMethod.Get, "/api/usage?" + query, admin.Token);
            await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        }
    }
}
