using System.Text.Json.Nodes;
using LlmApi.Api.ApiKeys;
using LlmApi.Api.Auth;
using LlmApi.Api.Users;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace LlmApi.Api.Infrastructure;

internal static class OpenApiSetup
{
    public static void AddOpenApiDocument(this IHostApplicationBuilder builder) =>
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer<BearerSchemeTransformer>();
            options.AddSchemaTransformer((schema, context, _) =>
            {
                if (Examples.TryGetValue(context.JsonTypeInfo.Type, out var example))
                {
                    schema.Examples = [example()];
                }

                return Task.CompletedTask;
            });
        });

    /// <summary>Example bodies shown in the OpenAPI document and the Scalar UI.</summary>
    private static readonly Dictionary<Type, Func<JsonNode>> Examples = new()
    {
        [typeof(RegisterRequest)] = () => new JsonObject
        {
            ["tenantName"] = "Acme Corp", ["domain"] = "acme.example.com", ["username"] = "alice",
            ["email"] = "alice@acme.example.com", ["password"] = "correct horse battery",
        },
        [typeof(LoginRequest)] = () => new JsonObject
        {
            ["email"] = "alice@acme.example.com", ["password"] = "correct horse battery", ["domain"] = "acme.example.com",
        },
        [typeof(CreateUserRequest)] = () => new JsonObject
        {
            ["username"] = "bob", ["email"] = "bob@acme.example.com", ["password"] = "another good secret", ["role"] = "user",
        },
        [typeof(CreateApiKeyRequest)] = () => new JsonObject
        {
            ["name"] = "batch jobs", ["models"] = new JsonArray("llama3"), ["requestsPerMinute"] = 60, ["monthlyTokenBudget"] = 1_000_000,
        },
    };

    /// <summary>OpenAPI at <c>/openapi/v1.json</c>, the Scalar UI at <c>/scalar</c>, and the original's <c>/api-docs</c> redirecting there.</summary>
    public static IEndpointRouteBuilder MapApiDocumentation(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference(options => options.WithTitle("LLM API Layer"));
        app.MapGet("/api-docs", () => TypedResults.Redirect("/scalar")).ExcludeFromDescription();
        return app;
    }

    /// <summary>Declares the bearer scheme and applies it to every operation that requires authorization.</summary>
    private sealed class BearerSchemeTransformer : IOpenApiDocumentTransformer
    {
        public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
        {
            document.Info.Title = "LLM API Layer";
            document.Info.Description = "Multi-tenant API: register a tenant, sign in, and call the API with `Authorization: Bearer <token>`.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["Bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
                Description = "The token returned by /api/auth/register or /api/auth/login.",
            };

            var requirement = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("Bearer", document)] = [] };
            var secured = context.DescriptionGroups
                .SelectMany(g => g.Items)
                .Where(d => d.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Any()
                    && !d.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Authorization.IAllowAnonymous>().Any())
                .Select(d => "/" + d.RelativePath?.Split('?')[0].TrimEnd('/'))
                .ToHashSet(StringComparer.OrdinalIgnoreCase);

            foreach (var (path, item) in document.Paths)
            {
                if (!secured.Contains(path.TrimEnd('/')) || item.Operations is null)
                {
                    continue;
                }

                foreach (var operation in item.Operations.Values)
                {
                    operation.Security ??= [];
                    operation.Security.Add(requirement);
                }
            }

            return Task.CompletedTask;
        }
    }
}
