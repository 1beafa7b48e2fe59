namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Emails and domains are compared case-insensitively; storing and looking them up in one canonical form makes the
/// Redis indexes (and SET NX uniqueness) case-insensitive too.
/// </summary>
internal static class Normalization
{
    public static string Email(string email) => email.Trim().ToLowerInvariant();

    public static string Domain(string domain) => domain.Trim().TrimEnd('.').ToLowerInvariant();
}
