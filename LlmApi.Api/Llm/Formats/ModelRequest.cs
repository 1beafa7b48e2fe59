using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>The client-facing operations, each in the format its clients speak.</summary>
internal enum ClientApi
{
    /// <summary>OpenAI <c>POST /v1/chat/completions</c>.</summary>
    OpenAiChat,

    /// <summary>OpenAI <c>POST /v1/completions</c> (legacy text completions).</summary>
    OpenAiCompletion,

    /// <summary>OpenAI <c>POST /v1/embeddings</c>.</summary>
    OpenAiEmbeddings,

    /// <summary>Ollama <c>POST /api/chat</c> (and the original's <c>/api/llm/chat</c>).</summary>
    OllamaChat,

    /// <summary>Ollama <c>POST /api/generate</c>.</summary>
    OllamaGenerate,

    /// <summary>Ollama <c>POST /api/embed</c>.</summary>
    OllamaEmbed,

    /// <summary>Ollama's older <c>POST /api/embeddings</c> (one prompt, one vector).</summary>
    OllamaEmbeddings,
}

/// <summary>What one client request asks of a model, read and checked once.</summary>
internal sealed class ModelRequest
{
    public required ClientApi Api { get; init; }

    /// <summary>The request as the client sent it, parsed once; same-format calls forward it with only what the gateway must set.</summary>
    public required JsonElement Json { get; init; }

    /// <summary>The same request as a tree, built on first use: for the translators. A same-format call never builds it.</summary>
    public JsonObject Body => field ??= JsonObject.Create(Json) ?? throw new InvalidOperationException("A model request is a JSON object.");

    /// <summary>The model name as the client asked for it (an alias or a served name).</summary>
    public required string Model { get; init; }

    public bool Stream { get; init; }

    /// <summary>The completion tokens reserved per choice, and asked of the upstream as its maximum.</summary>
    public int MaxTokens { get; init; }

    /// <summary>Choices asked for (OpenAI's <c>n</c>); each may use <see cref="MaxTokens"/>.</summary>
    public int Choices { get; init; } = 1;

    /// <summary>A deliberately high estimate of the prompt's tokens, made before the upstream counts them.</summary>
    public int PromptEstimate { get; init; }

    /// <summary>OpenAI streams end with a usage chunk only when the client asks (<c>stream_options.include_usage</c>).</summary>
    public bool IncludeUsage { get; init; }

    public bool IsEmbedding => IsEmbeddingApi(Api);

    public static bool IsEmbeddingApi(ClientApi api) => api is ClientApi.OpenAiEmbeddings or ClientApi.OllamaEmbed or ClientApi.OllamaEmbeddings;

    public bool IsOpenAi => IsOpenAiApi(Api);

    public static bool IsOpenAiApi(ClientApi api) => api is ClientApi.OpenAiChat or ClientApi.OpenAiCompletion or ClientApi.OpenAiEmbeddings;

    /// <summary>The worst case the call may cost, reserved against every limit before it starts.</summary>
    public int ReservedTokens => IsEmbedding ? PromptEstimate : PromptEstimate + (Choices * MaxTokens);

    /// <summary>The OpenTelemetry GenAI operation name.</summary>
    public string Operation => Api switch
    {
        ClientApi.OpenAiChat or ClientApi.OllamaChat => "chat",
        ClientApi.OpenAiCompletion or ClientApi.OllamaGenerate => "text_completion",
        _ => "embeddings",
    };
}
