using LlmApi.Api.ApiKeys;
using LlmApi.Api.Tenants;
using LlmApi.Api.Users;

namespace LlmApi.Api.Auth;

/// <summary>
/// Who is calling, as verified for this request: a user signed in with a token, or a machine client with an API
/// key, and their tenant, read from Redis when the credential was checked (so handlers need no further round trip
/// for them). Scoped to one request; set only by <see cref="AccessValidator"/> and the API key handler.
/// </summary>
internal sealed class Caller
{
    private User? _user;
    private Tenant? _tenant;
    private string? _tenantIdText;

    /// <summary>The signed-in user; only on routes that require a user's token.</summary>
    public User User => _user ?? throw new InvalidOperationException("The caller is a user only on routes that require a user's token.");

    public Tenant Tenant => _tenant ?? throw new InvalidOperationException("The caller is known only on authenticated endpoints.");

    public Guid TenantId => Tenant.TenantId;

    /// <summary>
    /// <see cref="TenantId"/> as text, made once per request: a model call tags its metrics and trace with it three or
    /// four times.
    /// </summary>
    public string TenantIdText => _tenantIdText ??= TenantId.ToString("D");

    public Guid UserId => User.UserId;

    /// <summary>The user, or null when a machine client calls with an API key.</summary>
    public User? UserOrNull => _user;

    /// <summary>The API key, or null when a user calls with a token.</summary>
    public ApiKey? Key { get; private set; }

    public Guid SessionId { get; private set; }

    public string TokenId { get; private set; } = string.Empty;

    public bool IsKnown => _tenant is not null;

    public void Set(User user, Tenant tenant, Guid sessionId, string tokenId)
    {
        _user = user;
        (_tenant, _tenantIdText) = (tenant, null);
        SessionId = sessionId;
        TokenId = tokenId;
    }

    /// <summary>
    /// True when the key came from <see cref="ApiKeyCache"/> unchecked: the call's admission checks that it still
    /// exists and its tenant is active before anything is done for it.
    /// </summary>
    public bool KeyCheckPending { get; private set; }

    public void Set(ApiKey key, Tenant tenant, bool checkPending)
    {
        Key = key;
        (_tenant, _tenantIdText) = (tenant, null);
        KeyCheckPending = checkPending;
    }

    /// <summary>The key's check is done (admission found it valid).</summary>
    public void KeyChecked() => KeyCheckPending = false;
}
