using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// A small real HTTP server on loopback speaking the upstream wire formats: Ollama (<c>/api/chat</c>,
/// <c>/api/tags</c>) and OpenAI (<c>/v1/chat/completions</c>, <c>/v1/models</c>), streaming included. The model name
/// chooses the behaviour: any name answers "Hello from the model" in five chunks (prompt 10 tokens, one token per
/// chunk, fewer when max tokens say so); <c>gated</c> streams one chunk and then waits for <see cref="ReleaseGate"/>;
/// <c>endless</c> streams a chunk every 50 ms for 10 s, like a long generation, and records in
/// <see cref="StreamAborted"/> when its client (the gateway) hangs up; <c>broken</c> fails with 500; <c>missing</c> is
/// an unknown model (404); <c>garbage</c> answers 200 with HTML; <c>slow</c> waits 5 s before answering.
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    public const int PromptTokens = 10;
    public static readonly string[] Pieces = ["Hello", " from", " the", " model", "!"];

    private readonly WebApplication _app;
    private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private FakeUpstream(WebApplication app) => _app = app;

    public string Url { get; private set; } = string.Empty;

    /// <summary>Every request body received, with its path, in order.</summary>
    public ConcurrentQueue<(string Path, JsonObject Body)> Requests { get; } = new();

    /// <summary>Completed when an endless stream could no longer be written: its client (the gateway) hung up.</summary>
    public TaskCompletionSource StreamAborted { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseGate() => _gate.TrySetResult();

    public void ResetGate()
    {
        _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        StreamAborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public string ConnectionString(string provider) => $"Endpoint={Url};Provider={provider}";

    public static async Task<FakeUpstream> StartAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeUpstream(app);
        app.MapGet("/api/tags", () => Results.Json(new JsonObject
        {
            ["models"] = new JsonArray(new JsonObject { ["name"] = "llama3", ["model"] = "llama3" }, new JsonObject { ["name"] = "mistral", ["model"] = "mistral" }),
        }));
        app.MapGet("/v1/models", () => Results.Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(
                new JsonObject { ["id"] = "llama3", ["object"] = "model", ["created"] = 1, ["owned_by"] = "test" },
                new JsonObject { ["id"] = "mistral", ["object"] = "model", ["created"] = 1, ["owned_by"] = "test" }),
        }));
        app.MapPost("/api/chat", (HttpContext http) => fake.ChatAsync(http, openAi: false));
        app.MapPost("/v1/chat/completions", (HttpContext http) => fake.ChatAsync(http, openAi: true));
        await app.StartAsync();
        fake.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return fake;
    }

    private async Task ChatAsync(HttpContext http, bool openAi)
    {
        // Read to the end of the body: Kestrel notices a client hanging up only once the request is fully read.
        var body = JsonNode.Parse(await new StreamReader(http.Request.Body).ReadToEndAsync())!.AsObject();
        Requests.Enqueue((http.Request.Path, body));
        var model = body["model"]!.GetValue<string>();
        var stream = body["stream"]?.GetValue<bool>() == true;
        var maxTokens = (openAi ? body["max_tokens"] ?? body["max_completion_tokens"] : body["options"]?["num_predict"])?.GetValue<int>() ?? int.MaxValue;
        var pieces = Pieces.Take(Math.Min(Pieces.Length, maxTokens)).ToArray();

        switch (model)
        {
            case "broken":
                http.Response.StatusCode = 500;
                return;
            case "missing":
                http.Response.StatusCode = 404;
                await http.Response.WriteAsJsonAsync(openAi
                    ? new JsonObject { ["error"] = new JsonObject { ["message"] = "The model 'missing' does not exist" } }
                    : new JsonObject { ["error"] = "model 'missing' not found" });
                return;
            case "garbage":
                await http.Response.WriteAsync("<html>not a model server</html>");
                return;
            case "slow":
                await Task.Delay(TimeSpan.FromSeconds(5), http.RequestAborted);
                break;
        }

        if (!stream)
        {
            var text = string.Concat(pieces);
            await http.Response.WriteAsJsonAsync(openAi
                ? new JsonObject
                {
                    ["id"] = "chatcmpl-test", ["object"] = "chat.completion", ["created"] = 1, ["model"] = model,
                    ["choices"] = new JsonArray(new JsonObject
                    {
                        ["index"] = 0, ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text }, ["finish_reason"] = "stop",
                    }),
                    ["usage"] = new JsonObject { ["prompt_tokens"] = PromptTokens, ["completion_tokens"] = pieces.Length, ["total_tokens"] = PromptTokens + pieces.Length },
                }
                : new JsonObject
                {
                    ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z",
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text },
                    ["done"] = true, ["done_reason"] = "stop", ["prompt_eval_count"] = PromptTokens, ["eval_count"] = pieces.Length,
                });
            return;
        }

        http.Response.ContentType = openAi ? "text/event-stream" : "application/x-ndjson";
        if (model == "endless")
        {
            // A write to a connection its client closed fails: that is how a server learns its caller left.
            try
            {
                for (var i = 0; i < 200; i++)
                {
                    await WriteChunkAsync(http, openAi, model, " more");
                    await Task.Delay(50, http.RequestAborted);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                StreamAborted.TrySetResult();
            }

            return;
        }

        for (var i = 0; i < pieces.Length; i++)
        {
            await WriteChunkAsync(http, openAi, model, pieces[i]);
            if (model == "gated" && i == 0)
            {
                await _gate.Task.WaitAsync(http.RequestAborted);
            }
        }

        if (openAi)
        {
            await WriteLineAsync(http, "data: " + new JsonObject
            {
                ["id"] = "chatcmpl-test", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject(), ["finish_reason"] = "stop" }),
            }.ToJsonString() + "\n");
            await WriteLineAsync(http, "data: " + new JsonObject
            {
                ["id"] = "chatcmpl-test", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = model, ["choices"] = new JsonArray(),
                ["usage"] = new JsonObject { ["prompt_tokens"] = PromptTokens, ["completion_tokens"] = pieces.Length, ["total_tokens"] = PromptTokens + pieces.Length },
            }.ToJsonString() + "\n");
            await WriteLineAsync(http, "data: [DONE]\n");
        }
        else
        {
            await WriteLineAsync(http, new JsonObject
            {
                ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = "" },
                ["done"] = true, ["done_reason"] = "stop", ["prompt_eval_count"] = PromptTokens, ["eval_count"] = pieces.Length,
            }.ToJsonString());
        }
    }

    private static Task WriteChunkAsync(HttpContext http, bool openAi, string model, string piece) => WriteLineAsync(http, openAi
        ? "data: " + new JsonObject
        {
            ["id"] = "chatcmpl-test", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["content"] = piece }, ["finish_reason"] = null }),
        }.ToJsonString() + "\n"
        : new JsonObject
        {
            ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = piece }, ["done"] = false,
        }.ToJsonString());

    private static async Task WriteLineAsync(HttpContext http, string line)
    {
        await http.Response.WriteAsync(line + "\n", http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseGate();
        await _app.DisposeAsync();
    }
}
