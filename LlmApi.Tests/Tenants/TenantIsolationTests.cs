using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Tenants;

/// <summary>Tenant B, even as an admin, reads and writes nothing of tenant A: every such attempt is a 404.</summary>
[Collection(SharedApi.Name)]
public class TenantIsolationTests(ApiFixture fixture)
{
    [Fact]
    public async Task Another_tenants_admin_can_neither_see_nor_change_nor_delete_a_user()
    {
        using var client = fixture.CreateClient();
        var a = await client.RegisterAsync();
        var b = await client.RegisterAsync();
        var aMember = await client.CreateUserAsync(a.Token, "member@" + a.Domain);

        foreach (var target in new[] { a.UserId, aMember })
        {
            using var get = await client.SendAsync(HttpMethod.Get, $"/api/users/{target}", b.Token);
            await get.AssertProblemAsync(HttpStatusCode.NotFound);
            Assert.Equal(HttpStatusCode.NotFound, await client.StatusAsync(HttpMethod.Patch, $"/api/users/{target}", b.Token, new { role = "admin" }));
            Assert.Equal(HttpStatusCode.NotFound, await client.StatusAsync(HttpMethod.Delete, $"/api/users/{target}", b.Token));
        }

        using var aView = await client.SendAsync(HttpMethod.Get, $"/api/users/{aMember}", a.Token);
        var member = await aView.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("user", member.GetProperty("role").GetString());
        Assert.Equal("active", member.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Lists_and_tenant_views_show_only_the_callers_tenant()
    {
        using var client = fixture.CreateClient();
        var a = await client.RegisterAsync();
        var b = await client.RegisterAsync();
        await client.CreateUserAsync(a.Token, "only-a@" + a.Domain);

        using var list = await client.SendAsync(HttpMethod.Get, "/api/users", b.Token);
        var users = (await list.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("users").EnumerateArray().ToList();
        Assert.Single(users);
        Assert.Equal(b.UserId, users[0].GetProperty("userId").GetGuid());

        using var tenant = await client.SendAsync(HttpMethod.Get, "/api/tenant", b.Token);
        Assert.Equal(b.TenantId, (await tenant.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("tenantId").GetGuid());
    }

    [Fact]
    public async Task The_same_email_may_exist_in_two_tenants_and_signs_in_to_the_one_named()
    {
        using var client = fixture.CreateClient();
        var a = await client.RegisterAsync();
        var b = await client.RegisterAsync();
        const string email = "shared@example.org";
        await client.CreateUserAsync(a.Token, email, password: "password-for-a");
        await client.CreateUserAsync(b.Token, email, password: "password-for-b");

        Assert.Equal(HttpStatusCode.OK, (await client.LoginAsync(email, "password-for-a", a.Domain)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.LoginAsync(email, "password-for-a", b.Domain)).StatusCode);
    }

    [Fact]
    public async Task Admins_update_their_tenants_name_and_settings()
    {
        using var client = fixture.CreateClient();
        var a = await client.RegisterAsync();

        using var updated = await client.SendAsync(HttpMethod.Patch, "/api/tenant", a.Token,
            new { name = "Renamed Tenant", settings = new { defaultModel = "llama3", maxTokens = 512 } });

        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var body = await updated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Renamed Tenant", body.GetProperty("name").GetString());
        Assert.Equal("llama3", body.GetProperty("settings").GetProperty("defaultModel").GetString());
        for (var read = 0; read < 2; read++)
        {
            // The second answer comes from the tenant the access check remembered, with its settings parsed once.
            using var me = await client.SendAsync(HttpMethod.Get, "/api/auth/me", a.Token);
            var tenant = (await me.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("tenant");
            Assert.Equal(512, tenant.GetProperty("settings").GetProperty("maxTokens").GetInt32());
        }

        using var invalid = await client.SendAsync(HttpMethod.Patch, "/api/tenant", a.Token, new { settings = "not an object" });
        await invalid.AssertProblemAsync(HttpStatusCode.BadRequest);
    }
}
