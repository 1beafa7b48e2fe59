using System.Text.Json;
using LlmApi.Tests.Infrastructure;
using LlmApi.Tests.Llm;

namespace LlmApi.Tests.Audit;

[Collection(SharedApi.Name)]
public class AuditTrailTests(ApiFixture fixture)
{
    private static async Task<List<JsonElement>> EventsAsync(HttpClient client, string token, string query = "")
    {
        using var response = await client.SendAsync(HttpMethod.Get, "/api/audit?limit=100" + query, token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("events").EnumerateArray()];
    }

    [Fact]
    public async Task Every_security_relevant_action_is_recorded_with_actor_target_address_and_outcome_and_no_secret()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        (await client.LoginAsync(admin.Email, "not the password", admin.Domain)).Dispose();
        var memberId = await client.CreateUserAsync(admin.Token, $"m@{admin.Domain}");
        var memberToken = await client.LoginTokenAsync($"m@{admin.Domain}", ApiCalls.Password, admin.Domain);
        (await client.SendAsync(HttpMethod.Patch, $"/api/users/{memberId}", admin.Token, new { role = "admin" })).Dispose();
        (await client.SendAsync(HttpMethod.Patch, $"/api/users/{memberId}", admin.Token, new { username = "renamed" })).Dispose();
        var (keyId, key) = await client.CreateKeyAsync(admin.Token);
        (await client.SendAsync(HttpMethod.Delete, $"/api/keys/{keyId}", admin.Token)).Dispose();
        (await client.SendAsync(HttpMethod.Patch, "/api/tenant", admin.Token, new { settings = new { theme = "dark" } })).Dispose();
        await client.SetTenantLimitsAsync(fixture, admin.TenantId, new { requestsPerMinute = 100 });
        (await client.SendAsync(HttpMethod.Post, "/api/auth/password", memberToken, new { currentPassword = "wrong one!!", newPassword = "another fine password" })).Dispose();
        (await client.SendAsync(HttpMethod.Post, "/api/auth/password", memberToken, new { currentPassword = ApiCalls.Password, newPassword = "another fine password" })).Dispose();
        var second = await client.LoginTokenAsync(admin.Email, admin.Password, admin.Domain);
        using var sessions = await client.SendAsync(HttpMethod.Get, "/api/auth/sessions", admin.Token);
        var other = (await sessions.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sessions").EnumerateArray()
            .First(s => !s.GetProperty("current").GetBoolean()).GetProperty("sessionId").GetString();
        (await client.SendAsync(HttpMethod.Delete, $"/api/auth/sessions/{other}", admin.Token)).Dispose();
        (await client.SendAsync(HttpMethod.Delete, $"/api/users/{memberId}", admin.Token)).Dispose();
        var third = await client.LoginTokenAsync(admin.Email, admin.Password, admin.Domain);
        (await client.SendAsync(HttpMethod.Post, "/api/auth/logout", third)).Dispose();
        (await client.SendAsync(HttpMethod.Post, "/api/auth/logout-all", admin.Token)).Dispose();
        var reader = await client.LoginTokenAsync(admin.Email, admin.Password, admin.Domain);

        var events = await EventsAsync(client, reader);
        var actions = events.Select(e => e.GetProperty("action").GetString()).ToHashSet();
        foreach (var action in new[]
        {
            "tenant.registered", "signin.succeeded", "signin.failed", "user.created", "user.role_changed", "user.changed", "key.created", "key.deleted",
            "tenant.settings_changed", "tenant.changed_by_operator", "password.change_failed", "password.changed", "session.ended", "user.deleted",
            "logout", "logout.all",
        })
        {
            Assert.Contains(action, actions);
        }

        var failed = events.First(e => e.GetProperty("action").GetString() == "signin.failed");
        Assert.Equal("failure", failed.GetProperty("outcome").GetString());
        Assert.Equal("127.0.0.1", failed.GetProperty("clientAddress").GetString());
        Assert.Equal("operator", events.First(e => e.GetProperty("action").GetString() == "tenant.changed_by_operator").GetProperty("actor").GetProperty("type").GetString());
        var created = events.First(e => e.GetProperty("action").GetString() == "user.created");
        Assert.Equal(admin.UserId.ToString(), created.GetProperty("actor").GetProperty("id").GetString());
        Assert.Equal(memberId.ToString(), created.GetProperty("targetId").GetString());
        Assert.True(DateTimeOffset.Parse(events[0].GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture)
            >= DateTimeOffset.Parse(events[^1].GetProperty("time").GetString()!, System.Globalization.CultureInfo.InvariantCulture)); // newest first

        var everything = JsonSerializer.Serialize(events);
        foreach (var secret in new[] { admin.Password, "not the password", "another fine password", admin.Token, memberToken, second, key, key.Split('_')[^1] })
        {
            Assert.DoesNotContain(secret, everything, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Admins_read_only_their_tenants_trail_paged_and_filtered_and_the_operator_reads_any()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var stranger = await client.RegisterAsync();
        for (var i = 0; i < 3; i++)
        {
            (await client.LoginAsync(admin.Email, "a wrong guess " + i, admin.Domain)).Dispose();
        }

        var (_, _, member) = await client.CreateMemberAsync(admin);
        Assert.Equal(HttpStatusCode.Forbidden, await client.StatusAsync(HttpMethod.Get, "/api/audit", member));
        Assert.DoesNotContain(await EventsAsync(client, stranger.Token), e => e.GetProperty("action").GetString() == "signin.failed");

        using var page = await client.SendAsync(HttpMethod.Get, "/api/audit?limit=2&action=signin.failed", admin.Token);
        var first = await page.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, first.GetProperty("count").GetInt32());
        var cursor = first.GetProperty("nextCursor").GetString();
        using var next = await client.SendAsync(HttpMethod.Get, $"/api/audit?limit=2&action=signin.failed&cursor={cursor}", admin.Token);
        var nextPage = await next.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(nextPage.TryGetProperty("count", out var nextCount), nextPage.ToString());
        Assert.Equal(1, nextCount.GetInt32());

        using var asOperator = ApiCalls.Request(HttpMethod.Get, $"/api/admin/audit?tenantId={admin.TenantId}&action=signin.failed", null);
        asOperator.Headers.Add("X-Operator-Key", fixture.OperatorKey);
        using var operatorView = await client.SendAsync(asOperator);
        var operatorPage = await operatorView.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(operatorPage.TryGetProperty("count", out var count), operatorPage.ToString());
        Assert.Equal(3, count.GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, $"/api/admin/audit?tenantId={admin.TenantId}", admin.Token));

        using var bad = await client.SendAsync(HttpMethod.Get, "/api/audit?cursor=nonsense", admin.Token);
        await bad.AssertProblemAsync(HttpStatusCode.BadRequest);
    }
}
