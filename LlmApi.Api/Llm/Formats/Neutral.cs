namespace LlmApi.Api.Llm.Formats;

/// <summary>Tokens of one call as the upstream counted them.</summary>
internal readonly record struct TokenUsage(int PromptTokens, int CompletionTokens)
{
    public static readonly TokenUsage None = new(0, 0);

    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>A complete tool call: its id, the function's name and its arguments as JSON text.</summary>
internal sealed record ToolCall(string Id, string Name, string Arguments);

/// <summary>A piece of a streamed tool call (OpenAI streams the arguments in fragments, by index).</summary>
internal sealed record ToolCallDelta(int Index, string? Id, string? Name, string? Arguments);

/// <summary>
/// A whole answer in neither wire format: what both formats can say, so that translating N formats takes N readers and
/// N writers instead of N x N converters.
/// </summary>
internal sealed class Completion
{
    public string Text { get; set; } = string.Empty;

    /// <summary>The model's reasoning, where it shows it (Ollama's <c>thinking</c>, OpenAI-style <c>reasoning_content</c>).</summary>
    public string? Thinking { get; set; }

    public List<ToolCall> ToolCalls { get; } = [];

    /// <summary><c>stop</c>, <c>length</c> or <c>tool_calls</c>.</summary>
    public string FinishReason { get; set; } = FinishReasons.Stop;

    public TokenUsage Usage { get; set; }
}

/// <summary>One streamed piece of an answer, in neither wire format.</summary>
internal sealed class Delta
{
    public string? Text { get; set; }

    public string? Thinking { get; set; }

    public List<ToolCallDelta>? ToolCalls { get; set; }

    public string? FinishReason { get; set; }

    public TokenUsage? Usage { get; set; }

    /// <summary>The upstream's stream is complete.</summary>
    public bool End { get; set; }

    /// <summary>An OpenAI chunk that carries only usage (<c>choices: []</c>), sent to clients that asked for it.</summary>
    public bool UsageOnly { get; set; }

    /// <summary>
    /// Set by a reader that found generated content without copying it out (a stream passed through unchanged, whose
    /// text nobody reads): then <see cref="Text"/>, <see cref="Thinking"/> and <see cref="ToolCalls"/> stay empty.
    /// </summary>
    public bool ContentSeen { get; init; }

    /// <summary>True when this piece carries something generated (for time to first token and chunk counting).</summary>
    public bool HasContent => ContentSeen || !string.IsNullOrEmpty(Text) || !string.IsNullOrEmpty(Thinking) || ToolCalls is { Count: > 0 };
}

internal static class FinishReasons
{
    public const string Stop = "stop";
    public const string Length = "length";
    public const string ToolCalls = "tool_calls";

    /// <summary>Ollama's <c>done_reason</c> (<c>stop</c>, <c>length</c>, <c>load</c>, ...) in the shared vocabulary.</summary>
    public static string FromOllama(string? doneReason) => doneReason == Length ? Length : Stop;

    /// <summary>OpenAI's <c>finish_reason</c> in the shared vocabulary (<c>content_filter</c> reads as a stop).</summary>
    public static string FromOpenAi(string? finishReason) => finishReason is Length or ToolCalls ? finishReason : Stop;

    /// <summary>Ollama knows only stop and length; a turn that ends in tool calls is a stop there.</summary>
    public static string ToOllama(string reason) => reason == Length ? Length : Stop;
}

/// <summary>A request field that the upstream's format cannot express: refused with 400 naming it, never dropped.</summary>
internal sealed class TranslationException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;

    public static void ThrowIf(bool condition, string field, string message)
    {
        if (condition)
        {
            throw new TranslationException(field, message);
        }
    }

    /// <summary>Refuses the first member of <paramref name="node"/> that says something and is not <paramref name="accepted"/>.</summary>
    public static void RefuseMembers(System.Text.Json.Nodes.JsonObject? node, Func<string, bool> accepted, string pathPrefix, Func<string, string> message)
    {
        foreach (var field in node is null ? [] : JsonRead.Present(node))
        {
            ThrowIf(!accepted(field), pathPrefix + field, message(field));
        }
    }

    /// <summary>Copies an optional positive whole number (such as <c>dimensions</c>) from one request to the other.</summary>
    public static void CopyPositive(System.Text.Json.Nodes.JsonObject from, System.Text.Json.Nodes.JsonObject to, string field)
    {
        if (JsonRead.Has(from, field))
        {
            to[field] = JsonRead.Int(from[field]) is > 0 and var value ? value : throw new TranslationException(field, $"{field} must be a positive whole number.");
        }
    }
}
