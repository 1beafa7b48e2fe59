using System.Security.Claims;
using System.Text;
using LlmApi.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LlmApi.Tests.Auth;

[Collection(SharedApi.Name)]
public class TokenValidationTests(ApiFixture fixture)
{
    [Fact]
    public async Task Requests_without_a_token_get_401_problem_with_a_bearer_challenge()
    {
        using var client = fixture.CreateClient();

        using var response = await client.GetAsync("/api/auth/me");

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Theory]
    [InlineData("wrong-key")]
    [InlineData("wrong-issuer")]
    [InlineData("wrong-audience")]
    [InlineData("expired")]
    [InlineData("unsigned")]
    [InlineData("hs512")]
    public async Task Forged_or_expired_tokens_are_rejected(string defect)
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        var key = Encoding.UTF8.GetBytes(defect == "wrong-key" ? new string('k', 64) : fixture.JwtSigningKey);
        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = defect == "wrong-issuer" ? "someone-else" : "llm-api-layer",
            Audience = defect == "wrong-audience" ? "someone-else" : "llm-api-layer",
            IssuedAt = now.AddHours(-5),
            NotBefore = now.AddHours(-5),
            Expires = defect == "expired" ? now.AddMinutes(-5) : now.AddHours(1),
            Subject = new ClaimsIdentity(
            [
                new Claim("sub", account.UserId.ToString()), new Claim("tid", account.TenantId.ToString()),
                new Claim("role", "admin"), new Claim("sid", account.SessionId.ToString()), new Claim("jti", Guid.NewGuid().ToString("N")),
            ]),
            SigningCredentials = defect == "unsigned" ? null
                : new SigningCredentials(new SymmetricSecurityKey(key), defect == "hs512" ? SecurityAlgorithms.HmacSha512 : SecurityAlgorithms.HmacSha256),
        };
        var token = new JsonWebTokenHandler().CreateToken(descriptor);

        using var response = await client.SendAsync(HttpMethod.Get, "/api/auth/me", token);
        var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(defect == "expired" ? "The token has expired." : "The token is invalid.", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("nope")] // no dots: the token library's IDX14100, which explains JWS and JWE serialization
    [InlineData("a.b")]
    [InlineData("eyJ.eyJ.x")]
    [InlineData("a.b.c.d.e.f")]
    public async Task A_malformed_token_is_refused_in_the_API_s_own_words(string token)
    {
        using var client = fixture.CreateClient();

        using var response = await client.SendAsync(HttpMethod.Get, "/api/auth/me", token);
        var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("The token is invalid.", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("IDX", problem.GetRawText(), StringComparison.Ordinal);

        using var openAi = await client.SendAsync(HttpMethod.Get, "/v1/models", token);
        var error = await openAi.AssertOpenAiErrorAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("The token is invalid.", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_token_refused_by_the_access_check_says_why()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        Assert.Equal(HttpStatusCode.OK, await client.StatusAsync(HttpMethod.Post, "/api/auth/logout", account.Token));

        using var response = await client.SendAsync(HttpMethod.Get, "/api/auth/me", account.Token);
        var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("The session has ended; sign in again.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_well_signed_token_for_a_session_that_does_not_exist_is_rejected()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "llm-api-layer",
            Audience = "llm-api-layer",
            Expires = DateTime.UtcNow.AddHours(1),
            Subject = new ClaimsIdentity(
            [
                new Claim("sub", account.UserId.ToString()), new Claim("tid", account.TenantId.ToString()),
                new Claim("role", "admin"), new Claim("sid", Guid.NewGuid().ToString()), new Claim("jti", Guid.NewGuid().ToString("N")),
            ]),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(fixture.JwtSigningKey)), SecurityAlgorithms.HmacSha256),
        });

        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", token));
    }
}
