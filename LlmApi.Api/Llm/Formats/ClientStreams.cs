using System.Text;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>Writes what a client receives for each piece of an upstream stream, in the client's format.</summary>
internal abstract class ClientStream
{
    /// <summary>Appends the client's text for one upstream line (read into <paramref name="delta"/>) to <paramref name="output"/>.</summary>
    public abstract void Write(Delta delta, string line, StringBuilder output);
}

/// <summary>OpenAI to OpenAI: lines go through untouched, but for the usage chunk, which only clients that asked get.</summary>
internal sealed class OpenAiPassthroughStream(bool includeUsage) : ClientStream
{
    public override void Write(Delta delta, string line, StringBuilder output)
    {
        if (delta.End || includeUsage || !delta.UsageOnly)
        {
            output.Append(line).Append("\n\n");
        }
    }
}

/// <summary>Ollama to Ollama: lines go through untouched; the original's routes add the caller to the last one.</summary>
internal sealed class OllamaPassthroughStream(Action<JsonObject>? annotate) : ClientStream
{
    public override void Write(Delta delta, string line, StringBuilder output)
    {
        if (delta.End && annotate is not null && JsonNode.Parse(line) is JsonObject final)
        {
            annotate(final);
            line = WireJson.Text(final);
        }

        output.Append(line).Append('\n');
    }
}

/// <summary>An OpenAI chat or text-completion stream written from another format's pieces.</summary>
internal sealed class OpenAiTranslatingStream(bool chat, string id, long created, string model, bool includeUsage) : ClientStream
{
    private bool _first = true;
    private int _toolCalls;
    private string? _finishReason;
    private TokenUsage? _usage;

    public override void Write(Delta delta, string line, StringBuilder output)
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
            output.Append("data: ").Append(WireJson.Text(usage)).Append("\n\n");
        }

        output.Append("data: ").Append(OpenAiWire.Done).Append("\n\n");
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

    private void Event(StringBuilder output, JsonArray choices) => output.Append("data: ").Append(WireJson.Text(Chunk(choices))).Append("\n\n");

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

    public override void Write(Delta delta, string line, StringBuilder output)
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

    private static void Line(StringBuilder output, JsonObject chunk) => output.Append(WireJson.Text(chunk)).Append('\n');
}
