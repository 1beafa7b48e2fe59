using System.ComponentModel.DataAnnotations;
using LlmApi.Api.Audit;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Tenants;

namespace LlmApi.Api.Platform;

// Request contracts are public: the minimal-API validation generator (AddValidation) only sees public types.
public sealed record UpdateTenantRequestByOperator(TenantStatus? Status, UsageLimits? Limits) : IValidatableObject
{
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Status is null && Limits is null)
        {
            yield return new ValidationResult("Give status, limits or both.", [nameof(Status), nameof(Limits)]);
        }
    }
}

/// <summary>Marks the routes that take the operator's key instead of a user's token.</summary>
internal sealed class OperatorOnly
{
    public static readonly OperatorOnly Instance = new();
}

internal sealed record TenantListResponse(IReadOnlyList<TenantResponse> Tenants, int Count, long Total, string? NextCursor);

/// <summary>The platform operator's view of all tenants. Suspending a tenant locks out all its users and tokens at once.</summary>
internal static partial class OperatorApi
{
    public static IEndpointRouteBuilder MapOperatorApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/admin/tenants").WithTags("Operator")
            .AllowAnonymous()
            .AddEndpointFilter<OperatorKeyFilter>()
            .WithMetadata(OperatorOnly.Instance);
        admin.MapGet("/", ListAsync);
        admin.MapGet("/{tenantId:guid}", GetAsync);
        admin.MapPatch("/{tenantId:guid}", UpdateAsync);
        return app;
    }

    internal static async Task<Results<Ok<TenantListResponse>, ValidationProblem>> ListAsync(TenantStore tenants, int? limit, string? cursor)
    {
        if (Paging.TryRead(limit, cursor, out var pageSize, out var after) is { } invalid)
        {
            return invalid;
        }

        var (page, next, total) = await tenants.ListAsync(after, pageSize);
        return TypedResults.Ok(new TenantListResponse(page.Select(t => t.ToResponse()).ToList(), page.Count, total, next));
    }

    internal static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> GetAsync(Guid tenantId, TenantStore tenants) =>
        await tenants.GetAsync(tenantId) is { } tenant ? TypedResults.Ok(tenant.ToResponse()) : Problems.NotFound("The tenant");

    internal static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> UpdateAsync(
        Guid tenantId, UpdateTenantRequestByOperator request, TenantStore tenants, AuditLog audit, TimeProvider clock, HttpContext http,
        ILogger<TenantStore> logger)
    {
        var fields = new List<StackExchange.Redis.HashEntry>();
        if (request.Status is { } status)
        {
            fields.Add(new(Tenant.Fields.Status, Tenant.StatusValue(status)));
        }

        if (request.Limits is { } limits)
        {
            // The object replaces the tenant's limits: a limit it leaves out is lifted.
            fields.Add(new(Tenant.Fields.Limits, limits.ToJson()));
        }

        var tenant = await tenants.UpdateAsync(tenantId, clock.GetUtcNow(), [.. fields]) ? await tenants.GetAsync(tenantId) : null;
        if (tenant is null)
        {
            return Problems.NotFound("The tenant");
        }

        LogUpdated(logger, tenantId, Tenant.StatusValue(tenant.Status), tenant.Limits.ToJson());
        await audit.RecordAsync(tenantId, AuditActions.TenantChangedByOperator, AuditActor.Operator, http, "tenant", tenantId.ToString("D"));
        return TypedResults.Ok(tenant.ToResponse());
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Operator updated tenant {TenantId}: status {Status}, limits {Limits}")]
    private static partial void LogUpdated(ILogger logger, Guid tenantId, string status, string limits);
}
