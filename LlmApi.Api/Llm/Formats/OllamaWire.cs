using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>Ollama's wire format: whole answers and NDJSON chunks read into the shared model, and written from it.</summary>
internal static class OllamaWire
{
    /// <summary>A whole chat or generate answer (they differ in where the text is: <c>message.content</c> or <c>response</c>).</summary>
    public static Completion ReadAnswer(JsonElement answer)
    {
        var delta = ReadChunk(answer);
        var completion = new Completion
        {
            Text = delta.Text ?? string.Empty,
            Thinking = delta.Thinking,
            FinishReason = delta.FinishReason ?? FinishReasons.Stop,
            Usage = delta.Usage ?? TokenUsage.None,
        };
        completion.ToolCalls.AddRange((delta.ToolCalls ?? []).Select(c => new ToolCall(c.Id!, c.Name ?? string.Empty, c.Arguments ?? "{}")));
        return completion;
    }

    /// <summary>
    /// One NDJSON line (UTF-8) of a chat or generate stream, read from a pooled document rather than built as a tree:
    /// the reader runs for every piece of every stream from an Ollama server.
    /// </summary>
    public static Delta ReadChunk(ReadOnlyMemory<byte> line)
    {
        using var document = UpstreamJson.Parse(line);
        return ReadChunk(document.RootElement);
    }

    private static Delta ReadChunk(JsonElement chunk)
    {
        if (chunk.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("A stream chunk is not a JSON object.");
        }

        var message = chunk.Get("message"u8);
        var done = JsonRead.Bool(chunk.Get("done"u8)) == true;
        var delta = new Delta
        {
            Text = JsonRead.String(message.Get("content"u8)) ?? JsonRead.String(chunk.Get("response"u8)),
            Thinking = JsonRead.String(message.Get("thinking"u8)) ?? JsonRead.String(chunk.Get("thinking"u8)),
            End = done,
            FinishReason = done ? FinishReasons.FromOllama(JsonRead.String(chunk.Get("done_reason"u8))) : null,
            Usage = done ? new TokenUsage(JsonRead.Int(chunk.Get("prompt_eval_count"u8)) ?? 0, JsonRead.Int(chunk.Get("eval_count"u8)) ?? 0) : null,
        };
        if (message.Get("tool_calls"u8) is { ValueKind: JsonValueKind.Array } calls && calls.GetArrayLength() > 0)
        {
            delta.ToolCalls = [.. calls.EnumerateArray().Select((c, i) => new ToolCallDelta(i, OpenAiWire.NewCallId(),
                JsonRead.String(c.Get("function"u8).Get("name"u8)), ArgumentsText(c.Get("function"u8).Get("arguments"u8))))];
        }

        return delta;
    }

    /// <summary>
    /// Ollama sends a tool call's arguments as an object, OpenAI as JSON text: the value written compactly, with the
    /// default escaping (as <c>ToJsonString()</c> writes the request side's nodes in OllamaToOpenAi).
    /// </summary>
    private static string ArgumentsText(JsonElement arguments) => JsonRead.IsPresent(arguments) ? JsonSerializer.Serialize(arguments) : "{}";

    /// <summary>A whole answer: chat (<c>message</c>) or generate (<c>response</c>).</summary>
    public static JsonObject WriteAnswer(Completion completion, string model, DateTimeOffset now, bool chat)
    {
        var answer = Header(model, now);
        if (chat)
        {
            answer["message"] = Message(completion.Text, completion.Thinking, completion.ToolCalls.Select(c => (c.Name, c.Arguments)));
        }
        else
        {
            answer["response"] = completion.Text;
            if (completion.Thinking is { Length: > 0 } thinking)
            {
                answer["thinking"] = thinking;
            }
        }

        return Final(answer, completion.FinishReason, completion.Usage);
    }

    /// <summary>A chunk carrying complete tool calls (text and reasoning go in pieces: <see cref="WritePiece"/>).</summary>
    public static JsonObject WriteToolCalls(string model, DateTimeOffset now, bool chat, IEnumerable<(string Name, string Arguments)> toolCalls)
    {
        var chunk = Header(model, now);
        if (chat)
        {
            chunk["message"] = Message(string.Empty, null, toolCalls);
        }
        else
        {
            chunk["response"] = string.Empty;
        }

        chunk["done"] = false;
        return chunk;
    }

    /// <summary>
    /// A chunk carrying generated text or reasoning, written straight to <paramref name="writer"/> without building a
    /// tree: the fields and order of <see cref="WriteToolCalls"/>'s (ClientStreamTests pins both).
    /// </summary>
    public static void WritePiece(Utf8JsonWriter writer, string model, DateTimeOffset now, bool chat, string? text, string? thinking)
    {
        writer.WriteStartObject();
        writer.WriteString("model", model);
        Span<byte> timestamp = stackalloc byte[48]; // 33 at most
        writer.WriteString("created_at", now.TryFormat(timestamp, out var length, TimestampFormat, CultureInfo.InvariantCulture)
            ? timestamp[..length]
            : Encoding.UTF8.GetBytes(Timestamp(now)));
        if (chat)
        {
            writer.WriteStartObject("message");
            writer.WriteString("role", "assistant");
        }

        writer.WriteString(chat ? "content" : "response", text ?? string.Empty);
        if (thinking is { Length: > 0 })
        {
            writer.WriteString("thinking", thinking);
        }

        if (chat)
        {
            writer.WriteEndObject();
        }

        writer.WriteBoolean("done", false);
        writer.WriteEndObject();
    }

    /// <summary>The last chunk of a stream: done, why, and the token counts.</summary>
    public static JsonObject WriteFinal(string model, DateTimeOffset now, bool chat, string finishReason, TokenUsage usage)
    {
        var chunk = Header(model, now);
        if (chat)
        {
            chunk["message"] = new JsonObject { ["role"] = "assistant", ["content"] = string.Empty };
        }
        else
        {
            chunk["response"] = string.Empty;
        }

        return Final(chunk, finishReason, usage);
    }

    /// <summary>Timestamps as Ollama writes them: RFC 3339 with an offset, never escaped.</summary>
    public static string Timestamp(DateTimeOffset now) => now.ToString(TimestampFormat, CultureInfo.InvariantCulture);

    private const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz";

    private static JsonObject Header(string model, DateTimeOffset now) => new() { ["model"] = model, ["created_at"] = Timestamp(now) };

    private static JsonObject Final(JsonObject answer, string finishReason, TokenUsage usage)
    {
        answer["done"] = true;
        answer["done_reason"] = FinishReasons.ToOllama(finishReason);
        answer["prompt_eval_count"] = usage.PromptTokens;
        answer["eval_count"] = usage.CompletionTokens;
        return answer;
    }

    private static JsonObject Message(string text, string? thinking, IEnumerable<(string Name, string Arguments)> toolCalls)
    {
        var message = new JsonObject { ["role"] = "assistant", ["content"] = text };
        if (thinking is { Length: > 0 })
        {
            message["thinking"] = thinking;
        }

        var calls = toolCalls.Select(c => (JsonNode)new JsonObject
        {
            ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = Arguments(c.Arguments) },
        }).ToArray();
        if (calls.Length > 0)
        {
            message["tool_calls"] = new JsonArray(calls);
        }

        return message;
    }

    /// <summary>OpenAI sends arguments as JSON text, Ollama as an object; text that is not an object stays text.</summary>
    private static JsonNode Arguments(string text)
    {
        try
        {
            return UpstreamJson.ParseTree(text) as JsonObject ?? (JsonNode)text;
        }
        catch (JsonException)
        {
            return text;
        }
    }
}
