using System.ComponentModel.DataAnnotations;
using LlmApi.Api.Audit;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;

namespace LlmApi.Api.ApiKeys;

// Request contracts are public: the minimal-API validation generator (AddValidation) only sees public types.
public sealed record CreateApiKeyRequest(
    [property: Required, StringLength(100, MinimumLength = 1)] string Name,
    [property: MaxLength(50)] IReadOnlyList<string>? Models,
    [property: Range(1, int.MaxValue)] int? RequestsPerMinute,
    [property: Range(1, int.MaxValue)] int? TokensPerMinute,
    [property: Range(1, long.MaxValue)] long? MonthlyTokenBudget) : IValidatableObject
{
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Models?.Any(m => string.IsNullOrWhiteSpace(m) || m.Length > 200) == true)
        {
            yield return new ValidationResult("Every model must be a name of 1 to 200 characters.", [nameof(Models)]);
        }
    }
}

/// <summary>API keys for machine clients of the LLM routes, managed by the tenant's admins.</summary>
internal static partial class ApiKeysApi
{
    private static readonly string[] ExceedsTenant = ["A key's limit cannot exceed the tenant's."];

    public static IEndpointRouteBuilder MapApiKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/keys").WithTags("API keys").RequireAuthorization(AuthenticationSetup.AdminPolicy);
        keys.MapPost("/", CreateAsync);
        keys.MapGet("/", ListAsync);
        keys.MapDelete("/{keyId:guid}", DeleteAsync);
        return app;
    }

    /// <summary>Creates a key within the tenant's limits; the clear key is in this answer and nowhere else, ever.</summary>
    internal static async Task<Results<Created<ApiKeyCreatedResponse>, ValidationProblem>> CreateAsync(
        CreateApiKeyRequest request, Caller caller, ApiKeyStore keys, AuditLog audit, TimeProvider clock, HttpContext http, ILogger<ApiKeyStore> logger)
    {
        var limits = new UsageLimits(request.RequestsPerMinute, request.TokensPerMinute, null, request.MonthlyTokenBudget);
        if (caller.Tenant.Limits.Exceeded(limits).ToList() is { Count: > 0 } exceeded)
        {
            return TypedResults.ValidationProblem(exceeded.ToDictionary(name => name, _ => ExceedsTenant));
        }

        var models = (request.Models ?? []).Select(m => m.Trim()).Distinct(StringComparer.Ordinal).ToList();
        var (key, clear) = ApiKey.Create(caller.TenantId, request.Name.Trim(), models, limits, caller.UserId, clock.GetUtcNow());
        await keys.CreateAsync(key);

        LogCreated(logger, key.KeyId);
        await audit.RecordAsync(caller.TenantId, AuditActions.KeyCreated, AuditActor.Of(caller), http, "key", key.KeyId.ToString("D"));
        return TypedResults.Created($"/api/keys/{key.KeyId:D}", new ApiKeyCreatedResponse(
            key.KeyId, clear, key.Name, key.Models, limits.RequestsPerMinute, limits.TokensPerMinute, limits.MonthlyTokenBudget, key.CreatedAt));
    }

    internal static async Task<Ok<ApiKeyListResponse>> ListAsync(Caller caller, ApiKeyStore keys)
    {
        var list = (await keys.ListAsync(caller.TenantId)).Select(k => k.ToResponse()).ToList();
        return TypedResults.Ok(new ApiKeyListResponse(list, list.Count));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(
        Guid keyId, Caller caller, ApiKeyStore keys, AuditLog audit, HttpContext http, ILogger<ApiKeyStore> logger)
    {
        if (!await keys.DeleteAsync(caller.TenantId, keyId))
        {
            return Problems.NotFound("The API key");
        }

        LogDeleted(logger, keyId);
        await audit.RecordAsync(caller.TenantId, AuditActions.KeyDeleted, AuditActor.Of(caller), http, "key", keyId.ToString("D"));
        return TypedResults.NoContent();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "API key {KeyId} created")]
    private static partial void LogCreated(ILogger logger, Guid keyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "API key {KeyId} deleted")]
    private static partial void LogDeleted(ILogger logger, Guid keyId);
}

internal sealed record ApiKeyListResponse(IReadOnlyList<ApiKeyResponse> Keys, int Count);
