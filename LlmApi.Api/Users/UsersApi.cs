using LlmApi.Api.Audit;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;

namespace LlmApi.Api.Users;

/// <summary>User management by a tenant's admins. The tenant is always the caller's: another tenant's users answer 404.</summary>
internal static partial class UsersApi
{
    private const string LastAdmin = "A tenant must keep at least one active admin; promote another user first.";

    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/api/users").WithTags("Users").RequireAuthorization(AuthenticationSetup.AdminPolicy);
        users.MapPost("/", CreateAsync);
        users.MapGet("/", ListAsync);
        users.MapGet("/{userId:guid}", GetAsync);
        users.MapPatch("/{userId:guid}", UpdateAsync);
        users.MapDelete("/{userId:guid}", DeleteAsync);
        return app;
    }

    internal static async Task<Results<Created<UserCreatedResponse>, ProblemHttpResult>> CreateAsync(
        CreateUserRequest request, Caller caller, UserStore users, PasswordHasher passwords, AuditLog audit, TimeProvider clock,
        HttpContext http, ILogger<UserStore> logger)
    {
        var now = clock.GetUtcNow();
        var hash = await passwords.HashAsync(request.Password, http.RequestAborted);
        var user = new User(Guid.CreateVersion7(now), caller.TenantId, request.Username, Normalization.Email(request.Email),
            request.Role ?? UserRole.User, UserStatus.Active, hash, now, now);

        if (await users.CreateAsync(user) == UserWriteOutcome.EmailTaken)
        {
            return Problems.Conflict("A user with this email already exists in the tenant.");
        }

        LogCreated(logger, user.UserId, user.Role);
        await audit.RecordAsync(caller.TenantId, AuditActions.UserCreated, AuditActor.Of(caller), http, "user", user.UserId.ToString("D"));
        return TypedResults.Created($"/api/users/{user.UserId:D}", new UserCreatedResponse("User created", user.ToResponse()));
    }

    internal static async Task<Results<Ok<UserListResponse>, ValidationProblem>> ListAsync(
        Caller caller, UserStore users, int? limit, string? cursor)
    {
        if (Paging.TryRead(limit, cursor, out var pageSize, out var after) is { } invalid)
        {
            return invalid;
        }

        var (page, next, total) = await users.ListAsync(caller.TenantId, after, pageSize);
        return TypedResults.Ok(new UserListResponse(page.Select(u => u.ToResponse()).ToList(), page.Count, total, next));
    }

    internal static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> GetAsync(Guid userId, Caller caller, UserStore users) =>
        await users.GetAsync(caller.TenantId, userId) is { } user
            ? TypedResults.Ok(user.ToResponse())
            : Problems.NotFound("The user");

    internal static async Task<Results<Ok<UserResponse>, ProblemHttpResult>> UpdateAsync(
        Guid userId, UpdateUserRequest request, Caller caller, UserStore users, AuditLog audit, TimeProvider clock, HttpContext http,
        ILogger<UserStore> logger)
    {
        var outcome = await users.UpdateAsync(caller.TenantId, userId, request.Username, request.Role, request.Status, clock.GetUtcNow());
        switch (outcome)
        {
            case UserWriteOutcome.NotFound:
                return Problems.NotFound("The user");
            case UserWriteOutcome.LastAdmin:
                return Problems.Conflict(LastAdmin);
        }

        LogUpdated(logger, userId);
        await audit.RecordAsync(caller.TenantId, request.Role is null ? AuditActions.UserChanged : AuditActions.RoleChanged, AuditActor.Of(caller), http,
            "user", userId.ToString("D"));
        return await users.GetAsync(caller.TenantId, userId) is { } user
            ? TypedResults.Ok(user.ToResponse())
            : Problems.NotFound("The user");
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid userId, Caller caller, UserStore users, AuditLog audit, HttpContext http, ILogger<UserStore> logger)
    {
        switch (await users.DeleteAsync(caller.TenantId, userId))
        {
            case UserWriteOutcome.NotFound:
                return Problems.NotFound("The user");
            case UserWriteOutcome.LastAdmin:
                return Problems.Conflict(LastAdmin);
            default:
                LogDeleted(logger, userId);
                await audit.RecordAsync(caller.TenantId, AuditActions.UserDeleted, AuditActor.Of(caller), http, "user", userId.ToString("D"));
                return TypedResults.NoContent();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "User {CreatedUserId} created with role {Role}")]
    private static partial void LogCreated(ILogger logger, Guid createdUserId, UserRole role);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {TargetUserId} updated")]
    private static partial void LogUpdated(ILogger logger, Guid targetUserId);

    [LoggerMessage(Level = LogLevel.Information, Message = "User {TargetUserId} deleted with all its sessions")]
    private static partial void LogDeleted(ILogger logger, Guid targetUserId);
}
