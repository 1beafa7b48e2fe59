using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Tenants;

[Collection(SharedApi.Name)]
public class OperatorTests(ApiFixture fixture)
{
    private HttpRequestMessage OperatorRequest(HttpMethod method, string path, object? body = null, string? key = null)
    {
        var request = ApiCalls.Request(method, path, token: null, body);
        request.Headers.Add("X-Operator-Key", key ?? fixture.OperatorKey);
        return request;
    }

    [Fact]
    public async Task Operator_routes_need_the_operator_key()
    {
        using var client = fixture.CreateClient();

        using var none = await client.GetAsync("/api/admin/tenants");
        await none.AssertProblemAsync(HttpStatusCode.Unauthorized);
        using var wrong = await client.SendAsync(OperatorRequest(HttpMethod.Get, "/api/admin/tenants", key: "not-the-operator-key-at-all"));
        await wrong.AssertProblemAsync(HttpStatusCode.Unauthorized);
        var tenantAdmin = await client.RegisterAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/admin/tenants", tenantAdmin.Token));
    }

    [Fact]
    public async Task Operator_reads_one_tenant_by_id_and_nobody_else_can()
    {
        using var client = fixture.CreateClient();
        var registered = await client.RegisterAsync();

        using var response = await client.SendAsync(OperatorRequest(HttpMethod.Get, $"/api/admin/tenants/{registered.TenantId}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var tenant = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(registered.TenantId, tenant.GetProperty("tenantId").GetGuid());
        Assert.Equal(registered.Domain, tenant.GetProperty("domain").GetString());

        using var unknown = await client.SendAsync(OperatorRequest(HttpMethod.Get, $"/api/admin/tenants/{Guid.NewGuid()}"));
        await unknown.AssertProblemAsync(HttpStatusCode.NotFound);
        using var wrongKey = await client.SendAsync(OperatorRequest(HttpMethod.Get, $"/api/admin/tenants/{registered.TenantId}", key: "not-the-operator-key-at-all"));
        await wrongKey.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, $"/api/admin/tenants/{registered.TenantId}", registered.Token));
    }

    [Fact]
    public async Task Operator_lists_tenants_page_by_page()
    {
        using var client = fixture.CreateClient();
        var registered = new[] { await client.RegisterAsync(), await client.RegisterAsync() };

        var seen = new HashSet<Guid>();
        string? cursor = null;
        do
        {
            using var response = await client.SendAsync(OperatorRequest(HttpMethod.Get, "/api/admin/tenants?limit=100" + (cursor is null ? "" : "&cursor=" + cursor)));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            foreach (var tenant in body.GetProperty("tenants").EnumerateArray())
            {
                seen.Add(tenant.GetProperty("tenantId").GetGuid());
            }

            cursor = body.GetProperty("nextCursor").GetString();
        }
        while (cursor is not null);

        Assert.All(registered, r => Assert.Contains(r.TenantId, seen));
    }

    [Fact]
    public async Task Suspending_a_tenant_locks_out_its_users_and_tokens_on_every_replica_at_once()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var tenant = await client.RegisterAsync();
        var bystander = await client.RegisterAsync();

        using var suspend = await client.SendAsync(OperatorRequest(HttpMethod.Patch, $"/api/admin/tenants/{tenant.TenantId}", new { status = "suspended" }));
        Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
        Assert.Equal("suspended", (await suspend.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());

        Assert.Equal(HttpStatusCode.Unauthorized, await replica.StatusAsync(HttpMethod.Get, "/api/auth/me", tenant.Token));
        using var login = await replica.LoginAsync(tenant.Email, tenant.Password, tenant.Domain);
        await login.AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, await replica.StatusAsync(HttpMethod.Get, "/api/auth/me", bystander.Token));

        using var restore = await client.SendAsync(OperatorRequest(HttpMethod.Patch, $"/api/admin/tenants/{tenant.TenantId}", new { status = "active" }));
        Assert.Equal(HttpStatusCode.OK, restore.StatusCode);
        Assert.Equal(HttpStatusCode.OK, await replica.StatusAsync(HttpMethod.Get, "/api/auth/me", tenant.Token));
    }

    [Fact]
    public async Task Unknown_tenants_and_bad_statuses_are_refused()
    {
        using var client = fixture.CreateClient();

        using var unknown = await client.SendAsync(OperatorRequest(HttpMethod.Patch, $"/api/admin/tenants/{Guid.NewGuid()}", new { status = "active" }));
        await unknown.AssertProblemAsync(HttpStatusCode.NotFound);
        using var bad = await client.SendAsync(OperatorRequest(HttpMethod.Patch, $"/api/admin/tenants/{Guid.NewGuid()}", new { status = "deleted" }));
        await bad.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Without_a_configured_operator_key_the_operator_routes_do_not_exist()
    {
        var settings = new Dictionary<string, string?>(fixture.Settings) { ["Operator:Key"] = "" };
        await using var api = new ApiFactory(settings);
        api.StartServer();
        using var client = api.CreateClient();

        using var response = await client.SendAsync(OperatorRequest(HttpMethod.Get, "/api/admin/tenants", key: ""));

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }
}
