using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.RegularExpressions;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// 8 to 128 characters and at most 72 UTF-8 bytes: bcrypt reads only the first 72 bytes, and a longer password is
/// rejected rather than silently truncated (which would make its tail meaningless).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
internal sealed class PasswordPolicyAttribute : ValidationAttribute
{
    public const int MinLength = 8;
    public const int MaxLength = 128;
    public const int MaxBytes = 72;

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) => value switch
    {
        null => ValidationResult.Success, // [Required] says whether it may be missing
        string { Length: < MinLength or > MaxLength } => Fail(validationContext, $"must be {MinLength} to {MaxLength} characters long"),
        string s when Encoding.UTF8.GetByteCount(s) > MaxBytes => Fail(validationContext, $"must be at most {MaxBytes} bytes in UTF-8"),
        _ => ValidationResult.Success,
    };

    private static ValidationResult Fail(ValidationContext context, string rule) =>
        new($"The {context.DisplayName} field {rule}.", context.MemberName is { } m ? [m] : null);
}

/// <summary>A DNS host name: letters, digits and hyphens in dot-separated labels of 1-63 characters, 253 at most.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
internal sealed partial class DnsNameAttribute : ValidationAttribute
{
    [GeneratedRegex(@"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex HostName();

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        value is null || (value is string s && HostName().IsMatch(Normalization.Domain(s)))
            ? ValidationResult.Success
            : new ValidationResult($"The {validationContext.DisplayName} field must be a DNS name such as example.com.",
                validationContext.MemberName is { } m ? [m] : null);
}
