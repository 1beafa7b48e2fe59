using LlmApi.Api.Auth;

namespace LlmApi.Api.Audit;

/// <summary>The security-relevant actions the audit trail records.</summary>
internal static class AuditActions
{
    public const string TenantRegistered = "tenant.registered";
    public const string SignInSucceeded = "signin.succeeded";
    public const string SignInFailed = "signin.failed";
    public const string SignInThrottled = "signin.throttled";
    public const string Logout = "logout";
    public const string LogoutAll = "logout.all";
    public const string PasswordChanged = "password.changed";
    public const string PasswordChangeFailed = "password.change_failed";
    public const string SessionEnded = "session.ended";
    public const string UserCreated = "user.created";
    public const string UserChanged = "user.changed";
    public const string RoleChanged = "user.role_changed";
    public const string UserDeleted = "user.deleted";
    public const string KeyCreated = "key.created";
    public const string KeyDeleted = "key.deleted";
    public const string TenantSettingsChanged = "tenant.settings_changed";
    public const string TenantChangedByOperator = "tenant.changed_by_operator";
}

/// <summary>Who acted: a user, an API key, the platform operator, or someone not signed in.</summary>
internal sealed record AuditActor(string Type, string? Id)
{
    public static readonly AuditActor Operator = new("operator", null);

    public static AuditActor Anonymous => new("anonymous", null);

    public static AuditActor User(Guid userId) => new("user", userId.ToString("D"));

    public static AuditActor Of(Caller caller) => caller.Key is { } key ? new("key", key.KeyId.ToString("D")) : User(caller.UserId);
}

/// <summary>
/// One recorded event: when, who, what, on what, from where, and how it ended. Never a password, token or key:
/// nothing of the kind is ever passed in (targets are ids, and at most an email that was tried).
/// </summary>
internal sealed record AuditEvent(
    string Id, DateTimeOffset Time, string Action, string Outcome, AuditActor Actor, string? TargetType, string? TargetId, string ClientAddress);

internal sealed record AuditPage(IReadOnlyList<AuditEvent> Events, int Count, string? NextCursor);
