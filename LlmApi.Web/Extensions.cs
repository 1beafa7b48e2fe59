using LlmApi.Web.Api;
using LlmApi.Web.Session;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmApi.Web;

internal static class Extensions
{
    public static void AddConsoleServices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ConsoleOptions>().BindConfiguration(ConsoleOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.AddTrustedProxies();
        builder.WebHost.ConfigureKestrel(o => o.AddServerHeader = false);

        // No Redis check in /health: Redis away is the same for every replica, and taking them all out of the Service
        // would answer the ingress's bare 503 instead of the console's own page (the API reasons the same way).
        builder.AddRedisClient("cache", settings => settings.DisableHealthChecks = true, configureOptions: options =>
        {
            options.AbortOnConnectFail = false;
            options.BacklogPolicy = BacklogPolicy.FailFast;
        });

        // One key ring for every replica, in Redis: a cookie or a form written by one replica is read by any other,
        // and a restart signs nobody out.
        builder.Services.AddDataProtection().SetApplicationName("LlmApi.Console");
        builder.Services.AddOptions<KeyManagementOptions>().Configure<IConnectionMultiplexer>((options, redis) =>
            options.XmlRepository = new RedisXmlRepository(() => redis.GetDatabase(), ConsoleKeys.DataProtection));

        // Cookies are Secure: behind the Ingress every request arrives over TLS (X-Forwarded-Proto from a trusted proxy).
        // Only a local run (Development: the AppHost serves plain HTTP on localhost) sends them over HTTP too.
        var local = builder.Environment.IsDevelopment();
        var secure = local ? CookieSecurePolicy.SameAsRequest : CookieSecurePolicy.Always;
        builder.Services.AddSingleton<RedisTicketStore>();
        builder.Services.AddSingleton<OneTimeSecrets>();
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(options =>
        {
            // Nothing of the session is readable by the page's scripts or sent from another site; the API token stays
            // on the server (RedisTicketStore): the cookie holds only the protected id of the server-side ticket.
            options.Cookie.Name = ConsoleSession.CookieName("console", !local);
            options.Cookie.HttpOnly = true;
            options.Cookie.SecurePolicy = secure;
            options.Cookie.SameSite = SameSiteMode.Strict; // its path is the console's own (the path base)
            options.LoginPath = "/signin";
            options.AccessDeniedPath = "/denied";
            options.ReturnUrlParameter = "returnUrl";
            options.SlidingExpiration = false;
        });
        builder.Services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
            .Configure<RedisTicketStore>((options, store) => options.SessionStore = store);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ConsoleSession.AdminPolicy, p => p.RequireRole(ConsoleSession.AdminRole))
            .AddPolicy(ConsoleSession.OperatorPolicy, p => p.RequireRole(ConsoleSession.OperatorRole))
            .AddPolicy(ConsoleSession.TenantUserPolicy, p => p.RequireRole(ConsoleSession.AdminRole, ConsoleSession.UserRole));
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddAntiforgery(options =>
        {
            options.Cookie.Name = ConsoleSession.CookieName("console-antiforgery", !local);
            options.Cookie.SecurePolicy = secure;
            options.Cookie.SameSite = SameSiteMode.Strict;
        });

        builder.Services.AddHttpContextAccessor();
        builder.Services.AddHttpClient<ConsoleApi>((services, http) =>
        {
            var options = services.GetRequiredService<IOptions<ConsoleOptions>>().Value;
            http.BaseAddress = options.Api;
            http.Timeout = options.ApiTimeout;
        }).ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        builder.Services.AddScoped<ConsoleSession>();
        builder.Services.AddExceptionHandler<SessionEndedHandler>();

        builder.Services.AddRazorComponents();
    }

    /// <summary>Serves the console under <c>Console:PathBase</c> when an Ingress shares its host with the API.</summary>
    public static void UseConsolePathBase(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<ConsoleOptions>>().Value.PathBase is { Length: > 0 } pathBase)
        {
            app.UsePathBase(pathBase);
        }
    }
}
