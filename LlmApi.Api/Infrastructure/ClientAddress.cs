using LlmApi.Api.Auth;
using Microsoft.AspNetCore.HttpOverrides;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using RedisRateLimiting;
using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

/// <summary>Where the trusted-proxy setting lives: <c>ForwardedHeaders:TrustedNetworks</c>, a list of CIDR ranges.</summary>
internal sealed class ForwardedHeadersSettings
{
    public const string Section = "ForwardedHeaders";

    /// <summary>
    /// The networks of the proxies in front of the API (in Kubernetes, the ingress controller's pods). Only a hop from
    /// one of them may say, with <c>X-Forwarded-For</c>, who the client is; from anyone else the header is ignored.
    /// </summary>
    public List<string> TrustedNetworks { get; set; } = [];
}

/// <summary>
/// The client's address, which throttles and the audit trail key on. It comes from the connection, or from
/// <c>X-Forwarded-For</c> only when the connection is from a trusted proxy (ASP.NET Core's ForwardedHeaders,
/// one hop). Also the rate limit on registrations per address, in Redis (RedisRateLimiting behind ASP.NET Core's
/// rate limiter), so it holds across replicas.
/// </summary>
internal static class ClientAddress
{
    public const string RegistrationPolicy = "registrations-per-address";

    public static string Of(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>
    /// Reads <c>X-Forwarded-For</c> only when trusted proxies are configured. ASP.NET Core's middleware trusts every
    /// sender when its lists of known proxies are empty, so without a configured proxy it must not run at all.
    /// </summary>
    public static void UseClientAddress(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value.KnownIPNetworks.Count > 0)
        {
            app.UseForwardedHeaders();
        }
    }

    public static void AddClientAddress(this IHostApplicationBuilder builder)
    {
        var settings = builder.Configuration.GetSection(ForwardedHeadersSettings.Section).Get<ForwardedHeadersSettings>() ?? new();
        builder.Services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            o.ForwardLimit = 1;
            // Nobody is trusted by default, loopback included (the framework's default trusts it).
            o.KnownIPNetworks.Clear();
            o.KnownProxies.Clear();
#pragma warning disable ASPDEPR005 // The obsolete list still holds the loopback default and is still consulted; it must be emptied too.
            o.KnownNetworks.Clear();
#pragma warning restore ASPDEPR005
            foreach (var network in settings.TrustedNetworks)
            {
                o.KnownIPNetworks.Add(System.Net.IPNetwork.TryParse(network, out var parsed)
                    ? parsed
                    : throw new OptionsValidationException(ForwardedHeadersSettings.Section, typeof(ForwardedHeadersSettings),
                        [$"ForwardedHeaders:TrustedNetworks has '{network}', which is not a CIDR range such as 10.0.0.0/8."]));
            }
        });

        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                await Problems.TooManyRequests(context.HttpContext, retryAfter, "Too many registrations from this address.").ExecuteAsync(context.HttpContext);
            };
            o.AddPolicy(RegistrationPolicy, http => RedisRateLimitPartition.GetFixedWindowRateLimiter(Of(http), _ => new RedisFixedWindowRateLimiterOptions
            {
                ConnectionMultiplexerFactory = () => http.RequestServices.GetRequiredService<IConnectionMultiplexer>(),
                PermitLimit = http.RequestServices.GetRequiredService<IOptions<ThrottlingOptions>>().Value.RegistrationsPerHour,
                Window = TimeSpan.FromHours(1),
            }));
        });
    }
}
