using System.Text.Json;
using System.Text.Json.Nodes;
using LlmApi.Api.Infrastructure;

namespace LlmApi.Api.Llm.Formats;

/// <summary>OpenAI's wire format: whole answers and stream chunks read into the shared model, and written from it.</summary>
internal static class OpenAiWire
{
    public static TokenUsage? Usage(JsonNode? node) => node.Get("usage") is JsonObject usage
        ? new TokenUsage(JsonRead.Int(usage["prompt_tokens"]) ?? 0, JsonRead.Int(usage["completion_tokens"]) ?? 0)
        : null;

    private static TokenUsage? Usage(JsonElement answer) => answer.Get("usage"u8) is { ValueKind: JsonValueKind.Object } usage
        ? new TokenUsage(JsonRead.Int(usage.Get("prompt_tokens"u8)) ?? 0, JsonRead.Int(usage.Get("completion_tokens"u8)) ?? 0)
        : null;

    /// <summary>
    /// Checks a whole answer that passes to the client unchanged (same format both sides) without building a tree:
    /// JSON, an object whose first choice is an object (with a message, for chat); reads its usage. Throws
    /// <see cref="JsonException"/> for anything else, as the tree-building readers do. The answer is UTF-8 as
    /// <see cref="UpstreamJson.ReadUtf8Async"/> gives it, which has checked that.
    /// </summary>
    public static TokenUsage CheckPassedThrough(ReadOnlyMemory<byte> answer, bool chat)
    {
        using var document = UpstreamJson.Parse(answer);
        var root = document.RootElement;
        var choices = root.Get("choices"u8);
        if (root.ValueKind != JsonValueKind.Object || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0
            || choices[0].ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The answer has no choices.");
        }

        if (chat && choices[0].Get("message"u8).ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The choice has no message.");
        }

        return Usage(root) ?? TokenUsage.None;
    }

    public static Completion ReadChat(JsonObject answer)
    {
        var choice = FirstChoice(answer) ?? throw new JsonException("The answer has no choices.");
        var message = choice["message"] as JsonObject ?? throw new JsonException("The choice has no message.");
        var completion = new Completion
        {
            Text = JsonRead.String(message["content"]) ?? string.Empty,
            Thinking = JsonRead.String(message["reasoning_content"]),
            FinishReason = FinishReasons.FromOpenAi(JsonRead.String(choice["finish_reason"])),
            Usage = Usage(answer) ?? TokenUsage.None,
        };
        foreach (var call in (message["tool_calls"] as JsonArray ?? []).OfType<JsonObject>())
        {
            completion.ToolCalls.Add(new ToolCall(JsonRead.String(call["id"]) ?? NewCallId(), JsonRead.String(call["function"].Get("name")) ?? string.Empty,
                JsonRead.String(call["function"].Get("arguments")) ?? "{}"));
        }

        return completion;
    }

    public static Completion ReadTextCompletion(JsonObject answer)
    {
        var choice = FirstChoice(answer) ?? throw new JsonException("The answer has no choices.");
        return new Completion
        {
            Text = JsonRead.String(choice["text"]) ?? string.Empty,
            FinishReason = FinishReasons.FromOpenAi(JsonRead.String(choice["finish_reason"])),
            Usage = Usage(answer) ?? TokenUsage.None,
        };
    }

    /// <summary>
    /// One SSE line (UTF-8) of a chat or text-completion stream; null for lines that carry nothing (comments, blanks). Read
    /// from a pooled <see cref="JsonDocument"/>, not a tree: a stream is read a line at a time, and most lines pass through.
    /// </summary>
    public static Delta? ReadChunk(ReadOnlyMemory<byte> line) => ReadChunk(line, textWanted: true);

    /// <summary>
    /// <see cref="ReadChunk(ReadOnlyMemory{byte})"/> for a stream that goes to an OpenAI client as it came: the chunk is
    /// checked alike and its usage read, but its text is only looked at, not copied out (<see cref="Delta.ContentSeen"/>).
    /// </summary>
    public static Delta? ReadPassedChunk(ReadOnlyMemory<byte> line) => ReadChunk(line, textWanted: false);

    private static Delta? ReadChunk(ReadOnlyMemory<byte> line, bool textWanted)
    {
        if (!line.Span.StartsWith("data:"u8))
        {
            return null;
        }

        var data = line[5..];
        data = data[System.Text.Ascii.Trim(data.Span)];
        if (data.Span.SequenceEqual("[DONE]"u8))
        {
            return new Delta { End = true };
        }

        using var document = UpstreamJson.Parse(data);
        var chunk = document.RootElement;
        if (chunk.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("A stream chunk is not a JSON object.");
        }

        var choices = chunk.Get("choices"u8);
        var choice = choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0 ? choices[0] : default;
        var delta = choice.Get("delta"u8);
        var usage = Usage(chunk);
        var usageOnly = choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() == 0 && usage is not null;
        if (!textWanted)
        {
            // What ReadChunk would count as content: the delta's text (else the choice's), its reasoning, a tool call.
            var text = delta.Get("content"u8) is { ValueKind: JsonValueKind.String } content ? content : choice.Get("text"u8);
            return new Delta
            {
                ContentSeen = IsText(text) || IsText(delta.Get("reasoning_content"u8))
                    || (delta.Get("tool_calls"u8) is { ValueKind: JsonValueKind.Array } toolCalls && toolCalls.EnumerateArray().Any(c => c.ValueKind == JsonValueKind.Object)),
                Usage = usage,
                UsageOnly = usageOnly,
            };
        }

        var result = new Delta
        {
            Text = JsonRead.String(delta.Get("content"u8)) ?? JsonRead.String(choice.Get("text"u8)),
            Thinking = JsonRead.String(delta.Get("reasoning_content"u8)),
            FinishReason = JsonRead.String(choice.Get("finish_reason"u8)) is { } finish ? FinishReasons.FromOpenAi(finish) : null,
            Usage = usage,
            UsageOnly = usageOnly,
        };
        if (delta.Get("tool_calls"u8) is { ValueKind: JsonValueKind.Array } calls)
        {
            result.ToolCalls = [.. calls.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.Object).Select(c => new ToolCallDelta(
                JsonRead.Int(c.Get("index"u8)) ?? 0, JsonRead.String(c.Get("id"u8)),
                JsonRead.String(c.Get("function"u8).Get("name"u8)), JsonRead.String(c.Get("function"u8).Get("arguments"u8))))];
        }

        return result;
    }

    /// <summary>A string that is not empty (compared as written, so nothing is decoded).</summary>
    private static bool IsText(JsonElement element) => element.ValueKind == JsonValueKind.String && !element.ValueEquals(ReadOnlySpan<byte>.Empty);

    public static JsonObject WriteChat(Completion completion, string id, long created, string model)
    {
        var message = new JsonObject { ["role"] = "assistant", ["content"] = completion.ToolCalls.Count > 0 && completion.Text.Length == 0 ? null : completion.Text };
        if (completion.Thinking is { Length: > 0 } thinking)
        {
            message["reasoning_content"] = thinking;
        }

        if (completion.ToolCalls.Count > 0)
        {
            message["tool_calls"] = new JsonArray([.. completion.ToolCalls.Select(c => (JsonNode)new JsonObject
            {
                ["id"] = c.Id,
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
            })]);
        }

        return new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = message,
                ["logprobs"] = null,
                ["finish_reason"] = completion.ToolCalls.Count > 0 ? FinishReasons.ToolCalls : completion.FinishReason,
            }),
            ["usage"] = UsageNode(completion.Usage),
        };
    }

    public static JsonObject WriteTextCompletion(Completion completion, string id, long created, string model) => new()
    {
        ["id"] = id,
        ["object"] = "text_completion",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject
        {
            ["text"] = completion.Text,
            ["index"] = 0,
            ["logprobs"] = null,
            ["finish_reason"] = completion.FinishReason,
        }),
        ["usage"] = UsageNode(completion.Usage),
    };

    public static JsonObject UsageNode(TokenUsage usage) => new()
    {
        ["prompt_tokens"] = usage.PromptTokens,
        ["completion_tokens"] = usage.CompletionTokens,
        ["total_tokens"] = usage.TotalTokens,
    };

    public static string NewCallId() => "call_" + UniqueIds.New()[..24];

    private static JsonObject? FirstChoice(JsonObject answer) => answer["choices"] is JsonArray { Count: > 0 } choices ? choices[0] as JsonObject : null;
}
