using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Users;

[Collection(SharedApi.Name)]
public class UserManagementTests(ApiFixture fixture)
{
    [Fact]
    public async Task Admin_creates_a_user_who_can_sign_in_and_a_duplicate_email_in_any_case_is_409()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var email = "bob@" + admin.Domain;

        using var created = await client.SendAsync(HttpMethod.Post, "/api/users", admin.Token,
            new { username = "bob", email, password = ApiCalls.Password });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("user", body.GetProperty("user").GetProperty("role").GetString());
        Assert.False(body.GetProperty("user").TryGetProperty("passwordHash", out _));

        using var duplicate = await client.SendAsync(HttpMethod.Post, "/api/users", admin.Token,
            new { username = "bob2", email = email.ToUpperInvariant(), password = ApiCalls.Password });
        await duplicate.AssertProblemAsync(HttpStatusCode.Conflict);

        Assert.Equal(HttpStatusCode.OK, (await client.LoginAsync(email, ApiCalls.Password, admin.Domain)).StatusCode);
    }

    [Fact]
    public async Task Sixteen_concurrent_creations_of_one_email_create_exactly_one_user()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var admin = await client.RegisterAsync();
        var email = "race@" + admin.Domain;

        var statuses = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            (i % 2 == 0 ? client : replica).StatusAsync(HttpMethod.Post, "/api/users", admin.Token,
                new { username = $"racer{i}", email, password = ApiCalls.Password })));

        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.Equal(15, statuses.Count(s => s == HttpStatusCode.Conflict));
        Assert.Equal(2, await fixture.Redis.Database.SortedSetLengthAsync($"tenant:{{{admin.TenantId}}}:users"));
    }

    [Fact]
    public async Task Users_who_are_not_admins_cannot_manage_users()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, _, token) = await client.CreateMemberAsync(admin, "plain");

        using var list = await client.SendAsync(HttpMethod.Get, "/api/users", token);
        await list.AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.Forbidden, await client.StatusAsync(HttpMethod.Post, "/api/users", token,
            new { username = "sneaky", email = "sneaky@" + admin.Domain, password = ApiCalls.Password, role = "admin" }));
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/tenant", token));
    }

    [Fact]
    public async Task The_user_list_is_paged_with_a_cursor_and_a_capped_limit()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        for (var i = 0; i < 4; i++)
        {
            await client.CreateUserAsync(admin.Token, $"u{i}@{admin.Domain}");
        }

        var seen = new List<Guid>();
        string? cursor = null;
        do
        {
            using var page = await client.SendAsync(HttpMethod.Get, $"/api/users?limit=2{(cursor is null ? "" : "&cursor=" + cursor)}", admin.Token);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            var body = await page.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(body.GetProperty("count").GetInt32() <= 2);
            Assert.Equal(5, body.GetProperty("total").GetInt64());
            seen.AddRange(body.GetProperty("users").EnumerateArray().Select(u => u.GetProperty("userId").GetGuid()));
            cursor = body.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.Equal(5, seen.Distinct().Count());
        using var tooMany = await client.SendAsync(HttpMethod.Get, "/api/users?limit=101", admin.Token);
        await tooMany.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_last_active_admin_cannot_be_demoted_deactivated_or_deleted()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var path = $"/api/users/{admin.UserId}";

        Assert.Equal(HttpStatusCode.Conflict, await client.StatusAsync(HttpMethod.Patch, path, admin.Token, new { role = "user" }));
        Assert.Equal(HttpStatusCode.Conflict, await client.StatusAsync(HttpMethod.Patch, path, admin.Token, new { status = "inactive" }));
        Assert.Equal(HttpStatusCode.Conflict, await client.StatusAsync(HttpMethod.Delete, path, admin.Token));

        // With a second admin, the first may step down, and loses admin rights with the very same token.
        var second = await client.CreateUserAsync(admin.Token, "second@" + admin.Domain, role: "admin");
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Patch, path, admin.Token, new { role = "user" }));
        Assert.Equal(HttpStatusCode.Forbidden, await client.StatusAsync(HttpMethod.Get, "/api/users", admin.Token));
        var secondToken = await client.LoginTokenAsync("second@" + admin.Domain, ApiCalls.Password, admin.Domain);
        Assert.Equal(HttpStatusCode.Conflict, await client.StatusAsync(HttpMethod.Delete, $"/api/users/{second}", secondToken));
    }

    [Fact]
    public async Task Two_admins_demoting_each_other_at_once_leave_one_admin()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var admin = await client.RegisterAsync();
        var second = await client.CreateUserAsync(admin.Token, "second@" + admin.Domain, role: "admin");
        var secondToken = await client.LoginTokenAsync("second@" + admin.Domain, ApiCalls.Password, admin.Domain);

        var statuses = await Task.WhenAll(
            client.StatusAsync(HttpMethod.Patch, $"/api/users/{second}", admin.Token, new { role = "user" }),
            replica.StatusAsync(HttpMethod.Patch, $"/api/users/{admin.UserId}", secondToken, new { role = "user" }));

        Assert.Contains(HttpStatusCode.OK, statuses);
        Assert.Equal(1, await fixture.Redis.Database.SetLengthAsync($"tenant:{{{admin.TenantId}}}:admins"));
    }

    [Fact]
    public async Task Deleting_a_user_removes_it_its_email_claim_and_its_sessions()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var email = "gone@" + admin.Domain;
        var userId = await client.CreateUserAsync(admin.Token, email);
        var token = await client.LoginTokenAsync(email, ApiCalls.Password, admin.Domain);

        Assert.Equal(HttpStatusCode.NoContent, await client.StatusAsync(HttpMethod.Delete, $"/api/users/{userId}", admin.Token));

        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", token));
        Assert.Equal(HttpStatusCode.NotFound, await client.StatusAsync(HttpMethod.Get, $"/api/users/{userId}", admin.Token));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.LoginAsync(email, ApiCalls.Password, admin.Domain)).StatusCode);
        Assert.False(await fixture.Redis.Database.KeyExistsAsync($"tenant:{{{admin.TenantId}}}:user:email:{{{email}}}"));
        Assert.False(await fixture.Redis.Database.KeyExistsAsync($"tenant:{{{admin.TenantId}}}:user:{{{userId}}}:sessions"));
        // The email is free again.
        await client.CreateUserAsync(admin.Token, email);
    }
}
