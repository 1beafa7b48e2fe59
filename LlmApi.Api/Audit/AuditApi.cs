using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Platform;
using LlmApi.Api.Tenants;

namespace LlmApi.Api.Audit;

/// <summary>
/// The audit trail: <c>GET /api/audit</c> for a tenant's admins (their tenant only), <c>GET /api/admin/audit?tenantId=</c>
/// for the operator. Newest first, paged with <c>cursor</c>, filtered by time range, action and actor.
/// </summary>
internal static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/audit", (Caller caller, AuditLog audit, string? from, string? to, string? cursor, int? limit, string? action, string? actor) =>
                ReadAsync(audit, caller.TenantId, from, to, cursor, limit, action, actor))
            .WithTags("Audit").RequireAuthorization(AuthenticationSetup.AdminPolicy);
        app.MapGet("/api/admin/audit", async (Guid? tenantId, TenantStore tenants, AuditLog audit, string? from, string? to, string? cursor, int? limit, string? action, string? actor) =>
                tenantId is not { } id ? Problems.Invalid("tenantId", "tenantId is required.")
                : await tenants.GetAsync(id) is null ? Problems.NotFound("The tenant")
                : await ReadAsync(audit, id, from, to, cursor, limit, action, actor))
            .WithTags("Operator").AllowAnonymous().AddEndpointFilter<OperatorKeyFilter>().WithMetadata(OperatorOnly.Instance);
        return app;
    }

    private static async Task<IResult> ReadAsync(AuditLog audit, Guid tenantId, string? from, string? to, string? cursor, int? limit, string? action, string? actor)
    {
        var pageSize = limit ?? Paging.DefaultLimit;
        if (pageSize is < 1 or > Paging.MaxLimit)
        {
            return Problems.Invalid("limit", $"limit must be between 1 and {Paging.MaxLimit}.");
        }

        const string TimeFormat = "must be a date or a time such as 2026-11-26 or 2026-11-26T10:00:00Z.";
        if (!TryTime(from, out var start))
        {
            return Problems.Invalid("from", "from " + TimeFormat);
        }

        if (!TryTime(to, out var end))
        {
            return Problems.Invalid("to", "to " + TimeFormat);
        }

        if (cursor is not null && !System.Text.RegularExpressions.Regex.IsMatch(cursor, @"^\d{1,15}-\d{1,10}$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1)))
        {
            return Problems.Invalid("cursor", "cursor must be a value returned as nextCursor.");
        }

        return TypedResults.Ok(await audit.ReadAsync(tenantId, start, end, cursor, pageSize, action, actor));
    }

    private static bool TryTime(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (text is null)
        {
            return true;
        }

        if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed))
        {
            time = parsed;
            return true;
        }

        return false;
    }
}
