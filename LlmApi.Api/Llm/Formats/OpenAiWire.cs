using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>OpenAI's wire format: whole answers and stream chunks read into the shared model, and written from it.</summary>
internal static class OpenAiWire
{
    public const string Done = "[DONE]";

    public static TokenUsage? Usage(JsonNode? node) => node.Get("usage") is JsonObject usage
        ? new TokenUsage(JsonRead.Int(usage["prompt_tokens"]) ?? 0, JsonRead.Int(usage["completion_tokens"]) ?? 0)
        : null;

    /// <summary>
    /// Checks a whole answer that passes to the client unchanged (same format both sides) without building a tree:
    /// valid UTF-8 and JSON, an object whose first choice is an object (with a message, for chat); reads its usage.
    /// Throws <see cref="JsonException"/> for anything else, as the tree-building readers do.
    /// </summary>
    public static TokenUsage CheckPassedThrough(ReadOnlyMemory<byte> answer, bool chat)
    {
        if (!System.Text.Unicode.Utf8.IsValid(answer.Span))
        {
            throw new JsonException("The answer is not valid UTF-8.");
        }

        using var document = JsonDocument.Parse(answer);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices)
            || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0 || choices[0].ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The answer has no choices.");
        }

        if (chat && !(choices[0].TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object))
        {
            throw new JsonException("The choice has no message.");
        }

        return root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
            ? new TokenUsage(Int(usage.TryGetProperty("prompt_tokens", out var prompt) ? prompt : default) ?? 0,
                Int(usage.TryGetProperty("completion_tokens", out var completion) ? completion : default) ?? 0)
            : TokenUsage.None;
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
    /// One SSE line of a chat or text-completion stream; null for lines that carry nothing (comments, blanks). Read from
    /// a pooled <see cref="JsonDocument"/>, not a tree: a stream is read a line at a time, and most lines pass through.
    /// </summary>
    public static Delta? ReadChunk(string line)
    {
        if (!line.StartsWith("data:", StringComparison.Ordinal))
        {
            return null;
        }

        var data = line.AsMemory(5).Trim();
        if (data.Span.SequenceEqual(Done))
        {
            return new Delta { End = true };
        }

        using var document = JsonDocument.Parse(data);
        var chunk = document.RootElement;
        if (chunk.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("A stream chunk is not a JSON object.");
        }

        var choices = Member(chunk, "choices");
        var choice = choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0 ? choices[0] : default;
        var delta = Member(choice, "delta");
        var usage = Member(chunk, "usage");
        var result = new Delta
        {
            Text = String(Member(delta, "content")) ?? String(Member(choice, "text")),
            Thinking = String(Member(delta, "reasoning_content")),
            FinishReason = String(Member(choice, "finish_reason")) is { } finish ? FinishReasons.FromOpenAi(finish) : null,
            Usage = usage.ValueKind == JsonValueKind.Object
                ? new TokenUsage(Int(Member(usage, "prompt_tokens")) ?? 0, Int(Member(usage, "completion_tokens")) ?? 0)
                : null,
            UsageOnly = choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() == 0 && usage.ValueKind == JsonValueKind.Object,
        };
        if (Member(delta, "tool_calls") is { ValueKind: JsonValueKind.Array } calls)
        {
            result.ToolCalls = [.. calls.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.Object).Select(c => new ToolCallDelta(
                Int(Member(c, "index")) ?? 0, String(Member(c, "id")),
                String(Member(Member(c, "function"), "name")), String(Member(Member(c, "function"), "arguments"))))];
        }

        return result;

        static JsonElement Member(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

        static string? String(JsonElement element) => element.ValueKind == JsonValueKind.String ? element.GetString() : null;
    }

    // As JsonRead.Int: an integral number in the range of int, else nothing.
    private static int? Int(JsonElement element) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var number)
            && number == Math.Floor(number) && number is >= int.MinValue and <= int.MaxValue ? (int)number : null;

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

    public static string NewCallId() => "call_" + Guid.NewGuid().ToString("N")[..24];

    private static JsonObject? FirstChoice(JsonObject answer) => answer["choices"] is JsonArray { Count: > 0 } choices ? choices[0] as JsonObject : null;
}
