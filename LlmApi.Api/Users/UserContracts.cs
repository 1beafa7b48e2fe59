using System.ComponentModel.DataAnnotations;
using LlmApi.Api.Infrastructure;

namespace LlmApi.Api.Users;

// Request contracts are public: the minimal-API validation generator (AddValidation) only sees public types.
public sealed record CreateUserRequest(
    [property: Required, RegularExpression("^[A-Za-z0-9]{3,30}$", ErrorMessage = "The username field must be 3 to 30 letters or digits.")] string Username,
    [property: Required, EmailAddress, StringLength(254)] string Email,
    [property: Required, PasswordPolicy] string Password,
    UserRole? Role);

public sealed record UpdateUserRequest(
    [property: RegularExpression("^[A-Za-z0-9]{3,30}$", ErrorMessage = "The username field must be 3 to 30 letters or digits.")] string? Username,
    UserRole? Role,
    UserStatus? Status) : IValidatableObject
{
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Username is null && Role is null && Status is null)
        {
            yield return new ValidationResult("Give at least one of username, role and status.", [nameof(Username), nameof(Role), nameof(Status)]);
        }
    }
}

internal sealed record UserCreatedResponse(string Message, UserResponse User);

internal sealed record UserListResponse(IReadOnlyList<UserResponse> Users, int Count, long Total, string? NextCursor);
