using LlmApi.Api.Tenants;
using LlmApi.Api.Users;

namespace LlmApi.Api.Auth;

/// <summary>
/// Who is calling, as verified for this request: the user and tenant read from Redis when the token was validated
/// (so handlers need no further round trip for them), and the session and token the request carries.
/// Scoped to one request; set only by <see cref="AccessValidator"/>.
/// </summary>
internal sealed class Caller
{
    private User? _user;
    private Tenant? _tenant;

    public User User => _user ?? throw new InvalidOperationException("The caller is known only on authenticated endpoints.");

    public Tenant Tenant => _tenant ?? throw new InvalidOperationException("The caller is known only on authenticated endpoints.");

    public Guid TenantId => Tenant.TenantId;

    public Guid UserId => User.UserId;

    public Guid SessionId { get; private set; }

    public string TokenId { get; private set; } = string.Empty;

    public bool IsKnown => _user is not null;

    public void Set(User user, Tenant tenant, Guid sessionId, string tokenId)
    {
        _user = user;
        _tenant = tenant;
        SessionId = sessionId;
        TokenId = tokenId;
    }
}
