using System.Text.Json;
using LlmApi.Tests.Infrastructure;

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
}
