using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>
/// Writes what a client receives for each piece of an upstream stream, in the client's format, as UTF-8 straight into
/// the response's buffer: a line that passes through is copied as it came, never decoded to text and encoded again.
/// </summary>
internal abstract class ClientStream : IDisposable
{
    private Utf8JsonWriter? _writer;

    public void Dispose() => _writer?.Dispose();

    /// <summary>Writes the client's bytes for one upstream line (read into <paramref name="delta"/>) to <paramref name="output"/>.</summary>
    public abstract void Write(Delta delta, ReadOnlySpan<byte> line, IBufferWriter<byte> output);

    /// <summary>Writes <paramref name="node"/> as JSON, as model routes write it (<see cref="WireJson"/>), with one writer per stream.</summary>
    protected void WriteJson(IBufferWriter<byte> output, JsonNode node)
    {
        if (_writer is null)
        {
            _writer = new Utf8JsonWriter(output, WireJson.WriterOptions);
        }
        else
        {
            _writer.Reset(output);
        }

        node.WriteTo(_writer, WireJson.Options);
        _writer.Flush();
    }
}

/// <summary>OpenAI to OpenAI: lines go through untouched, but for the usage chunk, which only clients that asked get.</summary>
internal sealed class OpenAiPassthroughStream(bool includeUsage) : ClientStream
{
    public override void Write(Delta delta, ReadOnlySpan<byte> line, IBufferWriter<byte> output)
    {
        if (delta.End || includeUsage || !delta.UsageOnly)
        {
            output.Write(line);
            output.Write("\n\n"u8);
        }
    }
}

/// <summary>Ollama to Ollama: lines go through untouched; the original's routes add the caller to the last one.</summary>
internal sealed class OllamaPassthroughStream(Action<JsonObject>? annotate) : ClientStream
{
    public override void Write(Delta delta, ReadOnlySpan<byte> line, IBufferWriter<byte> output)
    {
        if (delta.End && annotate is not null && JsonNode.Parse(line) is JsonObject final)
        {
            annotate(final);
            WriteJson(output, final);
        }
        else
        {
            output.Write(line);
        }

        output.Write("\n"u8);
    }
}

/// <summary>An OpenAI chat or text-completion stream written from another format's pieces.</summary>
internal sealed class OpenAiTranslatingStream(bool chat, string id, long created, string model, bool includeUsage) : ClientStream
{
    private bool _first = true;
    private int _toolCalls;
    private string? _finishReason;
    private TokenUsage? _usage;

    public override void Write(Delta delta, ReadOnlySpan<byte> line, IBufferWriter<byte> output)
    {
        if (delta.HasContent)
        {
            Event(output, chat ? ChatChoice(ChatDelta(delta), null) : TextChoice(delta.Text ?? string.Empty, null));
        }

        _finishReason = delta.FinishReason ?? _finishReason;
        _usage = delta.Usage ?? _usage;
        if (!delta.End)
        {
            return;
        }

        var finish = _toolCalls > 0 ? FinishReasons.ToolCalls : _finishReason ?? FinishReasons.Stop;
        Event(output, chat ? ChatChoice(new JsonObject(), finish) : TextChoice(string.Empty, finish));
        if (includeUsage)
        {
            var usage = Chunk(new JsonArray());
            usage["usage"] = OpenAiWire.UsageNode(_usage ?? TokenUsage.None);
            Event(output, usage);
        }

        output.Write("data: [DONE]\n\n"u8);
    }

    private JsonObject ChatDelta(Delta delta)
    {
        var content = new JsonObject();
        if (_first)
        {
            content["role"] = "assistant";
            _first = false;
        }

        if (delta.Text is { Length: > 0 } text)
        {
            content["content"] = text;
        }

        if (delta.Thinking is { Length: > 0 } thinking)
        {
            content["reasoning_content"] = thinking;
        }

        if (delta.ToolCalls is { Count: > 0 } calls)
        {
            content["tool_calls"] = new JsonArray([.. calls.Select(c => (JsonNode)new JsonObject
            {
                ["index"] = _toolCalls++,
                ["id"] = c.Id ?? OpenAiWire.NewCallId(),
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments ?? "{}" },
            })]);
        }

        return content;
    }

    private static JsonArray ChatChoice(JsonObject delta, string? finish) =>
        new(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish });

    private static JsonArray TextChoice(string text, string? finish) =>
        new(new JsonObject { ["text"] = text, ["index"] = 0, ["logprobs"] = null, ["finish_reason"] = finish });

    private void Event(IBufferWriter<byte> output, JsonArray choices) => Event(output, Chunk(choices));

    private void Event(IBufferWriter<byte> output, JsonObject chunk)
    {
        output.Write("data: "u8);
        WriteJson(output, chunk);
        output.Write("\n\n"u8);
    }

    private JsonObject Chunk(JsonArray choices) => new()
    {
        ["id"] = id,
        ["object"] = chat ? "chat.completion.chunk" : "text_completion",
        ["created"] = created,
        ["model"] = model,
        ["choices"] = choices,
    };
}

/// <summary>
/// An Ollama chat or generate stream written from OpenAI pieces. Tool calls, which OpenAI streams as argument
/// fragments, are gathered and sent whole, as Ollama sends them.
/// </summary>
internal sealed class OllamaTranslatingStream(bool chat, string model, TimeProvider clock, Action<JsonObject>? annotate) : ClientStream
{
    private readonly SortedDictionary<int, (string? Name, StringBuilder Arguments)> _toolCalls = [];
    private string? _finishReason;
    private TokenUsage? _usage;

    public override void Write(Delta delta, ReadOnlySpan<byte> line, IBufferWriter<byte> output)
    {
        if (!string.IsNullOrEmpty(delta.Text) || !string.IsNullOrEmpty(delta.Thinking))
        {
            Line(output, OllamaWire.WriteChunk(model, clock.GetUtcNow(), chat, delta.Text, delta.Thinking, []));
        }

        foreach (var call in delta.ToolCalls ?? [])
        {
            var (name, arguments) = _toolCalls.TryGetValue(call.Index, out var known) ? known : (null, new StringBuilder());
            _toolCalls[call.Index] = (name ?? call.Name, arguments.Append(call.Arguments));
        }

        _finishReason = delta.FinishReason ?? _finishReason;
        _usage = delta.Usage ?? _usage;
        if (_toolCalls.Count > 0 && (delta.FinishReason is not null || delta.End))
        {
            Line(output, OllamaWire.WriteChunk(model, clock.GetUtcNow(), chat, null, null,
                _toolCalls.Values.Select(c => (c.Name ?? string.Empty, c.Arguments.Length == 0 ? "{}" : c.Arguments.ToString()))));
            _toolCalls.Clear();
        }

        if (delta.End)
        {
            var final = OllamaWire.WriteFinal(model, clock.GetUtcNow(), chat, _finishReason ?? FinishReasons.Stop, _usage ?? TokenUsage.None);
            annotate?.Invoke(final);
            Line(output, final);
        }
    }

    private void Line(IBufferWriter<byte> output, JsonObject chunk)
    {
        WriteJson(output, chunk);
        output.Write("\n"u8);
    }
}
