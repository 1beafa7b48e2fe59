using LlmApi.Api.Infrastructure;
using StackExchange.Redis;

namespace LlmApi.Api.Users;

public enum UserRole
{
    User,
    Admin,
}

public enum UserStatus
{
    Active,
    Inactive,
}

/// <summary>A user as stored in <c>tenant:{tenantId}:user:{userId}</c>. Only <see cref="ToResponse"/> leaves the service.</summary>
internal sealed record User(
    Guid UserId,
    Guid TenantId,
    string Username,
    string Email,
    UserRole Role,
    UserStatus Status,
    string PasswordHash,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static class Fields
    {
        public const string Id = "id";
        public const string TenantId = "tenantId";
        public const string Username = "username";
        public const string Email = "email";
        public const string Role = "role";
        public const string Status = "status";
        public const string PasswordHash = "passwordHash";
        public const string CreatedAt = "createdAt";
        public const string UpdatedAt = "updatedAt";
        public const string Revision = RedisHashes.Revision;
    }

    public bool IsActiveAdmin => Role == UserRole.Admin && Status == UserStatus.Active;

    public HashEntry[] ToHashEntries() =>
    [
        new(Fields.Id, UserId.ToString("D")),
        new(Fields.TenantId, TenantId.ToString("D")),
        new(Fields.Username, Username),
        new(Fields.Email, Email),
        new(Fields.Role, RoleValue(Role)),
        new(Fields.Status, StatusValue(Status)),
        new(Fields.PasswordHash, PasswordHash),
        new(Fields.CreatedAt, RedisHashes.Format(CreatedAt)),
        new(Fields.UpdatedAt, RedisHashes.Format(UpdatedAt)),
    ];

    public static User? FromHash(HashEntry[] entries)
    {
        if (entries.Length == 0)
        {
            return null;
        }

        var f = RedisHashes.ToDictionary(entries);
        return new User(
            Guid.Parse(f.Get(Fields.Id)),
            Guid.Parse(f.Get(Fields.TenantId)),
            f.Get(Fields.Username),
            f.Get(Fields.Email),
            Enum.Parse<UserRole>(f.Get(Fields.Role), ignoreCase: true),
            Enum.Parse<UserStatus>(f.Get(Fields.Status), ignoreCase: true),
            f.Get(Fields.PasswordHash),
            RedisHashes.ParseTime(f.Get(Fields.CreatedAt)),
            RedisHashes.ParseTime(f.Get(Fields.UpdatedAt)));
    }

    public static string RoleValue(UserRole role) => StoredValues<UserRole>.Of(role);

    public static string StatusValue(UserStatus status) => StoredValues<UserStatus>.Of(status);

    public UserResponse ToResponse() => new(UserId, TenantId, Username, Email, Role, Status, CreatedAt, UpdatedAt);
}

/// <summary>A user as the API shows it: never the password hash.</summary>
internal sealed record UserResponse(
    Guid UserId, Guid TenantId, string Username, string Email, UserRole Role, UserStatus Status, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
