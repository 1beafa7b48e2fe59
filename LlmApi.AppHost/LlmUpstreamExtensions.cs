using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LlmApi.AppHost;

/// <summary>A model server of the app model, as the API is told about it.</summary>
internal sealed record LlmUpstream(
    string Name, object Endpoint, object Provider, IReadOnlyList<string> Models, string? Weight, string? MaxConcurrency,
    IResourceBuilder<ParameterResource>? Key);

internal static class LlmUpstreamExtensions
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The model servers: each entry of the AppHost's <c>Llm:Upstreams:&lt;name&gt;</c> (<c>Endpoint</c>, <c>Provider</c>,
    /// <c>Models</c>, <c>Weight</c>, <c>MaxConcurrency</c>; its key is the secret parameter <c>llm-&lt;name&gt;-key</c>).
    /// Without entries, one upstream <c>llm</c>: an Ollama container where a container runtime answers, else the
    /// parameters <c>llm-endpoint</c> (default http://localhost:11434) and <c>llm-provider</c> (default Ollama).
    /// Each is a resource of its own with a health check that reads its model list, so the dashboard shows a model
    /// server that does not answer as unhealthy.
    /// </summary>
    public static IReadOnlyList<LlmUpstream> AddLlmUpstreams(this IDistributedApplicationBuilder builder)
    {
        var configured = builder.Configuration.GetSection("Llm:Upstreams").GetChildren().ToList();
        if (configured.Count == 0)
        {
            return [builder.AddDefaultUpstream()];
        }

        return configured.Select(section =>
        {
            var name = section.Key.ToLowerInvariant();
            var endpoint = section["Endpoint"] ?? throw new InvalidOperationException($"Llm:Upstreams:{section.Key}:Endpoint is required.");
            var provider = section["Provider"] ?? "Ollama";
            var key = section["Key"] is { Length: > 0 } value
                ? builder.AddParameter($"llm-{name}-key", new ConstantParameterDefault(value), secret: true)
                : null;
            builder.AddModelServer(name, endpoint, provider, key);
            return new LlmUpstream(name, endpoint, provider, [.. section.GetSection("Models").GetChildren().Select(m => m.Value!)],
                section["Weight"], section["MaxConcurrency"], key);
        }).ToList();
    }

    /// <summary>Tells the API about every upstream through its <c>Llm:Upstreams</c> settings (the key as a secret).</summary>
    public static IResourceBuilder<ProjectResource> WithLlmUpstreams(this IResourceBuilder<ProjectResource> api, IReadOnlyList<LlmUpstream> upstreams)
    {
        foreach (var upstream in upstreams)
        {
            var prefix = $"Llm__Upstreams__{upstream.Name}__";
            api.WithEnvironment(context =>
            {
                context.EnvironmentVariables[prefix + "Endpoint"] = upstream.Endpoint;
                context.EnvironmentVariables[prefix + "Provider"] = upstream.Provider;
                for (var i = 0; i < upstream.Models.Count; i++)
                {
                    context.EnvironmentVariables[$"{prefix}Models__{i}"] = upstream.Models[i];
                }

                if (upstream.Weight is { } weight)
                {
                    context.EnvironmentVariables[prefix + "Weight"] = weight;
                }

                if (upstream.MaxConcurrency is { } cap)
                {
                    context.EnvironmentVariables[prefix + "MaxConcurrency"] = cap;
                }
            });
            if (upstream.Key is { } key)
            {
                api.WithEnvironment(prefix + "Key", key);
            }
        }

        return api;
    }

    private static LlmUpstream AddDefaultUpstream(this IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsRunMode && ContainerRuntime.Answers)
        {
            var ollama = builder.AddContainer("ollama", "ollama/ollama", "latest")
                .WithHttpEndpoint(targetPort: 11434, name: "http")
                .WithVolume("llmapi-ollama-models", "/root/.ollama")
                .WithHttpHealthCheck("/api/tags");
            return new LlmUpstream("ollama", ollama.GetEndpoint("http"), "Ollama", [], null, null, null);
        }

        const string DefaultEndpoint = "http://localhost:11434", DefaultProvider = "Ollama";
        var endpoint = builder.AddParameter("llm-endpoint", new ConstantParameterDefault(DefaultEndpoint));
        var provider = builder.AddParameter("llm-provider", new ConstantParameterDefault(DefaultProvider));
        // The dashboard's health check is built now, so it reads the values the parameters will have.
        builder.AddModelServer("llm", builder.Configuration["Parameters:llm-endpoint"] ?? DefaultEndpoint,
            builder.Configuration["Parameters:llm-provider"] ?? DefaultProvider, key: null);
        return new LlmUpstream("llm", endpoint.Resource, provider.Resource, [], null, null, null);
    }

    /// <summary>A model server as a resource of the dashboard, healthy while its model list answers.</summary>
    private static void AddModelServer(this IDistributedApplicationBuilder builder, string name, string endpoint, string provider, IResourceBuilder<ParameterResource>? key)
    {
        if (!builder.ExecutionContext.IsRunMode)
        {
            return; // a deployment's model servers are the cluster's; nothing of theirs is generated
        }

        var baseUri = new Uri(endpoint.TrimEnd('/') + "/");
        if (string.Equals(provider, "OpenAI", StringComparison.OrdinalIgnoreCase) && baseUri.AbsolutePath == "/")
        {
            baseUri = new Uri(baseUri, "v1/");
        }

        var models = new Uri(baseUri, string.Equals(provider, "OpenAI", StringComparison.OrdinalIgnoreCase) ? "models" : "api/tags");
        var check = $"model-server-{name}";
        builder.Services.AddHealthChecks().AddAsyncCheck(check, async cancellationToken =>
        {
            using var http = new HttpClient { Timeout = ProbeTimeout };
            using var request = new HttpRequestMessage(HttpMethod.Get, models);
            if (key is not null && await key.Resource.GetValueAsync(cancellationToken) is { Length: > 0 } secret)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            }

            try
            {
                using var response = await http.SendAsync(request, cancellationToken);
                return response.IsSuccessStatusCode
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy($"{models.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode}.");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return HealthCheckResult.Unhealthy($"{models.GetLeftPart(UriPartial.Authority)} does not answer.");
            }
        });
        builder.AddExternalService($"model-{name}", baseUri).WithHealthCheck(check);
    }
}
