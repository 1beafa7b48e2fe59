using System.Globalization;
using System.Text.RegularExpressions;

namespace LlmApi.AppHost.Kubernetes;

/// <summary>
/// Turns values of the app model (strings, parameters, endpoint and connection string references, expressions) into
/// what a pod spec can carry. Endpoints become in-cluster service addresses. Secret parameters are never read:
/// they become references to keys of the generated Secret, written as <c>$(VAR)</c> so that Kubernetes expands
/// them inside a value (a connection string with a password, for example).
/// </summary>
internal sealed partial class ValueRenderer(CancellationToken cancellationToken)
{
    /// <summary>A rendered value: its text, with <c>$(SECRET_...)</c> placeholders for the secret keys it uses.</summary>
    public sealed record Rendered(string Text, IReadOnlyList<string> SecretKeys)
    {
        /// <summary>True when the value is exactly one secret, so it can be a plain secretKeyRef.</summary>
        public bool IsSingleSecret => SecretKeys.Count == 1 && Text == Placeholder(SecretKeys[0]);
    }

    /// <summary>The environment variable that carries a secret key, for <c>$(...)</c> expansion.</summary>
    public static string SecretVariable(string key) => "SECRET_" + NonIdentifier().Replace(key, "_").ToUpperInvariant();

    public static string Placeholder(string key) => $"$({SecretVariable(key)})";

    public async Task<Rendered> RenderAsync(object? value)
    {
        var secrets = new List<string>();
        var text = await RenderAsync(value, secrets);
        return new Rendered(text, secrets.Distinct(StringComparer.Ordinal).ToList());
    }

    private async Task<string> RenderAsync(object? value, List<string> secrets) => value switch
    {
        null => string.Empty,
        string s => s,
        ParameterResource { Secret: true } secret => AddSecret(secret.Name, secrets),
        ParameterResource parameter => await parameter.GetValueAsync(cancellationToken) ?? string.Empty,
        ConnectionStringReference reference => await RenderAsync(reference.Resource.ConnectionStringExpression, secrets),
        IResourceWithConnectionString resource => await RenderAsync(resource.ConnectionStringExpression, secrets),
        ReferenceExpression expression => await RenderExpressionAsync(expression, secrets),
        EndpointReference endpoint => Url(endpoint),
        EndpointReferenceExpression property => RenderEndpointProperty(property),
        _ => throw new NotSupportedException(
            $"The Kubernetes publisher cannot render a value of type {value.GetType().Name}; add a mapping rule to {nameof(ValueRenderer)}."),
    };

    private async Task<string> RenderExpressionAsync(ReferenceExpression expression, List<string> secrets)
    {
        var parts = new object[expression.ValueProviders.Count];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = await RenderAsync(expression.ValueProviders[i], secrets);
        }

        return string.Format(CultureInfo.InvariantCulture, expression.Format, parts);
    }

    private static string AddSecret(string key, List<string> secrets)
    {
        secrets.Add(key);
        return Placeholder(key);
    }

    private static string RenderEndpointProperty(EndpointReferenceExpression expression)
    {
        var port = KubernetesPorts.For(expression.Endpoint.Resource, expression.Endpoint.EndpointName);
        return expression.Property switch
        {
            EndpointProperty.Url => Url(expression.Endpoint),
            EndpointProperty.Host or EndpointProperty.IPV4Host => expression.Endpoint.Resource.Name,
            EndpointProperty.Port => port.ServicePort.ToString(CultureInfo.InvariantCulture),
            EndpointProperty.TargetPort => port.ContainerPort.ToString(CultureInfo.InvariantCulture),
            EndpointProperty.Scheme => port.Scheme,
            EndpointProperty.HostAndPort => $"{expression.Endpoint.Resource.Name}:{port.ServicePort.ToString(CultureInfo.InvariantCulture)}",
            _ => throw new NotSupportedException($"Endpoint property {expression.Property} has no Kubernetes mapping."),
        };
    }

    private static string Url(EndpointReference endpoint)
    {
        var port = KubernetesPorts.For(endpoint.Resource, endpoint.EndpointName);
        return $"{port.Scheme}://{endpoint.Resource.Name}:{port.ServicePort.ToString(CultureInfo.InvariantCulture)}";
    }

    [GeneratedRegex("[^A-Za-z0-9]")]
    private static partial Regex NonIdentifier();
}
