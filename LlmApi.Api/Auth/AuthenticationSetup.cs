using LlmApi.Api.ApiKeys;
using LlmApi.Api.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace LlmApi.Api.Auth;

internal static class AuthenticationSetup
{
    public const string AdminPolicy = "admin";
    public const string UserPolicy = "user";

    /// <summary>Model routes: a user's token or a tenant's API key.</summary>
    public const string ModelAccessPolicy = "model-access";

    public static void AddJwtAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<JwtOptions>()
            .BindConfiguration(JwtOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<JwtOptions>, JwtOptionsValidator>();
        builder.Services.AddOptions<PasswordOptions>()
            .BindConfiguration(PasswordOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.AddOptions<ThrottlingOptions>()
            .BindConfiguration(ThrottlingOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<AttemptThrottle>();
        builder.Services.AddSingleton<TokenService>();
        builder.Services.AddSingleton<PasswordHasher>();
        builder.Services.AddSingleton<AccessCache>();
        builder.Services.AddSingleton<AccessValidator>();
        builder.Services.AddScoped<Caller>();

        builder.Services.AddSingleton<CachingTokenHandler>();
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, configureOptions: null);
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<JwtOptions>, CachingTokenHandler>((bearer, jwtOptions, tokenHandler) =>
            {
                var jwt = jwtOptions.Value;
                // API keys are recognisable by their prefix. Where a key may stand in for a token, the default scheme
                // hands a key to its own scheme, so a key call is authenticated once, by the middleware: no second
                // scheme for the policy to run. Everywhere else a key is no credential (see OnMessageReceived).
                bearer.ForwardDefaultSelector = context =>
                    ApiKey.IsPresentedBy(context.Request) && ApiKeyAuthenticationHandler.IsAccepted(context) ? ApiKeyAuthenticationHandler.SchemeName : null;
                bearer.MapInboundClaims = false;
                // Nothing here reads the token back from the authentication properties; storing it cost a dictionary per request.
                bearer.SaveToken = false;
                bearer.TokenHandlers.Clear();
                bearer.TokenHandlers.Add(tokenHandler);
                bearer.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = jwt.Issuer,
                    ValidAudience = jwt.Audience,
                    IssuerSigningKey = new SymmetricSecurityKey(jwt.SigningKeyBytes),
                    ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                    ValidateIssuer = true,
                    ValidateAudience = true,
                    ValidateLifetime = true,
                    ValidateIssuerSigningKey = true,
                    RequireExpirationTime = true,
                    RequireSignedTokens = true,
                    ClockSkew = jwt.ClockSkew,
                    NameClaimType = ApiClaims.Subject,
                    RoleClaimType = ApiClaims.Role,
                };
                bearer.Events = new JwtBearerEvents
                {
                    OnMessageReceived = context =>
                    {
                        // API keys are not JWTs: leave them to their own scheme instead of failing (and logging) here.
                        if (ApiKey.IsPresentedBy(context.Request))
                        {
                            context.NoResult();
                            return Task.CompletedTask;
                        }

                        // A token that passed validation before and has not expired, whose access check has already
                        // run (RecalledTokenAccessMiddleware): the handler would only find it remembered again, after
                        // cloning its validation parameters and building its contexts and properties (a tenth of what
                        // `/me` allocated). The access check is the same either way.
                        if (context.HttpContext.Features.Get<RecalledTokenAccess>() is { } recalled && Apply(context, recalled.Result()))
                        {
                            context.Success();
                        }

                        return Task.CompletedTask;
                    },
                    OnTokenValidated = context => CheckAccessAsync(context),
                    OnChallenge = async context =>
                    {
                        context.HandleResponse();
                        // The access check's own reasons (session ended, user or tenant suspended) are ours to show;
                        // the token library's are not: a malformed token's (IDX14100) describes JWS and JWE serialization.
                        var detail = context.AuthenticateFailure switch
                        {
                            null => "A bearer token is required.",
                            SecurityTokenExpiredException => "The token has expired.",
                            AuthenticationFailureException access => access.Message,
                            _ => "The token is invalid.",
                        };
                        await WriteProblemAsync(context.HttpContext, StatusCodes.Status401Unauthorized, "Unauthorized", detail);
                    },
                    OnForbidden = context =>
                        WriteProblemAsync(context.HttpContext, StatusCodes.Status403Forbidden, "Forbidden", "This requires the admin role."),
                };
            });

        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.RequireAuthenticatedUser().RequireRole(User.RoleValue(UserRole.Admin)))
            .AddPolicy(UserPolicy, policy => policy.RequireAuthenticatedUser())
            .AddPolicy(ModelAccessPolicy, policy => policy.RequireAuthenticatedUser());
    }

    /// <summary>Model routes and usage: a user's token or a tenant's API key (<see cref="ModelAccessPolicy"/>, <see cref="AcceptsApiKeys"/>).</summary>
    public static TBuilder RequireModelAccess<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(ModelAccessPolicy).WithMetadata(AcceptsApiKeys.Instance);

    /// <summary>
    /// Whether a token just validated in full still grants access (<see cref="AccessValidator"/>); a token validated
    /// before had the same check ahead of the pipeline (<see cref="RecalledTokenAccessMiddleware"/>). Either way it
    /// runs on every request.
    /// </summary>
    private static async Task CheckAccessAsync(ResultContext<JwtBearerOptions> context)
    {
        var services = context.HttpContext.RequestServices;
        Apply(context, await services.GetRequiredService<AccessValidator>().ValidateAsync(context.Principal!, services.GetRequiredService<Caller>()));
    }

    /// <summary>
    /// The access check's decision on the context: refused, it fails with the reason; allowed, it holds the principal
    /// to run as. Returns whether access was allowed.
    /// </summary>
    private static bool Apply(ResultContext<JwtBearerOptions> context, AccessDecision decision)
    {
        if (decision.Failure is { } failure)
        {
            context.Fail(failure);
            return false;
        }

        context.Principal = decision.Principal;
        return true;
    }

    private static async Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        context.Response.StatusCode = status;
        if (status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        });
    }
}
