using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>Where the trusted-proxy setting lives: <c>ForwardedHeaders:TrustedNetworks</c>, a list of CIDR ranges.</summary>
public sealed class ForwardedHeadersSettings
{
    public const string Section = "ForwardedHeaders";

    /// <summary>
    /// The networks of the proxies in front of a service (in Kubernetes, the ingress controller's pods, and for the API
    /// the console's). Only a hop from one of them may say, with <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c>,
    /// who the client is and how it came; from anyone else the headers are ignored.
    /// </summary>
    public List<string> TrustedNetworks { get; set; } = [];
}

/// <summary>
/// ASP.NET Core's ForwardedHeaders, one hop, trusting only <c>ForwardedHeaders:TrustedNetworks</c>. The framework's
/// middleware trusts every sender when its lists of known proxies are empty, and loopback by default: both are closed.
/// </summary>
public static class TrustedProxyExtensions
{
    public static TBuilder AddTrustedProxies<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
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
        return builder;
    }

    /// <summary>Reads the forwarded headers only when trusted proxies are configured (see the class remarks).</summary>
    public static WebApplication UseTrustedProxies(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value.KnownIPNetworks.Count > 0)
        {
            app.UseForwardedHeaders();
        }

        return app;
    }
}
