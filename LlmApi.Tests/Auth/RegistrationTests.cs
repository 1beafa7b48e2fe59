using System.Text.Json;
using LlmApi.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LlmApi.Tests.Auth;

[Collection(SharedApi.Name)]
public class RegistrationTests(ApiFixture fixture)
{
    [Fact]
    public async Task Register_creates_the_tenant_and_its_admin_and_signs_the_admin_in()
    {
        using var client = fixture.CreateClient();
        var domain = ApiCalls.UniqueDomain();

        using var response = await client.PostAsJsonAsync("/api/auth/register", new
        {
            tenantName = "Acme Corp",
            domain = "  " + domain.ToUpperInvariant() + " ",
            username = "alice",
            email = "Alice@" + domain,
            password = ApiCalls.Password,
        });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var raw = await response.Content.ReadAsStringAsync();
        var body = JsonDocument.Parse(raw).RootElement;
        Assert.Equal("Acme Corp", body.GetProperty("tenant").GetProperty("name").GetString());
        Assert.Equal(domain, body.GetProperty("tenant").GetProperty("domain").GetString());
        Assert.Equal("admin", body.GetProperty("user").GetProperty("role").GetString());
        Assert.Equal("alice@" + domain, body.GetProperty("user").GetProperty("email").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
        Assert.DoesNotContain(ApiCalls.Password, raw, StringComparison.Ordinal);
        Assert.DoesNotContain("passwordHash", raw, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("$2", raw, StringComparison.Ordinal);

        var token = body.GetProperty("token").GetString();
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", token));
    }

    [Fact]
    public async Task A_taken_domain_is_refused_with_409_whatever_its_case()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        using var again = await client.PostAsJsonAsync("/api/auth/register", new
        {
            tenantName = "Impostor",
            domain = account.Domain.ToUpperInvariant(),
            username = "mallory",
            email = "mallory@elsewhere.example",
            password = ApiCalls.Password,
        });

        await again.AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Sixteen_concurrent_registrations_of_one_domain_create_exactly_one_tenant()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var domain = ApiCalls.UniqueDomain("race");
        var tenantsBefore = await fixture.Redis.Database.SortedSetLengthAsync("tenants");

        var attempts = Enumerable.Range(0, 16).Select(async i =>
        {
            using var response = await (i % 2 == 0 ? client : replica).PostAsJsonAsync("/api/auth/register", new
            {
                tenantName = $"Racer {i}",
                domain,
                username = $"racer{i}",
                email = $"racer{i}@example.com",
                password = ApiCalls.Password,
            });
            return response.StatusCode;
        });
        var statuses = await Task.WhenAll(attempts);

        Assert.Equal(1, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.Equal(15, statuses.Count(s => s == HttpStatusCode.Conflict));
        Assert.Equal(tenantsBefore + 1, await fixture.Redis.Database.SortedSetLengthAsync("tenants"));
    }

    [Theory]
    [InlineData("DomainClaimed")]
    [InlineData("TenantWritten")]
    [InlineData("Indexed")]
    public async Task A_registration_interrupted_after_any_step_answers_503_and_leaves_no_usable_half(string step)
    {
        using var client = fixture.CreateClient();
        var store = fixture.Api.Services.GetRequiredService<LlmApi.Api.Tenants.TenantStore>();
        var domain = ApiCalls.UniqueDomain("cut");
        var tenantsBefore = await fixture.Redis.Database.SortedSetLengthAsync("tenants");
        store.Interruption = at => at.ToString() == step
            ? throw new StackExchange.Redis.RedisConnectionException(StackExchange.Redis.ConnectionFailureType.SocketFailure, "Redis went away (test)")
            : Task.CompletedTask;
        try
        {
            using var cut = await client.PostAsJsonAsync("/api/auth/register", new
            {
                tenantName = "Cut short", domain, username = "admin", email = $"admin@{domain}", password = ApiCalls.Password,
            });
            await cut.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
        }
        finally
        {
            store.Interruption = null;
        }

        // Nothing of it is left: no tenant in the index, nobody can sign in, and the domain is free again at once.
        Assert.Equal(tenantsBefore, await fixture.Redis.Database.SortedSetLengthAsync("tenants"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.LoginAsync($"admin@{domain}", ApiCalls.Password, domain)).StatusCode);
        var account = await client.RegisterAsync(domain);
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", account.Token));
    }

    [Fact]
    public async Task Invalid_registration_is_400_with_an_error_per_field_and_writes_nothing()
    {
        using var client = fixture.CreateClient();
        var domainKeysBefore = await fixture.Redis.CountKeysAsync("tenant:domain:*");

        using var response = await client.PostAsJsonAsync("/api/auth/register", new
        {
            tenantName = "ab",
            domain = "not a domain",
            username = "no spaces!",
            email = "not-an-email",
            password = "short",
        });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        foreach (var field in new[] { "tenantName", "domain", "username", "email", "password" })
        {
            Assert.True(errors.TryGetProperty(field, out _), $"expected an error for {field}: {errors}");
        }

        Assert.Equal(domainKeysBefore, await fixture.Redis.CountKeysAsync("tenant:domain:*"));
    }

    [Fact]
    public async Task A_password_longer_than_72_bytes_is_rejected_rather_than_truncated()
    {
        using var client = fixture.CreateClient();

        // 40 characters, 80 bytes in UTF-8: within the character limit, beyond what bcrypt would read.
        using var response = await client.PostAsJsonAsync("/api/auth/register", new
        {
            tenantName = "Long Password",
            domain = ApiCalls.UniqueDomain(),
            username = "longpw",
            email = "longpw@example.com",
            password = new string('é', 40),
        });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("72", problem.GetProperty("errors").GetProperty("password")[0].GetString(), StringComparison.Ordinal);
    }
}
