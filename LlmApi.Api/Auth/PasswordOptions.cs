using System.ComponentModel.DataAnnotations;

namespace LlmApi.Api.Auth;

/// <summary>Settings of the <c>Passwords</c> section.</summary>
internal sealed class PasswordOptions
{
    public const string Section = "Passwords";

    /// <summary>bcrypt cost; the seed's 10 is the floor.</summary>
    [Range(10, 16)]
    public int WorkFactor { get; set; } = 10;

    /// <summary>Hashing jobs allowed to wait for a worker before logins are refused with 503.</summary>
    [Range(1, 100_000)]
    public int QueueLimit { get; set; } = 1_000;
}
