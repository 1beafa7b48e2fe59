using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Auth;

[Collection(SharedApi.Name)]
public class ThrottlingTests(ApiFixture fixture) : IAsyncLifetime
{
    // Per-address counters are shared by everything that calls from 127.0.0.1 through one Redis: instances with
    // limits of their own get a Redis of their own.
    private RedisServer _ownRedis = null!;

    public async Task InitializeAsync() => _ownRedis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _ownRedis.DisposeAsync();

    private ApiFactory Instance(params (string Key, string Value)[] settings)
    {
        var all = new Dictionary<string, string?>(fixture.Settings) { ["ConnectionStrings:cache"] = _ownRedis.ConnectionString };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        var api = new ApiFactory(all);
        api.StartServer();
        return api;
    }

    private static async Task<HttpStatusCode> LoginStatusAsync(HttpClient client, string email, string password, string domain, string? forwardedFor = null)
    {
        using var request = ApiCalls.Request(HttpMethod.Post, "/api/auth/login", null, new { email, password, domain });
        if (forwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", forwardedFor);
        }

        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task Five_failures_lock_an_account_on_every_replica_the_right_password_included_and_unknown_accounts_alike()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var account = await client.RegisterAsync();
        var ghost = $"nobody@{account.Domain}";

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(i % 2 == 0 ? client : replica, account.Email, "wrong guess " + i, account.Domain));
            Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(i % 2 == 0 ? replica : client, ghost, "wrong guess " + i, account.Domain));
        }

        using var locked = await replica.LoginAsync(account.Email, account.Password, account.Domain);
        var problem = await locked.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.InRange(locked.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
        using var lockedGhost = await client.LoginAsync(ghost, "anything at all", account.Domain);
        var ghostProblem = await lockedGhost.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal(problem.GetProperty("detail").GetString()![..40], ghostProblem.GetProperty("detail").GetString()![..40]);

        // Another account of the same tenant, from the same address, is not affected.
        var (_, memberEmail, _) = await client.CreateMemberAsync(account);
        Assert.Equal(HttpStatusCode.OK, await LoginStatusAsync(client, memberEmail, ApiCalls.Password, account.Domain));
    }

    [Fact]
    public async Task Each_further_lock_lasts_longer()
    {
        await using var api = Instance(("Throttling:AccountFailures", "2"), ("Throttling:FirstLock", "00:00:01"));
        using var client = api.CreateClient();
        var account = await client.RegisterAsync();

        var waits = new List<int>();
        for (var round = 0; round < 2; round++)
        {
            // An attacker who keeps guessing: once the lock ends, each guess counts again (the first shows as 401).
            await Eventually.MatchAsync(() => LoginStatusAsync(client, account.Email, "wrong guess", account.Domain), s => s == HttpStatusCode.Unauthorized,
                TimeSpan.FromSeconds(10), "the lock ends");
            await LoginStatusAsync(client, account.Email, "wrong guess", account.Domain);
            using var locked = await client.LoginAsync(account.Email, account.Password, account.Domain);
            Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
            waits.Add((await locked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("retryAfter").GetInt32());
        }

        Assert.True(waits[1] > waits[0], $"locks of {waits[0]} s then {waits[1]} s");
    }

    [Fact]
    public async Task Spraying_one_password_across_accounts_locks_the_address_whatever_x_forwarded_for_says()
    {
        await using var api = Instance(("Throttling:AddressFailures", "3"));
        using var client = api.CreateClient();
        var account = await client.RegisterAsync();

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(client, $"user{i}@{account.Domain}", "Summer2026!", account.Domain, $"203.0.113.{i}"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await LoginStatusAsync(client, account.Email, account.Password, account.Domain, "198.51.100.7"));
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_the_forwarded_client_address_is_the_one_throttled()
    {
        await using var api = Instance(("Throttling:AddressFailures", "3"), ("ForwardedHeaders:TrustedNetworks:0", "127.0.0.0/8"));
        using var client = api.CreateClient();
        var account = await client.RegisterAsync();

        for (var i = 0; i < 3; i++)
        {
            await LoginStatusAsync(client, $"user{i}@{account.Domain}", "Summer2026!", account.Domain, "203.0.113.9");
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await LoginStatusAsync(client, account.Email, account.Password, account.Domain, "203.0.113.9"));
        Assert.Equal(HttpStatusCode.OK, await LoginStatusAsync(client, account.Email, account.Password, account.Domain, "203.0.113.10"));
    }

    [Fact]
    public async Task Wrong_current_passwords_lock_password_changes()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Forbidden, await client.StatusAsync(HttpMethod.Post, "/api/auth/password", account.Token,
                new { currentPassword = "not my password " + i, newPassword = "a brand new password" }));
        }

        using var locked = await client.SendAsync(HttpMethod.Post, "/api/auth/password", account.Token,
            new { currentPassword = account.Password, newPassword = "a brand new password" });
        await locked.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.NotNull(locked.Headers.RetryAfter);
    }

    [Fact]
    public async Task Registrations_per_address_are_limited_across_replicas()
    {
        await using var api = Instance(("Throttling:RegistrationsPerHour", "2"));
        await using var replica = Instance(("Throttling:RegistrationsPerHour", "2"));
        using var client = api.CreateClient();
        using var other = replica.CreateClient();

        await client.RegisterAsync();
        await other.RegisterAsync();
        using var third = await client.PostAsJsonAsync("/api/auth/register", new
        {
            tenantName = "One too many", domain = ApiCalls.UniqueDomain(), username = "admin", email = "a@example.com", password = ApiCalls.Password,
        });

        await third.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.NotNull(third.Headers.RetryAfter);
    }

    [Fact]
    public async Task Past_the_session_cap_signing_in_ends_the_oldest_session()
    {
        await using var api = Instance(("Throttling:SessionsPerUser", "3"));
        using var client = api.CreateClient();
        var account = await client.RegisterAsync();

        var tokens = new List<string> { account.Token };
        for (var i = 0; i < 3; i++)
        {
            tokens.Add(await client.LoginTokenAsync(account.Email, account.Password, account.Domain));
        }

        using var sessions = await client.SendAsync(HttpMethod.Get, "/api/auth/sessions", tokens[^1]);
        Assert.Equal(3, (await sessions.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("count").GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", tokens[0])); // the oldest
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", tokens[1]));
    }
}
