using System.ComponentModel.DataAnnotations;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;
using LlmApi.Api.Users;

namespace LlmApi.Api.Auth;

// Request contracts are public: the minimal-API validation generator (AddValidation) only sees public types.
public sealed record RegisterRequest(
    [property: Required, StringLength(100, MinimumLength = 3)] string TenantName,
    [property: Required, DnsName] string Domain,
    [property: Required, RegularExpression("^[A-Za-z0-9]{3,30}$", ErrorMessage = "The username field must be 3 to 30 letters or digits.")] string Username,
    [property: Required, EmailAddress, StringLength(254)] string Email,
    [property: Required, PasswordPolicy] string Password);

internal sealed record RegisterResponse(string Message, TenantSummary Tenant, UserResponse User, string Token, Guid SessionId);

/// <summary>Sign-in within one tenant, named either by its id or by its domain (exactly one of them).</summary>
public sealed record LoginRequest(
    [property: Required, StringLength(254)] string Email,
    [property: Required, StringLength(PasswordPolicyAttribute.MaxLength)] string Password,
    Guid? TenantId,
    [property: DnsName] string? Domain) : IValidatableObject
{
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if ((TenantId is null) == string.IsNullOrWhiteSpace(Domain))
        {
            yield return new ValidationResult("Give exactly one of tenantId and domain.", [nameof(TenantId), nameof(Domain)]);
        }
    }
}

internal sealed record LoginResponse(string Message, string Token, UserResponse User, TenantSummary Tenant, Guid SessionId);

internal sealed record MeResponse(UserResponse User, TenantResponse Tenant);

internal sealed record MessageResponse(string Message);

public sealed record ChangePasswordRequest(
    [property: Required, StringLength(PasswordPolicyAttribute.MaxLength)] string CurrentPassword,
    [property: Required, PasswordPolicy] string NewPassword);

internal sealed record SessionResponse(Guid SessionId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string UserAgent, bool Current);

internal sealed record SessionsResponse(IReadOnlyList<SessionResponse> Sessions, int Count);

internal sealed record EndedSessionsResponse(string Message, int Ended);
