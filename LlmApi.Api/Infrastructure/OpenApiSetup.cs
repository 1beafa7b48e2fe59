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
            options.AddDocumentTransformer<SecuritySchemesTransformer>();
            options.AddOperationTransformer<OperationSecurityTransformer>();
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

    /// <summary>Declares the two security schemes: users' and keys' bearer credentials, and the operator's key.</summary>
    private sealed class SecuritySchemesTransformer : IOpenApiDocumentTransformer
    {
        public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
        {
            document.Info.Title = "LLM API Layer";
            document.Info.Description = "Multi-tenant API: register a tenant, sign in, and call the API with `Authorization: Bearer <token>`.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT or API key",
                Description = "The token returned by /api/auth/register or /api/auth/login; on model routes also an API key (llmk_...).",
            };
            document.Components.SecuritySchemes[OperatorScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = Platform.OperatorKeyFilter.HeaderName,
                Description = "The platform operator's key (Operator:Key).",
            };
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// Per operation, from the endpoint's own metadata (never by comparing paths, which route constraints such as
    /// <c>{id:guid}</c> make differ): the bearer requirement where authorization is required, the operator's key on
    /// operator routes, and the headers an endpoint declares with <see cref="DocumentedHeader"/>.
    /// </summary>
    private sealed class OperationSecurityTransformer : IOpenApiOperationTransformer
    {
        public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            var scheme = metadata.OfType<Platform.OperatorOnly>().Any() ? OperatorScheme
                : metadata.OfType<Microsoft.AspNetCore.Authorization.IAuthorizeData>().Any()
                    && !metadata.OfType<Microsoft.AspNetCore.Authorization.IAllowAnonymous>().Any() ? BearerScheme
                : null;
            if (scheme is not null)
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(scheme, context.Document)] = [] });
            }

            foreach (var header in metadata.OfType<DocumentedHeader>())
            {
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = header.Name,
                    In = ParameterLocation.Header,
                    Required = true,
                    Description = header.Description,
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }

            return Task.CompletedTask;
        }
    }

    private const string BearerScheme = "Bearer";
    private const string OperatorScheme = "OperatorKey";
}

/// <summary>A request header an endpoint requires, for the OpenAPI document.</summary>
internal sealed record DocumentedHeader(string Name, string Description);
