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
        var writer = JsonWriter(output);
        node.WriteTo(writer, WireJson.Options);
        writer.Flush();
    }

    /// <summary>The stream's one JSON writer, writing to <paramref name="output"/> with the model routes' escaping; flush it when done.</summary>
    protected Utf8JsonWriter JsonWriter(IBufferWriter<byte> output)
    {
        if (_writer is null)
        {
            _writer = new Utf8JsonWriter(output, WireJson.WriterOptions);
        }
        else
        {
            _writer.Reset(output);
        }

        return _writer;
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
        if (delta.End && annotate is not null && UpstreamJson.ParseTree(line) is JsonObject final)
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

/// <summary>
/// An OpenAI chat or text-completion stream written from another format's pieces, field by field into the response's
/// buffer (a piece is written as OpenAI writes it, without building it as a tree first: ClientStreamTests pins the bytes).
/// </summary>
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
            Choice(output, delta, finish: null);
        }

        _finishReason = delta.FinishReason ?? _finishReason;
        _usage = delta.Usage ?? _usage;
        if (!delta.End)
        {
            return;
        }

        Choice(output, content: null, _toolCalls > 0 ? FinishReasons.ToolCalls : _finishReason ?? FinishReasons.Stop);
        if (includeUsage)
        {
            var writer = Open(output);
            writer.WriteEndArray();
            writer.WritePropertyName("usage");
            OpenAiWire.UsageNode(_usage ?? TokenUsage.None).WriteTo(writer, WireJson.Options);
            Close(writer, output);
        }

        output.Write("data: [DONE]\n\n"u8);
    }

    /// <summary>An event of one choice: a piece of content, or without one the finish.</summary>
    private void Choice(IBufferWriter<byte> output, Delta? content, string? finish)
    {
        var writer = Open(output);
        writer.WriteStartObject();
        if (chat)
        {
            writer.WriteNumber("index", 0);
            writer.WriteStartObject("delta");
            if (content is not null)
            {
                WriteDelta(writer, content);
            }

            writer.WriteEndObject();
        }
        else
        {
            writer.WriteString("text", content?.Text ?? string.Empty);
            writer.WriteNumber("index", 0);
        }

        writer.WriteNull("logprobs");
        writer.WriteString("finish_reason", finish);
        writer.WriteEndObject();
        writer.WriteEndArray();
        Close(writer, output);
    }

    private void WriteDelta(Utf8JsonWriter writer, Delta delta)
    {
        if (_first)
        {
            writer.WriteString("role", "assistant");
            _first = false;
        }

        if (delta.Text is { Length: > 0 } text)
        {
            writer.WriteString("content", text);
        }

        if (delta.Thinking is { Length: > 0 } thinking)
        {
            writer.WriteString("reasoning_content", thinking);
        }

        if (delta.ToolCalls is { Count: > 0 } calls)
        {
            writer.WriteStartArray("tool_calls");
            foreach (var call in calls)
            {
                writer.WriteStartObject();
                writer.WriteNumber("index", _toolCalls++);
                writer.WriteString("id", call.Id ?? OpenAiWire.NewCallId());
                writer.WriteString("type", "function");
                writer.WriteStartObject("function");
                writer.WriteString("name", call.Name);
                writer.WriteString("arguments", call.Arguments ?? "{}");
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }
    }

    /// <summary>Starts an event: <c>data: </c>, then the chunk up to its open <c>choices</c> array.</summary>
    private Utf8JsonWriter Open(IBufferWriter<byte> output)
    {
        output.Write("data: "u8);
        var writer = JsonWriter(output);
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("object", chat ? "chat.completion.chunk" : "text_completion");
        writer.WriteNumber("created", created);
        writer.WriteString("model", model);
        writer.WriteStartArray("choices");
        return writer;
    }

    private static void Close(Utf8JsonWriter writer, IBufferWriter<byte> output)
    {
        writer.WriteEndObject();
        writer.Flush();
        output.Write("\n\n"u8);
    }
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
            // The common piece, written field by field; the rarer ones below are built as trees.
            var writer = JsonWriter(output);
            OllamaWire.WritePiece(writer, model, clock.GetUtcNow(), chat, delta.Text, delta.Thinking);
            writer.Flush();
            output.Write("\n"u8);
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
            Line(output, OllamaWire.WriteToolCalls(model, clock.GetUtcNow(), chat,
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
