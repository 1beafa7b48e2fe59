using System.Diagnostics;
using System.Text.Json.Nodes;
using LlmApi.Api.Auth;

namespace LlmApi.Api.Llm;

/// <summary>
/// Forwards an upstream stream line by line in the client's format: Ollama NDJSON or OpenAI server-sent events,
/// translating between them when they differ. Each chunk is written and flushed as it arrives; usage is taken from
/// the final chunk (Ollama) or the usage chunk (OpenAI).
/// </summary>
internal sealed class StreamRelay(Exchange exchange, TimeProvider clock, GatewayTelemetry telemetry)
{
    private string? _finishReason;
    private bool _firstContent = true;

    public bool Finished { get; private set; }

    /// <summary>Relays one upstream line; true when the stream is complete.</summary>
    public async Task<bool> RelayAsync(string line, CancellationToken cancellationToken)
    {
        if (line.Length == 0)
        {
            return false;
        }

        return exchange.Provider == LlmProvider.Ollama
            ? await FromOllamaAsync(JsonNode.Parse(line)!.AsObject(), line, cancellationToken)
            : await FromOpenAiAsync(line, cancellationToken);
    }

    private async Task<bool> FromOllamaAsync(JsonObject chunk, string line, CancellationToken cancellationToken)
    {
        var done = chunk["done"]?.GetValue<bool>() == true;
        if (!done)
        {
            var content = ChatTranslation.TextOf(chunk["message"]?["content"]);
            await ContentAsync(exchange.Format == ChatFormat.Ollama
                ? line + "\n"
                : Sse(ChatTranslation.OpenAiContentChunk(exchange.Id, exchange.Created, exchange.Call.Model, content, _firstContent)), cancellationToken);
            return false;
        }

        exchange.Usage = ChatTranslation.UsageOfOllama(chunk);
        if (exchange.Format == ChatFormat.Ollama)
        {
            AddCaller(chunk, exchange.Caller);
            await WriteAsync(chunk.ToJsonString() + "\n", cancellationToken);
        }
        else
        {
            await WriteAsync(
                Sse(ChatTranslation.OpenAiFinishChunk(exchange.Id, exchange.Created, exchange.Call.Model, chunk["done_reason"]?.GetValue<string>()))
                + Sse(ChatTranslation.OpenAiUsageChunk(exchange.Id, exchange.Created, exchange.Call.Model, exchange.Usage))
                + "data: [DONE]\n\n", cancellationToken);
        }

        Finished = true;
        return true;
    }

    private async Task<bool> FromOpenAiAsync(string line, CancellationToken cancellationToken)
    {
        if (!line.StartsWith("data:", StringComparison.Ordinal))
        {
            return false; // SSE comments and other fields carry nothing to relay
        }

        var data = line["data:".Length..].Trim();
        if (data == "[DONE]")
        {
            var text = exchange.Format == ChatFormat.OpenAI
                ? "data: [DONE]\n\n"
                : WithCaller(ChatTranslation.OllamaFinalChunk(exchange.Call.Model, clock.GetUtcNow(), _finishReason, exchange.Usage)).ToJsonString() + "\n";
            await WriteAsync(text, cancellationToken);
            Finished = true;
            return true;
        }

        var chunk = JsonNode.Parse(data)!.AsObject();
        if (ChatTranslation.UsageOfOpenAi(chunk) is { } usage)
        {
            exchange.Usage = usage;
        }

        var choice = ChatTranslation.FirstChoice(chunk);
        _finishReason = choice?["finish_reason"]?.GetValue<string>() ?? _finishReason;
        var content = ChatTranslation.TextOf(choice?["delta"]?["content"]);
        if (exchange.Format == ChatFormat.OpenAI)
        {
            var text = line + "\n\n";
            await (content.Length > 0 ? ContentAsync(text, cancellationToken) : WriteAsync(text, cancellationToken));
        }
        else if (content.Length > 0)
        {
            await ContentAsync(ChatTranslation.OllamaChunk(exchange.Call.Model, clock.GetUtcNow(), content).ToJsonString() + "\n", cancellationToken);
        }

        return false;
    }

    private async Task ContentAsync(string text, CancellationToken cancellationToken)
    {
        if (_firstContent)
        {
            _firstContent = false;
            telemetry.TimeToFirstToken.Record(Stopwatch.GetElapsedTime(exchange.StartedAt).TotalSeconds, exchange.Tags);
        }

        exchange.Chunks++;
        await WriteAsync(text, cancellationToken);
    }

    private async Task WriteAsync(string text, CancellationToken cancellationToken)
    {
        await exchange.Http.Response.WriteAsync(text, cancellationToken);
        await exchange.Http.Response.Body.FlushAsync(cancellationToken);
    }

    private JsonObject WithCaller(JsonObject chunk)
    {
        AddCaller(chunk, exchange.Caller);
        return chunk;
    }

    private static string Sse(JsonObject chunk) => "data: " + chunk.ToJsonString() + "\n\n";

    /// <summary>The original API named the caller in every Ollama-format answer: <c>tenant_id</c> and <c>user_id</c>.</summary>
    public static void AddCaller(JsonObject answer, Caller caller)
    {
        answer["tenant_id"] = caller.TenantId.ToString("D");
        answer["user_id"] = caller.UserOrNull?.UserId.ToString("D");
    }
}
