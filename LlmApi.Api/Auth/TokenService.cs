using System.Security.Claims;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LlmApi.Api.Auth;

/// <summary>Issues the API's access tokens: HS256, with the user, tenant, role, session and a unique token id.</summary>
internal sealed class TokenService(IOptions<JwtOptions> options, TimeProvider clock)
{
    private readonly JsonWebTokenHandler _handler = new();

    public IssuedToken Issue(Guid tenantId, Guid userId, string role, Guid sessionId)
    {
        var jwt = options.Value;
        var now = clock.GetUtcNow();
        var jti = Guid.NewGuid().ToString("N");
        var expires = now + jwt.Lifetime;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = jwt.Issuer,
            Audience = jwt.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Subject = new ClaimsIdentity(
            [
                new Claim(ApiClaims.Subject, userId.ToString("D")),
                new Claim(ApiClaims.TenantId, tenantId.ToString("D")),
                new Claim(ApiClaims.Role, role),
                new Claim(ApiClaims.SessionId, sessionId.ToString("D")),
                new Claim(ApiClaims.TokenId, jti),
            ]),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(jwt.SigningKeyBytes), SecurityAlgorithms.HmacSha256),
        });
        return new IssuedToken(token, jti, expires);
    }
}

internal sealed record IssuedToken(string Token, string TokenId, DateTimeOffset ExpiresAt);

/// <summary>Claim names as they travel in the token (inbound claim mapping is off).</summary>
internal static class ApiClaims
{
    public const string Subject = "sub";
    public const string TenantId = "tid";
    public const string Role = "role";
    public const string SessionId = "sid";
    public const string TokenId = "jti";
}
