using LlmApi.Api.Auth;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using RedisRateLimiting;
using StackExchange.Redis;

namespace LlmApi.Api.Infrastructure;

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

    public static void AddClientAddress(this IHostApplicationBuilder builder)
    {
        builder.AddTrustedProxies();

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
