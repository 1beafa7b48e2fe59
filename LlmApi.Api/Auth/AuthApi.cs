using System.Runtime.CompilerServices;
using System.Text.Json;
using LlmApi.Api.Audit;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;
using LlmApi.Api.Users;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace LlmApi.Api.Auth;

internal static partial class AuthApi
{
    private const string InvalidCredentials = "The email or password is incorrect.";

    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth").WithTags("Auth");

        auth.MapPost("/register", RegisterAsync).AllowAnonymous().RequireRateLimiting(ClientAddress.RegistrationPolicy);
        auth.MapPost("/login", LoginAsync).AllowAnonymous();

        var signedIn = auth.MapGroup(string.Empty).RequireAuthorization(AuthenticationSetup.UserPolicy);
        signedIn.MapPost("/logout", LogoutAsync);
        signedIn.MapPost("/logout-all", LogoutAllAsync);
        signedIn.MapGet("/me", GetMe).Produces<MeResponse>(contentType: "application/json");
        signedIn.MapPost("/password", ChangePasswordAsync);
        signedIn.MapGet("/sessions", ListSessionsAsync);
        signedIn.MapDelete("/sessions/{sessionId:guid}", EndSessionAsync);
        return app;
    }

    /// <summary>Creates a tenant and its first user, an admin, and signs that admin in.</summary>
    internal static async Task<Results<Created<RegisterResponse>, ProblemHttpResult>> RegisterAsync(
        RegisterRequest request, TenantStore tenants, PasswordHasher passwords, TokenService tokens,
        AuditLog audit, TimeProvider clock, HttpContext http, ILogger<RegisterRequest> logger)
    {
        var now = clock.GetUtcNow();
        var tenant = new Tenant(Guid.CreateVersion7(now), request.TenantName.Trim(), Normalization.Domain(request.Domain),
            TenantStatus.Active, "{}", UsageLimits.Unlimited, now, now);
        var passwordHash = await passwords.HashAsync(request.Password, http.RequestAborted);
        var admin = new User(Guid.CreateVersion7(now), tenant.TenantId, request.Username, Normalization.Email(request.Email),
            UserRole.Admin, UserStatus.Active, passwordHash, now, now);
        var sessionId = Guid.NewGuid();
        var token = tokens.Issue(tenant.TenantId, admin.UserId, User.RoleValue(admin.Role), sessionId);
        var session = Session.Start(tenant.TenantId, admin.UserId, sessionId, token, now, http.Request.Headers.UserAgent);

        if (!await tenants.RegisterAsync(tenant, admin, session))
        {
            return Problems.Conflict($"The domain {tenant.Domain} is already registered.");
        }

        LogRegistered(logger, tenant.TenantId, admin.UserId);
        await audit.RecordAsync(tenant.TenantId, AuditActions.TenantRegistered, AuditActor.User(admin.UserId), http, "tenant", tenant.TenantId.ToString("D"));
        return TypedResults.Created("/api/tenant",
            new RegisterResponse("Tenant registered", tenant.ToSummary(), admin.ToResponse(), token.Token, sessionId));
    }

    /// <summary>
    /// Signs in within one tenant. Unknown tenant, unknown email and wrong password give the same 401 after the same
    /// bcrypt work, so neither the body nor the timing tells which one it was. Account status is revealed (403) only
    /// to a caller who knows the password.
    /// </summary>
    internal static async Task<Results<Ok<LoginResponse>, ProblemHttpResult>> LoginAsync(
        LoginRequest request, TenantStore tenants, UserStore users, SessionStore sessions, PasswordHasher passwords,
        AttemptThrottle throttle, AuditLog audit, TokenService tokens, TimeProvider clock, HttpContext http, ILogger<LoginRequest> logger)
    {
        var tenant = request.TenantId is { } tenantId
            ? await tenants.GetAsync(tenantId)
            : await tenants.FindByDomainAsync(Normalization.Domain(request.Domain!));
        var email = Normalization.Email(request.Email);

        // Throttled by what was asked for, whether or not it exists: the answer must not tell the two apart.
        var account = $"{tenant?.TenantId.ToString("D") ?? request.TenantId?.ToString("D") ?? Normalization.Domain(request.Domain!)}|{email}";
        var address = ClientAddress.Of(http);
        var locks = await Task.WhenAll(throttle.LockedForAsync(ThrottleScope.Account, account), throttle.LockedForAsync(ThrottleScope.Address, address));
        if (locks.Max() is { Ticks: > 0 } wait)
        {
            LogLoginThrottled(logger, tenant?.TenantId);
            if (tenant is not null)
            {
                await audit.RecordAsync(tenant.TenantId, AuditActions.SignInThrottled, AuditActor.Anonymous, http, "email", email, "refused");
            }
            return Problems.TooManyRequests(http, wait, "Too many failed sign-ins for this account or from this address.");
        }

        var user = tenant is null ? null : await users.FindByEmailAsync(tenant.TenantId, email);
        if (!await passwords.VerifyAsync(request.Password, user?.PasswordHash, http.RequestAborted) || user is null || tenant is null)
        {
            await Task.WhenAll(throttle.FailedAsync(ThrottleScope.Account, account), throttle.FailedAsync(ThrottleScope.Address, address));
            LogLoginFailed(logger, tenant?.TenantId);
            if (tenant is not null)
            {
                await audit.RecordAsync(tenant.TenantId, AuditActions.SignInFailed, AuditActor.Anonymous, http,
                    user is null ? "email" : "user", user?.UserId.ToString("D") ?? email, "failure");
            }
            return Problems.Unauthorized(InvalidCredentials);
        }

        await throttle.SucceededAsync(ThrottleScope.Account, account);

        if (user.Status != UserStatus.Active || tenant.Status != TenantStatus.Active)
        {
            LogLoginRefused(logger, tenant.TenantId, user.UserId);
            await audit.RecordAsync(tenant.TenantId, AuditActions.SignInFailed, AuditActor.User(user.UserId), http, "user", user.UserId.ToString("D"), "refused");
            return Problems.Forbidden(user.Status != UserStatus.Active ? "This user is inactive." : $"This tenant is {Tenant.StatusValue(tenant.Status)}.");
        }

        var now = clock.GetUtcNow();
        var sessionId = Guid.NewGuid();
        var token = tokens.Issue(tenant.TenantId, user.UserId, User.RoleValue(user.Role), sessionId);
        await sessions.CreateAsync(Session.Start(tenant.TenantId, user.UserId, sessionId, token, now, http.Request.Headers[HeaderNames.UserAgent]));

        LogLoggedIn(logger, tenant.TenantId, user.UserId);
        await audit.RecordAsync(tenant.TenantId, AuditActions.SignInSucceeded, AuditActor.User(user.UserId), http, "session", sessionId.ToString("D"));
        return TypedResults.Ok(new LoginResponse("Login successful", token.Token, user.ToResponse(), tenant.ToSummary(), sessionId));
    }

    internal static async Task<Ok<MessageResponse>> LogoutAsync(Caller caller, SessionStore sessions, AuditLog audit, HttpContext http, ILogger<Caller> logger)
    {
        await sessions.EndAsync(caller.TenantId, caller.UserId, caller.SessionId);
        LogLoggedOut(logger);
        await audit.RecordAsync(caller.TenantId, AuditActions.Logout, AuditActor.Of(caller), http, "session", caller.SessionId.ToString("D"));
        return TypedResults.Ok(new MessageResponse("Logout successful"));
    }

    internal static async Task<Ok<EndedSessionsResponse>> LogoutAllAsync(Caller caller, SessionStore sessions, AuditLog audit, HttpContext http)
    {
        var ended = await sessions.EndAllAsync(caller.TenantId, caller.UserId);
        await audit.RecordAsync(caller.TenantId, AuditActions.LogoutAll, AuditActor.Of(caller), http, "user", caller.UserId.ToString("D"));
        return TypedResults.Ok(new EndedSessionsResponse("All sessions ended", ended));
    }

    /// <summary>
    /// The caller's user and tenant. One user record with one tenant record always answers the same bytes, and the
    /// access check hands every request the records it remembers until they change (<see cref="AccessCache"/>), so
    /// the answer is written once per such pair and kept with the user record (formatting it was about 4% of the
    /// request's CPU). A changed user or tenant is a new record, so it is answered afresh; a record the cache does not
    /// hold (one written before revisions existed) is answered afresh every time.
    /// </summary>
    internal static FileContentHttpResult GetMe(Caller caller, AccessCache remembered, IOptions<JsonOptions> json)
    {
        var (user, tenant) = (caller.User, caller.Tenant);
        if (!MeAnswers.TryGetValue(user, out var answer) || !ReferenceEquals(answer.Tenant, tenant))
        {
            answer = new MeAnswer(tenant, JsonSerializer.SerializeToUtf8Bytes(
                new MeResponse(user.ToResponse(), tenant.ToResponse()), json.Value.SerializerOptions));
            if (ReferenceEquals(remembered.FindUser(user.UserId)?.Value, user))
            {
                MeAnswers.AddOrUpdate(user, answer);
            }
        }

        return TypedResults.Bytes(answer.Json, "application/json; charset=utf-8");
    }

    /// <summary>Answers of <c>/me</c> by user record (compared by reference), each for the tenant record it was written with.</summary>
    private static readonly ConditionalWeakTable<User, MeAnswer> MeAnswers = new();

    private sealed record MeAnswer(Tenant Tenant, byte[] Json);

    /// <summary>Changes the caller's password and ends every other session of theirs.</summary>
    internal static async Task<Results<Ok<EndedSessionsResponse>, ProblemHttpResult>> ChangePasswordAsync(
        ChangePasswordRequest request, Caller caller, UserStore users, SessionStore sessions, PasswordHasher passwords,
        AttemptThrottle throttle, AuditLog audit, TimeProvider clock, HttpContext http, ILogger<Caller> logger)
    {
        var subject = caller.UserId.ToString("D");
        if (await throttle.LockedForAsync(ThrottleScope.PasswordChange, subject) is { Ticks: > 0 } wait)
        {
            return Problems.TooManyRequests(http, wait, "Too many wrong current passwords; password changes are locked for a while.");
        }

        // The stored hash itself, not the copy the access check may have remembered (AccessCache): this is the one
        // check in which the hash decides, and it must see one reset in Redis by any means.
        if (await users.GetAsync(caller.TenantId, caller.UserId) is not { } stored)
        {
            return Problems.NotFound("The user");
        }

        if (!await passwords.VerifyAsync(request.CurrentPassword, stored.PasswordHash, http.RequestAborted))
        {
            await throttle.FailedAsync(ThrottleScope.PasswordChange, subject);
            await audit.RecordAsync(caller.TenantId, AuditActions.PasswordChangeFailed, AuditActor.Of(caller), http, "user", subject, "failure");
            return Problems.Forbidden("The current password is incorrect.");
        }

        await throttle.SucceededAsync(ThrottleScope.PasswordChange, subject);

        var hash = await passwords.HashAsync(request.NewPassword, http.RequestAborted);
        if (await sessions.ChangePasswordAsync(caller.TenantId, caller.UserId, caller.SessionId, hash, clock.GetUtcNow()) is not { } ended)
        {
            return Problems.NotFound("The user");
        }

        LogPasswordChanged(logger);
        await audit.RecordAsync(caller.TenantId, AuditActions.PasswordChanged, AuditActor.Of(caller), http, "user", subject);
        return TypedResults.Ok(new EndedSessionsResponse("Password changed; other sessions ended", ended));
    }

    internal static async Task<Ok<SessionsResponse>> ListSessionsAsync(Caller caller, SessionStore sessions)
    {
        var list = (await sessions.ListAsync(caller.TenantId, caller.UserId))
            .Select(s => new SessionResponse(s.SessionId, s.CreatedAt, s.ExpiresAt, s.UserAgent, s.SessionId == caller.SessionId))
            .ToList();
        return TypedResults.Ok(new SessionsResponse(list, list.Count));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> EndSessionAsync(
        Guid sessionId, Caller caller, SessionStore sessions, AuditLog audit, HttpContext http)
    {
        if (!await sessions.EndAsync(caller.TenantId, caller.UserId, sessionId))
        {
            return Problems.NotFound("The session");
        }

        await audit.RecordAsync(caller.TenantId, AuditActions.SessionEnded, AuditActor.Of(caller), http, "session", sessionId.ToString("D"));
        return TypedResults.NoContent();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {TenantId} registered with admin {UserId}")]
    private static partial void LogRegistered(ILogger logger, Guid tenantId, Guid userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Login successful for user {UserId} of tenant {TenantId}")]
    private static partial void LogLoggedIn(ILogger logger, Guid tenantId, Guid userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Login failed: invalid credentials (tenant {TenantId})")]
    private static partial void LogLoginFailed(ILogger logger, Guid? tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Login throttled (tenant {TenantId})")]
    private static partial void LogLoginThrottled(ILogger logger, Guid? tenantId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Login refused: user {UserId} or tenant {TenantId} is not active")]
    private static partial void LogLoginRefused(ILogger logger, Guid tenantId, Guid userId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Logout")]
    private static partial void LogLoggedOut(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Password changed; other sessions ended")]
    private static partial void LogPasswordChanged(ILogger logger);
}
