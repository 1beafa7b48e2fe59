using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LlmApi.Tests.Infrastructure;

/// <summary>What a test upstream does with every call, whatever the model.</summary>
public enum UpstreamMode
{
    /// <summary>Answers as the model name says (see <see cref="FakeUpstream"/>).</summary>
    Normal,

    /// <summary>Every call fails with 500 (its model list still answers).</summary>
    Failing,

    /// <summary>Every call is refused with 429, as a saturated model server does.</summary>
    Busy,
}

/// <summary>
/// A small real HTTP server on loopback speaking both upstream wire formats: Ollama (<c>/api/chat</c>,
/// <c>/api/generate</c>, <c>/api/embed</c>, <c>/api/tags</c>, <c>/api/show</c>, <c>/api/ps</c>) and OpenAI under a base
/// path (<c>{base}/chat/completions</c>, <c>/completions</c>, <c>/embeddings</c>, <c>/models</c>), streaming included.
/// Any model answers "Hello from the model!" in five pieces (prompt 10 tokens, one token a piece, fewer when max tokens
/// say so); offered tools, it calls the first with <c>{"city":"Paris"}</c>, and given a tool result it answers
/// "The tool said: ..."; given images it answers "I see N image(s)"; asked for JSON it answers <c>{"greeting":"Hello"}</c>.
/// Model names choose special behaviour: <c>gated</c> streams one piece and waits for <see cref="ReleaseGate"/> (and,
/// not streamed, holds its answer until then); <c>late</c> sends its stream's headers at once and holds its first piece
/// until <see cref="ReleaseGate"/>, as a model server does while it reads a long prompt (recording in
/// <see cref="StreamAborted"/> when its client hangs up first); <c>endless</c> streams a piece every 50 ms for 10 s and records in
/// <see cref="StreamAborted"/> when its client hangs up; <c>cutoff</c> streams two pieces and drops the connection
/// (not streamed, in OpenAI's format, it declares its answer's length, sends half and drops it); <c>broken</c> fails with 500; <c>garbage</c> answers 200 with HTML; <c>hollow</c> answers 200 with a JSON object that
/// holds no answer; <c>slow</c> waits 5 s before answering; <c>ragged</c> streams "Grüße 中文 bad \uFFFD" as raw UTF-8 in
/// lines that end in CRLF, each sent in two writes split inside a multi-byte character, one with a byte that is not UTF-8;
/// <c>twofold</c> answers as any model, but every object it sends (whole answer, stream line, <c>/api/show</c>) has its
/// first member written twice.
/// A whole answer in OpenAI's format declares its length (<c>Content-Length</c>); one in Ollama's is sent chunked.
/// <see cref="Mode"/> makes every call fail, and <see cref="StopAsync"/> makes it refuse connections.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    public const int PromptTokens = 10;
    private const string Twofold = "twofold";
    public static readonly string[] Pieces = ["Hello", " from", " the", " model", "!"];
    public static readonly string[] ModelNames = ["llama3:latest", "mistral", "gated", "endless", "cutoff", "broken", "garbage", "hollow", "slow", "embedder", "ragged", "twofold", "late"];

    /// <summary>What <c>ragged</c> streams, as the client should read it.</summary>
    public const string RaggedText = "Grüße 中文 bad \uFFFD";

    private readonly string _openAiBase;
    private WebApplication? _app;
    private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _port;

    private FakeUpstream(string openAiBase, IReadOnlyList<string> models)
    {
        _openAiBase = openAiBase;
        Models = models;
    }

    /// <summary>The server's root URL (Ollama's base).</summary>
    public string Url => $"http://127.0.0.1:{_port}";

    /// <summary>The OpenAI base URL, as an OpenAI SDK takes it.</summary>
    public string OpenAiUrl => Url + _openAiBase;

    public IReadOnlyList<string> Models { get; }

    public UpstreamMode Mode { get; set; }

    /// <summary>Every request received on a model route, with its path and body, in order.</summary>
    public ConcurrentQueue<(string Path, JsonObject Body)> Requests { get; } = new();

    /// <summary>The <c>traceparent</c> of every request received on a model route that carried one, in order.</summary>
    public ConcurrentQueue<string> TraceParents { get; } = new();

    /// <summary>Model calls answered successfully.</summary>
    public int Served => _served;

    private int _served;

    /// <summary>Calls being answered right now.</summary>
    public int InFlight => _inFlight;

    private int _inFlight;

    /// <summary>
    /// Completed when an endless stream could no longer be written, or a late one's client left before its first piece:
    /// its client (the gateway) hung up.
    /// </summary>
    public TaskCompletionSource StreamAborted { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseGate() => _gate.TrySetResult();

    public void ResetGate()
    {
        _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        StreamAborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public string ConnectionString(string provider) => $"Endpoint={(provider == "OpenAI" ? OpenAiUrl : Url)};Provider={provider}";

    /// <summary>Starts a test upstream; its OpenAI routes live under <paramref name="openAiBase"/>.</summary>
    public static async Task<FakeUpstream> StartAsync(string openAiBase = "/v1", IReadOnlyList<string>? models = null)
    {
        var fake = new FakeUpstream(openAiBase, models ?? ModelNames);
        await fake.StartOnAsync(0);
        return fake;
    }

    /// <summary>Stops listening: connections are refused from now on, as from a server that went down.</summary>
    public async Task StopAsync()
    {
        ReleaseGate();
        if (_app is not null)
        {
            await _app.DisposeAsync();
            _app = null;
        }
    }

    /// <summary>Listens again on the same port, as a server that came back.</summary>
    public Task RestartAsync() => StartOnAsync(_port);

    private async Task StartOnAsync(int port)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/api/tags", () => Results.Json(new JsonObject
        {
            ["models"] = new JsonArray([.. Models.Select(m => (JsonNode)new JsonObject
            {
                ["name"] = m, ["model"] = m, ["modified_at"] = "2026-01-01T00:00:00Z", ["size"] = 1000, ["digest"] = "sha256:00",
                ["details"] = new JsonObject { ["family"] = "test" },
            })]),
        }));
        app.MapPost("/api/show", async (HttpContext http) =>
        {
            var model = JsonNode.Parse(await new StreamReader(http.Request.Body).ReadToEndAsync())?["model"]?.GetValue<string>();
            var show = new JsonObject { ["modelfile"] = "FROM test", ["details"] = new JsonObject { ["family"] = "test" }, ["capabilities"] = new JsonArray("completion", "tools") };
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(model == Twofold ? Twice(show.ToJsonString()) : show.ToJsonString());
        });
        app.MapGet("/api/ps", () => Results.Json(new JsonObject { ["models"] = new JsonArray(new JsonObject { ["name"] = Models[0], ["model"] = Models[0], ["size_vram"] = 1 }) }));
        app.MapGet(_openAiBase + "/models", () => Results.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. Models.Select(m => (JsonNode)new JsonObject { ["id"] = m, ["object"] = "model", ["created"] = 1, ["owned_by"] = "test" })]),
        }));
        app.MapPost("/api/chat", (HttpContext http) => GenerateAsync(http, openAi: false, chat: true));
        app.MapPost("/api/generate", (HttpContext http) => GenerateAsync(http, openAi: false, chat: false));
        app.MapPost(_openAiBase + "/chat/completions", (HttpContext http) => GenerateAsync(http, openAi: true, chat: true));
        app.MapPost(_openAiBase + "/completions", (HttpContext http) => GenerateAsync(http, openAi: true, chat: false));
        app.MapPost("/api/embed", (HttpContext http) => EmbedAsync(http, openAi: false));
        app.MapPost(_openAiBase + "/embeddings", (HttpContext http) => EmbedAsync(http, openAi: true));
        await app.StartAsync();
        _app = app;
        _port = new Uri(app.Urls.First()).Port;
    }

    private async Task<JsonObject?> ReceiveAsync(HttpContext http)
    {
        // Read to the end of the body: Kestrel notices a client hanging up only once the request is fully read.
        var body = JsonNode.Parse(await new StreamReader(http.Request.Body).ReadToEndAsync())!.AsObject();
        Requests.Enqueue((http.Request.Path, body));
        if (http.Request.Headers.TraceParent is [{ } traceParent])
        {
            TraceParents.Enqueue(traceParent);
        }

        if (Mode != UpstreamMode.Normal)
        {
            http.Response.StatusCode = Mode == UpstreamMode.Busy ? 429 : 500;
            return null;
        }

        return body;
    }

    private async Task EmbedAsync(HttpContext http, bool openAi)
    {
        if (await ReceiveAsync(http) is not { } body)
        {
            return;
        }

        var inputs = body["input"] is JsonArray list ? list.Count : 1;
        var vectors = Enumerable.Range(0, inputs).Select(i => new JsonArray(0.5, -0.25, i)).ToList();
        Interlocked.Increment(ref _served);
        await http.Response.WriteAsJsonAsync(openAi
            ? new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray([.. vectors.Select((v, i) => (JsonNode)new JsonObject { ["object"] = "embedding", ["index"] = i, ["embedding"] = v })]),
                ["model"] = body["model"]!.GetValue<string>(),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 2 * inputs, ["total_tokens"] = 2 * inputs },
            }
            : new JsonObject { ["model"] = body["model"]!.GetValue<string>(), ["embeddings"] = new JsonArray([.. vectors]), ["prompt_eval_count"] = 2 * inputs });
    }

    private async Task GenerateAsync(HttpContext http, bool openAi, bool chat)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            if (await ReceiveAsync(http) is { } body)
            {
                await AnswerAsync(http, body, openAi, chat);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private async Task AnswerAsync(HttpContext http, JsonObject body, bool openAi, bool chat)
    {
        var model = body["model"]!.GetValue<string>();
        var stream = body["stream"]?.GetValue<bool>() ?? !openAi;
        var maxTokens = (openAi ? body["max_tokens"] ?? body["max_completion_tokens"] : body["options"]?["num_predict"])?.GetValue<int>() ?? int.MaxValue;
        switch (model)
        {
            case "broken":
                http.Response.StatusCode = 500;
                return;
            case "garbage":
                await http.Response.WriteAsync("<html>not a model server</html>");
                return;
            case "hollow":
                await http.Response.WriteAsJsonAsync(new { id = "x", @object = "chat.completion" });
                return;
            case "slow":
                await Task.Delay(TimeSpan.FromSeconds(5), http.RequestAborted);
                break;
            case Twofold:
                http.Items[Twofold] = true; // WriteLineAsync names each line's first member twice
                break;
            case "gated" when !stream:
                await _gate.Task.WaitAsync(http.RequestAborted);
                break;
        }

        var (pieces, toolCall) = Reply(body, openAi, chat, maxTokens);
        Interlocked.Increment(ref _served);
        if (!stream)
        {
            var whole = Whole(model, string.Concat(pieces), pieces.Length, toolCall, openAi, chat);
            if (model == Twofold)
            {
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(Twice(whole.ToJsonString()));
                return;
            }

            if (!openAi)
            {
                await http.Response.WriteAsJsonAsync(whole); // chunked, as many servers send JSON
                return;
            }

            // A whole OpenAI-format answer declares its length, as vLLM's and llama.cpp's do; cutoff's breaks off halfway.
            var bytes = System.Text.Encoding.UTF8.GetBytes(whole.ToJsonString());
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = bytes.Length;
            await http.Response.Body.WriteAsync(model == "cutoff" ? bytes.AsMemory(0, bytes.Length / 2) : bytes);
            if (model == "cutoff")
            {
                await http.Response.Body.FlushAsync();
                await Task.Delay(200);
                http.Abort();
            }

            return;
        }

        http.Response.ContentType = openAi ? "text/event-stream" : "application/x-ndjson";
        if (model == "ragged")
        {
            await RaggedAsync(http, body, model, openAi, chat);
            return;
        }

        if (model == "endless")
        {
            // A write to a connection its client closed fails: that is how a server learns its caller left.
            try
            {
                for (var i = 0; i < 200; i++)
                {
                    await WriteLineAsync(http, Piece(model, " more", openAi, chat));
                    await Task.Delay(50, http.RequestAborted);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                StreamAborted.TrySetResult();
            }

            return;
        }

        if (model == "late")
        {
            await http.Response.Body.FlushAsync(http.RequestAborted); // the headers, sent
            try
            {
                await _gate.Task.WaitAsync(http.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                StreamAborted.TrySetResult();
                return;
            }
        }

        for (var i = 0; i < pieces.Length; i++)
        {
            await WriteLineAsync(http, Piece(model, pieces[i], openAi, chat));
            if (model == "gated" && i == 0)
            {
                await _gate.Task.WaitAsync(http.RequestAborted);
            }

            if (model == "cutoff" && i == 1)
            {
                // Let the pieces reach the client first: an abort resets the connection, dropping what is unsent.
                await Task.Delay(200);
                http.Abort();
                return;
            }
        }

        if (toolCall is not null)
        {
            if (openAi)
            {
                // OpenAI streams a tool call's arguments in fragments.
                await WriteLineAsync(http, Sse(Chunk(model, new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["id"] = "call_abc", ["type"] = "function", ["function"] = new JsonObject { ["name"] = toolCall, ["arguments"] = "{\"city\":" },
                }) }, null)));
                await WriteLineAsync(http, Sse(Chunk(model, new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0, ["function"] = new JsonObject { ["arguments"] = "\"Paris\"}" },
                }) }, null)));
            }
            else
            {
                await WriteLineAsync(http, new JsonObject
                {
                    ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["done"] = false,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "", ["tool_calls"] = OllamaToolCalls(toolCall) },
                }.ToJsonString());
            }
        }

        if (openAi)
        {
            var finish = chat ? Chunk(model, new JsonObject(), toolCall is null ? "stop" : "tool_calls") : TextChunk(model, "", "stop");
            await WriteLineAsync(http, Sse(finish));
            if (body["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
            {
                var usage = new JsonObject
                {
                    ["id"] = "chatcmpl-test", ["object"] = chat ? "chat.completion.chunk" : "text_completion", ["created"] = 1, ["model"] = model, ["choices"] = new JsonArray(),
                    ["usage"] = Usage(pieces.Length),
                };
                await WriteLineAsync(http, Sse(usage));
            }

            await WriteLineAsync(http, "data: [DONE]\n");
        }
        else
        {
            var final = new JsonObject
            {
                ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["done"] = true, ["done_reason"] = "stop",
                ["prompt_eval_count"] = PromptTokens, ["eval_count"] = pieces.Length,
            };
            final[chat ? "message" : "response"] = chat ? new JsonObject { ["role"] = "assistant", ["content"] = "" } : "";
            await WriteLineAsync(http, final.ToJsonString());
        }
    }

    /// <summary>What the model says: text pieces, or a call of the first offered tool.</summary>
    private static (string[] Pieces, string? ToolCall) Reply(JsonObject body, bool openAi, bool chat, int maxTokens)
    {
        var messages = body["messages"] as JsonArray ?? [];
        var last = messages.Count > 0 ? messages[^1] : null;
        var images = openAi
            ? messages.Sum(m => m?["content"] is JsonArray parts ? parts.Count(p => p?["type"]?.GetValue<string>() == "image_url") : 0)
            : messages.Sum(m => (m?["images"] as JsonArray)?.Count ?? 0) + ((body["images"] as JsonArray)?.Count ?? 0);
        var wantsJson = body["format"] is not null || body["response_format"] is not null;
        if (chat && last?["role"]?.GetValue<string>() == "tool")
        {
            return (["The tool said: " + last["content"]!.GetValue<string>()], null);
        }

        if (chat && body["tools"] is JsonArray { Count: > 0 } tools)
        {
            return ([], tools[0]!["function"]!["name"]!.GetValue<string>());
        }

        if (images > 0)
        {
            return ([$"I see {images} image(s)"], null);
        }

        if (wantsJson)
        {
            return (["{\"greeting\":\"Hello\"}"], null);
        }

        return (Pieces.Take(Math.Min(Pieces.Length, maxTokens)).ToArray(), null);
    }

    private static JsonObject Whole(string model, string text, int tokens, string? toolCall, bool openAi, bool chat)
    {
        if (openAi)
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = toolCall is null ? text : null };
            if (toolCall is not null)
            {
                message["tool_calls"] = new JsonArray(new JsonObject
                {
                    ["id"] = "call_abc", ["type"] = "function", ["function"] = new JsonObject { ["name"] = toolCall, ["arguments"] = "{\"city\":\"Paris\"}" },
                });
            }

            return new JsonObject
            {
                ["id"] = "chatcmpl-test", ["object"] = chat ? "chat.completion" : "text_completion", ["created"] = 1, ["model"] = model,
                ["choices"] = new JsonArray(chat
                    ? new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = toolCall is null ? "stop" : "tool_calls" }
                    : new JsonObject { ["index"] = 0, ["text"] = text, ["finish_reason"] = "stop" }),
                ["usage"] = Usage(tokens),
            };
        }

        var answer = new JsonObject
        {
            ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["done"] = true, ["done_reason"] = "stop",
            ["prompt_eval_count"] = PromptTokens, ["eval_count"] = tokens,
        };
        if (chat)
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = text };
            if (toolCall is not null)
            {
                message["tool_calls"] = OllamaToolCalls(toolCall);
            }

            answer["message"] = message;
        }
        else
        {
            answer["response"] = text;
        }

        return answer;
    }

    private static JsonArray OllamaToolCalls(string name) =>
        new(new JsonObject { ["function"] = new JsonObject { ["name"] = name, ["arguments"] = new JsonObject { ["city"] = "Paris" } } });

    private static JsonObject Usage(int completion) =>
        new() { ["prompt_tokens"] = PromptTokens, ["completion_tokens"] = completion, ["total_tokens"] = PromptTokens + completion };

    private static string Piece(string model, string piece, bool openAi, bool chat) => openAi
        ? Sse(chat ? Chunk(model, new JsonObject { ["content"] = piece }, null) : TextChunk(model, piece, null))
        : new JsonObject
        {
            ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["done"] = false,
            [chat ? "message" : "response"] = chat ? new JsonObject { ["role"] = "assistant", ["content"] = piece } : piece,
        }.ToJsonString();

    private static JsonObject Chunk(string model, JsonObject delta, string? finish) => new()
    {
        ["id"] = "chatcmpl-test", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
    };

    private static JsonObject TextChunk(string model, string text, string? finish) => new()
    {
        ["id"] = "cmpl-test", ["object"] = "text_completion", ["created"] = 1, ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["text"] = text, ["finish_reason"] = finish }),
    };

    /// <summary>
    /// <paramref name="json"/> with its first object's first member written twice (see <c>twofold</c>; UpstreamFuzzTests
    /// too). The copy runs to the first comma: a first member whose value holds one is copied in part, which breaks the
    /// JSON instead (the first members written here hold none).
    /// </summary>
    internal static string Twice(string json)
    {
        var start = json.IndexOf('{', StringComparison.Ordinal) + 1;
        var end = json.IndexOf(',', start);
        return start == 0 || end < 0 ? json : json.Insert(start, json[start..(end + 1)]);
    }

    private static string Sse(JsonObject chunk) => "data: " + chunk.ToJsonString() + "\n";

    private static async Task RaggedAsync(HttpContext http, JsonObject body, string model, bool openAi, bool chat)
    {
        string[] pieces = ["Grüße", " 中文", " bad ~"];
        var lines = pieces.Select(p => Piece(model, p, openAi, chat)).ToList();
        if (openAi)
        {
            lines.Add(Sse(chat ? Chunk(model, new JsonObject(), "stop") : TextChunk(model, "", "stop")));
            if (body["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
            {
                lines.Add(Sse(new JsonObject
                {
                    ["id"] = "chatcmpl-test", ["object"] = chat ? "chat.completion.chunk" : "text_completion", ["created"] = 1, ["model"] = model,
                    ["choices"] = new JsonArray(), ["usage"] = Usage(pieces.Length),
                }));
            }

            lines.Add("data: [DONE]\n");
        }
        else
        {
            lines.Add(new JsonObject
            {
                ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["done"] = true, ["done_reason"] = "stop",
                ["prompt_eval_count"] = PromptTokens, ["eval_count"] = pieces.Length,
                [chat ? "message" : "response"] = chat ? new JsonObject { ["role"] = "assistant", ["content"] = "" } : "",
            }.ToJsonString());
        }

        foreach (var line in lines)
        {
            // Raw UTF-8 rather than \u escapes, CRLF for LF, and '~' made a byte that is not UTF-8.
            var text = System.Text.RegularExpressions.Regex.Replace(line.TrimEnd('\n'), @"\\u([0-9a-fA-F]{4})",
                m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString()) + (openAi ? "\r\n\r\n" : "\r\n");
            var bytes = System.Text.Encoding.UTF8.GetBytes(text).Select(b => b == (byte)'~' ? (byte)0xFF : b).ToArray();
            var cut = Array.FindIndex(bytes, b => b >= 0xC0) is var at and >= 0 ? at + 1 : bytes.Length / 2;
            await http.Response.Body.WriteAsync(bytes.AsMemory(0, cut), http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
            await Task.Delay(20, http.RequestAborted);
            await http.Response.Body.WriteAsync(bytes.AsMemory(cut), http.RequestAborted);
            await http.Response.Body.FlushAsync(http.RequestAborted);
        }
    }

    private static async Task WriteLineAsync(HttpContext http, string line)
    {
        line = http.Items.ContainsKey(Twofold) ? Twice(line) : line;
        await http.Response.WriteAsync(line + "\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
