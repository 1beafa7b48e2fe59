using System.Data.Common;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Llm.Upstreams;

/// <summary>A model server as configured: where it is, what it speaks, what it serves and how much it may take.</summary>
internal sealed record UpstreamDefinition(
    string Name, Uri BaseUri, LlmProvider Provider, string? Key, IReadOnlyList<string> Models, double Weight, int? MaxConcurrency)
{
    /// <summary>
    /// Every configured upstream: the entries of <c>Llm:Upstreams</c>, and the connection string <c>llm</c> as one
    /// more named <c>llm</c> (how single-upstream deployments were configured before). Settings were validated at start.
    /// </summary>
    public static IReadOnlyList<UpstreamDefinition> All(LlmOptions options, string? connectionString)
    {
        var all = options.Upstreams
            .Select(u => new UpstreamDefinition(u.Key, ToBaseUri(u.Value.Endpoint!, u.Value.Provider), u.Value.Provider,
                string.IsNullOrEmpty(u.Value.Key) ? null : u.Value.Key, u.Value.Models.Where(m => !string.IsNullOrWhiteSpace(m)).ToList(),
                u.Value.Weight, u.Value.MaxConcurrency))
            .ToList();
        if (FromConnectionString(connectionString) is { } single && !options.Upstreams.ContainsKey(single.Name))
        {
            all.Add(single);
        }

        return all.OrderBy(u => u.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// <c>Endpoint=http://host:port;Provider=Ollama|OpenAI[;Key=...]</c>; null when absent. For the OpenAI format a
    /// bare host means its <c>/v1</c>, as it did before upstreams took SDK-style base URLs.
    /// </summary>
    public static UpstreamDefinition? FromConnectionString(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return null;
        }

        var parts = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var endpoint = parts.TryGetValue("Endpoint", out var e) ? e?.ToString() : null;
        var provider = LlmProvider.Ollama;
        if (parts.TryGetValue("Provider", out var name) && !Enum.TryParse(name?.ToString(), ignoreCase: true, out provider))
        {
            throw new OptionsValidationException(LlmOptions.ConnectionName, typeof(LlmOptions),
                [$"ConnectionStrings:llm has Provider={name}; use Ollama or OpenAI."]);
        }

        if (EndpointError(endpoint) is { } error)
        {
            throw new OptionsValidationException(LlmOptions.ConnectionName, typeof(LlmOptions), [$"ConnectionStrings:llm: {error}"]);
        }

        var key = parts.TryGetValue("Key", out var k) ? k?.ToString() : null;
        return new UpstreamDefinition(LlmOptions.ConnectionName, ToBaseUri(endpoint!, provider), provider, string.IsNullOrEmpty(key) ? null : key, [], 1, null);
    }

    /// <summary>Why an endpoint cannot be used, or null when it can.</summary>
    public static string? EndpointError(string? endpoint) =>
        Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && string.IsNullOrEmpty(uri.Query)
            ? null
            : "Endpoint must be an absolute http(s) URL such as http://host:11434 or https://api.openai.com/v1.";

    /// <summary>The base that request paths are relative to, ending in a slash.</summary>
    private static Uri ToBaseUri(string endpoint, LlmProvider provider)
    {
        var uri = new Uri(endpoint, UriKind.Absolute);
        var path = uri.AbsolutePath.TrimEnd('/');
        if (provider == LlmProvider.OpenAI && path.Length == 0)
        {
            path = "/v1";
        }

        return new Uri(uri.GetLeftPart(UriPartial.Authority) + path + "/");
    }
}

/// <summary>Stops the process at start with messages that name each bad <c>Llm:Upstreams</c> setting.</summary>
internal sealed class LlmOptionsValidator : IValidateOptions<LlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmOptions options)
    {
        var errors = new List<string>();
        foreach (var (upstream, settings) in options.Upstreams)
        {
            var prefix = $"Llm:Upstreams:{upstream}";
            if (UpstreamDefinition.EndpointError(settings.Endpoint) is { } error)
            {
                errors.Add($"{prefix}:Endpoint: {error}");
            }

            if (!double.IsFinite(settings.Weight) || settings.Weight <= 0)
            {
                errors.Add($"{prefix}:Weight must be a positive number.");
            }

            if (settings.MaxConcurrency is < 1)
            {
                errors.Add($"{prefix}:MaxConcurrency must be at least 1 when set.");
            }
        }

        var health = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options.Health, new(options.Health), health, validateAllProperties: true))
        {
            errors.AddRange(health.Select(h => $"Llm:Health: {h.ErrorMessage}"));
        }

        foreach (var (alias, targets) in options.Aliases)
        {
            if (targets.Length == 0 || targets.Any(string.IsNullOrWhiteSpace))
            {
                errors.Add($"Llm:Aliases:{alias} must name one or more served models.");
            }
        }

        foreach (var (model, fallback) in options.Fallbacks)
        {
            if (string.IsNullOrWhiteSpace(fallback) || fallback == model)
            {
                errors.Add($"Llm:Fallbacks:{model} must name another model.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
