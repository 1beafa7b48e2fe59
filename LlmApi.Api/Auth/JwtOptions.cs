using System.ComponentModel.DataAnnotations;
using System.Text;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Auth;

/// <summary>Settings of the <c>Jwt</c> section. The signing key is shared by every replica.</summary>
internal sealed class JwtOptions
{
    public const string Section = "Jwt";

    /// <summary>HMAC-SHA256 key, at least 32 bytes of UTF-8.</summary>
    public string SigningKey { get; set; } = string.Empty;

    [Required]
    public string Issuer { get; set; } = "llm-api-layer";

    [Required]
    public string Audience { get; set; } = "llm-api-layer";

    /// <summary>How long a token (and its session) lives; the seed's 4 hours.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(4);

    /// <summary>Tolerance for clocks that drift between replicas; at most 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromSeconds(30);

    public byte[] SigningKeyBytes => Encoding.UTF8.GetBytes(SigningKey);
}

internal sealed class JwtOptionsValidator : IValidateOptions<JwtOptions>
{
    public const int MinimumKeyBytes = 32;

    public ValidateOptionsResult Validate(string? name, JwtOptions options) =>
        Encoding.UTF8.GetByteCount(options.SigningKey) >= MinimumKeyBytes
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"Jwt:SigningKey must be set to at least {MinimumKeyBytes} bytes (it is {Encoding.UTF8.GetByteCount(options.SigningKey)}); " +
                "every replica needs the same key. Set it with the environment variable Jwt__SigningKey.");
}
