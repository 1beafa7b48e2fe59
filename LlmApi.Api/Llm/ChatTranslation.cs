using System.Globalization;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm;

/// <summary>
/// Translation between Ollama's chat format and OpenAI's, in both directions, for requests, whole responses and
/// stream chunks. Works on JSON nodes so that fields one side has and the other lacks are dropped knowingly.
/// </summary>
internal static class ChatTranslation
{
    /// <summary>The text of a message content: a string, or OpenAI's array of parts (text parts joined).</summary>
    public static string TextOf(JsonNode? content) => content switch
    {
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        JsonArray parts => string.Concat(parts.Select(p => p?["type"]?.GetValue<string>() == "text" ? p["text"]?.GetValue<string>() : null)),
        _ => string.Empty,
    };

    private static JsonArray Messages(JsonArray messages) =>
        [.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m?["role"]?.DeepClone(), ["content"] = TextOf(m?["content"]) })];

    /// <summary>An OpenAI chat request as Ollama's.</summary>
    public static JsonObject ToOllamaRequest(JsonObject openAi, string model, JsonArray messages, bool stream, int maxTokens)
    {
        var options = new JsonObject { ["num_predict"] = maxTokens };
        Copy(openAi, "temperature", options, "temperature");
        Copy(openAi, "top_p", options, "top_p");
        Copy(openAi, "seed", options, "seed");
        if (openAi["stop"] is { } stop)
        {
            options["stop"] = stop is JsonArray ? stop.DeepClone() : new JsonArray(stop.DeepClone());
        }

        return new JsonObject { ["model"] = model, ["messages"] = Messages(messages), ["stream"] = stream, ["options"] = options };
    }

    /// <summary>An Ollama chat request as OpenAI's.</summary>
    public static JsonObject ToOpenAiRequest(JsonObject ollama, string model, JsonArray messages, bool stream, int maxTokens)
    {
        var request = new JsonObject { ["model"] = model, ["messages"] = Messages(messages), ["stream"] = stream, ["max_tokens"] = maxTokens };
        if (ollama["options"] is JsonObject options)
        {
            Copy(options, "temperature", request, "temperature");
            Copy(options, "top_p", request, "top_p");
            Copy(options, "seed", request, "seed");
            Copy(options, "stop", request, "stop");
        }

        if (stream)
        {
            request["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        return request;
    }

    /// <summary>A whole Ollama response as an OpenAI chat completion.</summary>
    public static JsonObject ToOpenAiResponse(JsonObject ollama, string id, long created)
    {
        var usage = UsageOfOllama(ollama);
        return new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = ollama["model"]?.DeepClone(),
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = TextOf(ollama["message"]?["content"]) },
                ["finish_reason"] = FinishReason(ollama["done_reason"]?.GetValue<string>()),
            }),
            ["usage"] = UsageNode(usage),
        };
    }

    /// <summary>A whole OpenAI chat completion as Ollama's response.</summary>
    public static JsonObject ToOllamaResponse(JsonObject openAi, string model, DateTimeOffset now)
    {
        var usage = UsageOfOpenAi(openAi) ?? TokenUsage.None;
        var choice = FirstChoice(openAi);
        return new JsonObject
        {
            ["model"] = model,
            ["created_at"] = now.ToString("O", CultureInfo.InvariantCulture),
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = TextOf(choice?["message"]?["content"]) },
            ["done"] = true,
            ["done_reason"] = choice?["finish_reason"]?.GetValue<string>() == "length" ? "length" : "stop",
            ["prompt_eval_count"] = usage.PromptTokens,
            ["eval_count"] = usage.CompletionTokens,
        };
    }

    /// <summary>An OpenAI stream chunk carrying a piece of content (and the role, on the first one).</summary>
    public static JsonObject OpenAiContentChunk(string id, long created, string model, string content, bool first) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["index"] = 0,
            ["delta"] = first ? new JsonObject { ["role"] = "assistant", ["content"] = content } : new JsonObject { ["content"] = content },
            ["finish_reason"] = null,
        }),
    };

    public static JsonObject OpenAiFinishChunk(string id, long created, string model, string? ollamaDoneReason) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject(), ["finish_reason"] = FinishReason(ollamaDoneReason) }),
    };

    public static JsonObject OpenAiUsageChunk(string id, long created, string model, TokenUsage usage) => new()
    {
        ["id"] = id,
        ["object"] = "chat.completion.chunk",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(),
        ["usage"] = UsageNode(usage),
    };

    public static JsonObject OllamaChunk(string model, DateTimeOffset now, string content) => new()
    {
        ["model"] = model,
        ["created_at"] = now.ToString("O", CultureInfo.InvariantCulture),
        ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
        ["done"] = false,
    };

    public static JsonObject OllamaFinalChunk(string model, DateTimeOffset now, string? finishReason, TokenUsage usage) => new()
    {
        ["model"] = model,
        ["created_at"] = now.ToString("O", CultureInfo.InvariantCulture),
        ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = string.Empty },
        ["done"] = true,
        ["done_reason"] = finishReason == "length" ? "length" : "stop",
        ["prompt_eval_count"] = usage.PromptTokens,
        ["eval_count"] = usage.CompletionTokens,
    };

    /// <summary>The first choice of an OpenAI answer or chunk; usage-only chunks have none.</summary>
    public static JsonNode? FirstChoice(JsonNode answer) => answer["choices"] is JsonArray { Count: > 0 } choices ? choices[0] : null;

    public static TokenUsage UsageOfOllama(JsonNode node) =>
        new(node["prompt_eval_count"]?.GetValue<int>() ?? 0, node["eval_count"]?.GetValue<int>() ?? 0);

    public static TokenUsage? UsageOfOpenAi(JsonNode node) => node["usage"] is JsonObject usage
        ? new TokenUsage(usage["prompt_tokens"]?.GetValue<int>() ?? 0, usage["completion_tokens"]?.GetValue<int>() ?? 0)
        : null;

    private static string FinishReason(string? ollamaDoneReason) => ollamaDoneReason == "length" ? "length" : "stop";

    private static JsonObject UsageNode(TokenUsage usage) => new()
    {
        ["prompt_tokens"] = usage.PromptTokens,
        ["completion_tokens"] = usage.CompletionTokens,
        ["total_tokens"] = usage.TotalTokens,
    };

    private static void Copy(JsonObject from, string name, JsonObject to, string as_)
    {
        if (from[name] is { } value)
        {
            to[as_] = value.DeepClone();
        }
    }
}

/// <summary>Tokens of one call as the upstream counted them.</summary>
internal readonly record struct TokenUsage(int PromptTokens, int CompletionTokens)
{
    public static readonly TokenUsage None = new(0, 0);

    public int TotalTokens => PromptTokens + CompletionTokens;
}
