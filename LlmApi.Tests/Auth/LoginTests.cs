using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Auth;

[Collection(SharedApi.Name)]
public class LoginTests(ApiFixture fixture)
{
    [Fact]
    public async Task Login_by_domain_or_by_tenant_id_returns_token_user_tenant_and_session()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        using var byDomain = await client.LoginAsync(account.Email.ToUpperInvariant(), account.Password, account.Domain);
        using var byId = await client.PostAsJsonAsync("/api/auth/login", new { email = account.Email, password = account.Password, tenantId = account.TenantId });

        foreach (var response in new[] { byDomain, byId })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.False(string.IsNullOrEmpty(body.GetProperty("token").GetString()));
            Assert.Equal(account.UserId, body.GetProperty("user").GetProperty("userId").GetGuid());
            Assert.Equal(account.TenantId, body.GetProperty("tenant").GetProperty("tenantId").GetGuid());
            Assert.Equal(account.Domain, body.GetProperty("tenant").GetProperty("domain").GetString());
            Assert.NotEqual(Guid.Empty, body.GetProperty("sessionId").GetGuid());
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Login_needs_exactly_one_of_tenant_id_and_domain(bool both)
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        object body = both
            ? new { email = account.Email, password = account.Password, tenantId = account.TenantId, domain = account.Domain }
            : new { email = account.Email, password = account.Password };

        using var response = await client.PostAsJsonAsync("/api/auth/login", body);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Unknown_email_wrong_password_and_unknown_tenant_get_the_same_401()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        using var unknownEmail = await client.LoginAsync("nobody@" + account.Domain, account.Password, account.Domain);
        using var wrongPassword = await client.LoginAsync(account.Email, "wrong password!", account.Domain);
        using var unknownTenant = await client.LoginAsync(account.Email, account.Password, ApiCalls.UniqueDomain());

        var details = new List<string?>();
        foreach (var response in new[] { unknownEmail, wrongPassword, unknownTenant })
        {
            var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
            details.Add(problem.GetProperty("detail").GetString());
        }

        Assert.Single(details.Distinct());
    }

    [Fact]
    public async Task An_inactive_user_cannot_sign_in_and_their_tokens_stop_working()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (memberId, email, memberToken) = await client.CreateMemberAsync(admin);

        Assert.Equal(HttpStatusCode.OK,
            await client.StatusAsync(HttpMethod.Patch, $"/api/users/{memberId}", admin.Token, new { status = "inactive" }));

        using var login = await client.LoginAsync(email, ApiCalls.Password, admin.Domain);
        await login.AssertProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", memberToken));
    }

    [Fact]
    public async Task When_more_sign_ins_wait_than_the_queue_holds_the_rest_get_503_with_retry_after()
    {
        var settings = new Dictionary<string, string?>(fixture.Settings) { ["Passwords:QueueLimit"] = "1" };
        await using var api = new ApiFactory(settings);
        api.StartServer();
        using var client = api.CreateClient();
        var account = await client.RegisterAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => client.LoginAsync(account.Email, account.Password, account.Domain)));

        try
        {
            Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
            var refused = responses.First(r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
            await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.NotNull(refused.Headers.RetryAfter);
            Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }
}
