using System.Text.Json;
using LlmApi.Tests.Infrastructure;
using LlmApi.Tests.Llm;

namespace LlmApi.Tests.Auth;

[Collection(SharedApi.Name)]
public class SessionTests(ApiFixture fixture)
{
    [Fact]
    public async Task Me_returns_the_callers_user_and_tenant()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        using var response = await client.SendAsync(HttpMethod.Get, "/api/auth/me", account.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(account.UserId, body.GetProperty("user").GetProperty("userId").GetGuid());
        Assert.Equal(account.TenantId, body.GetProperty("tenant").GetProperty("tenantId").GetGuid());
    }

    [Fact]
    public async Task Me_answers_the_current_user_and_tenant_on_every_replica_after_either_changes()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var account = await client.RegisterAsync();

        async Task<JsonElement> MeAsync()
        {
            using var response = await replica.SendAsync(HttpMethod.Get, "/api/auth/me", account.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            return await response.Content.ReadFromJsonAsync<JsonElement>();
        }

        var first = await MeAsync();
        Assert.Equal(first.GetRawText(), (await MeAsync()).GetRawText()); // the same records answer the same

        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Patch, "/api/tenant", account.Token, new { name = "Renamed Tenant" }));
        var renamed = await MeAsync();
        Assert.Equal("Renamed Tenant", renamed.GetProperty("tenant").GetProperty("name").GetString());
        Assert.Equal(first.GetProperty("user").GetRawText(), renamed.GetProperty("user").GetRawText());

        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Patch, $"/api/users/{account.UserId}", account.Token, new { username = "renamed" }));
        var after = await MeAsync();
        Assert.Equal("renamed", after.GetProperty("user").GetProperty("username").GetString());
        Assert.Equal("Renamed Tenant", after.GetProperty("tenant").GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_logged_out_token_is_rejected_at_once_by_another_replica()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var account = await client.RegisterAsync();
        Assert.Equal(HttpStatusCode.OK, await replica.StatusAsync(HttpMethod.Get, "/api/auth/me", account.Token));
        Assert.True(await fixture.Redis.Database.KeyExistsAsync($"session:{{{account.TenantId}}}:{account.SessionId}"));

        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Post, "/api/auth/logout", account.Token));

        using var after = await replica.SendAsync(HttpMethod.Get, "/api/auth/me", account.Token);
        await after.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.False(await fixture.Redis.Database.KeyExistsAsync($"session:{{{account.TenantId}}}:{account.SessionId}"));
    }

    [Fact]
    public async Task Sessions_can_be_listed_and_ended_one_by_one_or_all_at_once()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        var second = await client.LoginTokenAsync(account.Email, account.Password, account.Domain);
        var third = await client.LoginTokenAsync(account.Email, account.Password, account.Domain);

        using var list = await client.SendAsync(HttpMethod.Get, "/api/auth/sessions", account.Token);
        var sessions = (await list.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sessions").EnumerateArray().ToList();
        Assert.Equal(3, sessions.Count);
        Assert.Single(sessions, s => s.GetProperty("current").GetBoolean());
        var other = sessions.First(s => !s.GetProperty("current").GetBoolean()).GetProperty("sessionId").GetGuid();

        Assert.Equal(HttpStatusCode.NoContent, await client.StatusAsync(HttpMethod.Delete, $"/api/auth/sessions/{other}", account.Token));
        Assert.Equal(HttpStatusCode.NotFound, await client.StatusAsync(HttpMethod.Delete, $"/api/auth/sessions/{other}", account.Token));
        var statuses = new[]
        {
            await client.StatusAsync(HttpMethod.Get, "/api/auth/me", second),
            await client.StatusAsync(HttpMethod.Get, "/api/auth/me", third),
        };
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Unauthorized], statuses.Order());

        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Post, "/api/auth/logout-all", account.Token));
        foreach (var token in new[] { account.Token, second, third })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", token));
        }
    }

    [Fact]
    public async Task Another_users_session_cannot_be_ended()
    {
        using var client = fixture.CreateClient();
        var victim = await client.RegisterAsync();
        var attacker = await client.RegisterAsync();

        using var response = await client.SendAsync(HttpMethod.Delete, $"/api/auth/sessions/{victim.SessionId}", attacker.Token);

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", victim.Token));
    }

    [Fact]
    public async Task Changing_the_password_ends_every_other_session_and_retires_the_old_password()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        var other = await client.LoginTokenAsync(account.Email, account.Password, account.Domain);

        using var wrong = await client.SendAsync(HttpMethod.Post, "/api/auth/password", account.Token,
            new { currentPassword = "not the password", newPassword = "a brand new secret" });
        await wrong.AssertProblemAsync(HttpStatusCode.Forbidden);

        using var changed = await client.SendAsync(HttpMethod.Post, "/api/auth/password", account.Token,
            new { currentPassword = account.Password, newPassword = "a brand new secret" });
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(1, (await changed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ended").GetInt32());

        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", account.Token));
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", other));
        using var oldLogin = await client.LoginAsync(account.Email, account.Password, account.Domain);
        Assert.Equal(HttpStatusCode.Unauthorized, oldLogin.StatusCode);
        using var newLogin = await client.LoginAsync(account.Email, "a brand new secret", account.Domain);
        Assert.Equal(HttpStatusCode.OK, newLogin.StatusCode);
    }

    // A replica remembers the users and tenants it has parsed (AccessCache): whatever changes them on another replica
    // shows on its next request, and what decides access is read from Redis each time.
    [Fact]
    public async Task Changes_made_on_one_replica_show_at_once_on_another_that_has_the_records_in_memory()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var admin = await client.RegisterAsync();
        var member = await client.CreateMemberAsync(admin);
        var before = await MeAsync(replica, member.Token);
        Assert.Equal("member", before.GetProperty("user").GetProperty("username").GetString());

        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Patch, $"/api/users/{member.UserId}", admin.Token, new { username = "renamed" }));
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Patch, "/api/tenant", admin.Token,
            new { name = "Renamed Org", settings = new { theme = "dark" } }));
        await client.SetTenantLimitsAsync(fixture, admin.TenantId, new { requestsPerMinute = 7 });

        var after = await MeAsync(replica, member.Token);
        Assert.Equal("renamed", after.GetProperty("user").GetProperty("username").GetString());
        Assert.Equal("Renamed Org", after.GetProperty("tenant").GetProperty("name").GetString());
        Assert.Equal("dark", after.GetProperty("tenant").GetProperty("settings").GetProperty("theme").GetString());
        Assert.Equal(7, after.GetProperty("tenant").GetProperty("limits").GetProperty("requestsPerMinute").GetInt32());

        // Promotion and demotion decide the next request on the other replica.
        Assert.Equal(HttpStatusCode.Forbidden, await replica.StatusAsync(HttpMethod.Get, "/api/users", member.Token));
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Patch, $"/api/users/{member.UserId}", admin.Token, new { role = "admin" }));
        Assert.Equal(HttpStatusCode.OK, await replica.StatusAsync(HttpMethod.Get, "/api/users", member.Token));
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Patch, $"/api/users/{member.UserId}", admin.Token, new { role = "user" }));
        Assert.Equal(HttpStatusCode.Forbidden, await replica.StatusAsync(HttpMethod.Get, "/api/users", member.Token));

        // A password changed on one replica is the one the other checks (the change needs the current password).
        var change = new { currentPassword = ApiCalls.Password, newPassword = "another long secret" };
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Post, "/api/auth/password", member.Token, change));
        Assert.Equal(HttpStatusCode.Forbidden, await replica.StatusAsync(HttpMethod.Post, "/api/auth/password", member.Token, change));

        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Patch, $"/api/users/{member.UserId}", admin.Token, new { status = "inactive" }));
        using var inactive = await replica.SendAsync(HttpMethod.Get, "/api/auth/me", member.Token);
        Assert.Equal("The user is inactive.", (await inactive.AssertProblemAsync(HttpStatusCode.Unauthorized)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_status_or_role_edited_in_redis_by_hand_decides_the_next_request_though_the_record_is_in_memory()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/users", admin.Token));
        var db = fixture.Redis.Database;
        var user = $"tenant:{{{admin.TenantId}}}:user:{{{admin.UserId}}}";
        var tenant = $"tenant:{{{admin.TenantId}}}";

        // Written without the revision that API writes increment.
        await db.HashSetAsync(user, "role", "user");
        Assert.Equal(HttpStatusCode.Forbidden, await client.StatusAsync(HttpMethod.Get, "/api/users", admin.Token));
        await db.HashSetAsync(user, "role", "admin");
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/users", admin.Token));

        await db.HashSetAsync(user, "status", "inactive");
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", admin.Token));
        await db.HashSetAsync(user, "status", "active");
        await db.HashSetAsync(tenant, "status", "suspended");
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", admin.Token));
        await db.HashSetAsync(tenant, "status", "active");
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", admin.Token));

        // Records from before revisions existed are read whole on every request, never remembered.
        await db.HashDeleteAsync(user, "rev");
        await db.HashDeleteAsync(tenant, "rev");
        Assert.Equal("admin", (await MeAsync(client, admin.Token)).GetProperty("user").GetProperty("role").GetString());
        await db.HashSetAsync(user, "username", "handedited");
        Assert.Equal("handedited", (await MeAsync(client, admin.Token)).GetProperty("user").GetProperty("username").GetString());

        // A deleted user is gone at once.
        await db.KeyDeleteAsync(user);
        using var deleted = await client.SendAsync(HttpMethod.Get, "/api/auth/me", admin.Token);
        Assert.Equal("The user no longer exists.", (await deleted.AssertProblemAsync(HttpStatusCode.Unauthorized)).GetProperty("detail").GetString());
    }

    private static async Task<JsonElement> MeAsync(HttpClient client, string token)
    {
        using var response = await client.SendAsync(HttpMethod.Get, "/api/auth/me", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
