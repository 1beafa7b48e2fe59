using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using LlmApi.Api.Audit;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using StackExchange.Redis;

namespace LlmApi.Api.Tenants;

// Request contracts are public: the minimal-API validation generator (AddValidation) only sees public types.
public sealed record UpdateTenantRequest(
    [property: StringLength(100, MinimumLength = 3)] string? Name,
    JsonElement? Settings) : IValidatableObject
{
    public const int MaxSettingsBytes = 16 * 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Name is null && Settings is null)
        {
            yield return new ValidationResult("Give at least one of name and settings.", [nameof(Name), nameof(Settings)]);
        }

        if (Settings is { } settings && (settings.ValueKind != JsonValueKind.Object || settings.GetRawText().Length > MaxSettingsBytes))
        {
            yield return new ValidationResult($"settings must be a JSON object of at most {MaxSettingsBytes} bytes.", [nameof(Settings)]);
        }
    }
}

/// <summary>The caller's own tenant: every user may read it, its admins may change its name and settings.</summary>
internal static class TenantApi
{
    public static IEndpointRouteBuilder MapTenantApi(this IEndpointRouteBuilder app)
    {
        var tenant = app.MapGroup("/api/tenant").WithTags("Tenant");
        tenant.MapGet("/", Get).RequireAuthorization(AuthenticationSetup.UserPolicy);
        tenant.MapPatch("/", UpdateAsync).RequireAuthorization(AuthenticationSetup.AdminPolicy);
        return app;
    }

    internal static Ok<TenantResponse> Get(Caller caller) => TypedResults.Ok(caller.Tenant.ToResponse());

    internal static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> UpdateAsync(
        UpdateTenantRequest request, Caller caller, TenantStore tenants, AuditLog audit, TimeProvider clock, HttpContext http)
    {
        var fields = new List<HashEntry>();
        if (request.Name is { } name)
        {
            fields.Add(new(Tenant.Fields.Name, name.Trim()));
        }

        if (request.Settings is { } settings)
        {
            fields.Add(new(Tenant.Fields.Settings, settings.GetRawText()));
        }

        if (!await tenants.UpdateAsync(caller.TenantId, clock.GetUtcNow(), [.. fields]) || await tenants.GetAsync(caller.TenantId) is not { } updated)
        {
            return Problems.NotFound("The tenant");
        }

        await audit.RecordAsync(caller.TenantId, AuditActions.TenantSettingsChanged, AuditActor.Of(caller), http, "tenant", caller.TenantId.ToString("D"));
        return TypedResults.Ok(updated.ToResponse());
    }
}
