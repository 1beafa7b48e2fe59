namespace LlmApi.AppHost;

internal static class LlmUpstreamExtensions
{
    /// <summary>
    /// The model upstream, as the connection string <c>Endpoint=...;Provider=...</c> named <paramref name="name"/>:
    /// an Ollama container (with a volume for its models) when the AppHost runs where a container runtime answers;
    /// otherwise, and in deployments, an endpoint given by the parameters <c>llm-endpoint</c> (default
    /// http://localhost:11434) and <c>llm-provider</c> (Ollama or OpenAI).
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddLlmUpstream(this IDistributedApplicationBuilder builder, string name)
    {
        if (builder.ExecutionContext.IsRunMode && ContainerRuntime.Answers)
        {
            var ollama = builder.AddContainer("ollama", "ollama/ollama", "latest")
                .WithHttpEndpoint(targetPort: 11434, name: "http")
                .WithVolume("llmapi-ollama-models", "/root/.ollama");
            return builder.AddConnectionString(name, ReferenceExpression.Create($"Endpoint={ollama.GetEndpoint("http")};Provider=Ollama"));
        }

        var endpoint = builder.AddParameter("llm-endpoint", new ConstantParameterDefault("http://localhost:11434"));
        var provider = builder.AddParameter("llm-provider", new ConstantParameterDefault("Ollama"));
        return builder.AddConnectionString(name, ReferenceExpression.Create($"Endpoint={endpoint};Provider={provider}"));
    }
}
