using System.ComponentModel.DataAnnotations;

namespace LlmApi.Api.Auth;

/// <summary>Limits on guessing and flooding (<c>Throttling:*</c>), held in Redis so they hold across replicas.</summary>
internal sealed class ThrottlingOptions
{
    public const string Section = "Throttling";

    /// <summary>Failed sign-ins for one account within <see cref="FailureWindow"/> before it is locked.</summary>
    [Range(1, 1000)]
    public int AccountFailures { get; set; } = 5;

    /// <summary>Failed sign-ins from one client address (any account) within the window before the address is locked.</summary>
    [Range(1, 1_000_000)]
    public int AddressFailures { get; set; } = 50;

    /// <summary>Wrong current passwords given by one user within the window before password changes are locked.</summary>
    [Range(1, 1000)]
    public int PasswordChangeFailures { get; set; } = 5;

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan FailureWindow { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The first lock; each further lock within a day lasts twice as long as the one before, up to <see cref="MaxLock"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan FirstLock { get; set; } = TimeSpan.FromMinutes(1);

    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan MaxLock { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Tenants one client address may register per hour.</summary>
    [Range(1, 1_000_000)]
    public int RegistrationsPerHour { get; set; } = 10;

    /// <summary>Live sessions per user; signing in once more ends the oldest.</summary>
    [Range(1, 10_000)]
    public int SessionsPerUser { get; set; } = 100;
}
