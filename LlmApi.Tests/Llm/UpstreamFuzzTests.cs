using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using LlmApi.Tests.Foundation;
using LlmApi.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LlmApi.Tests.Llm;

/// <summary>
/// Model servers answering wrongly, generated from a fixed seed: valid answers of both formats, whole and streamed,
/// with a value of another type, a member missing or named twice, text cut short, not UTF-8 or a lone surrogate, lines
/// of junk, another status or content type, nothing at all. Whatever comes back, the client gets its answer or a whole
/// error document (502 for an answer that is not one), never a 500 or a torn connection, and the gateway logs no
/// unhandled error.
/// And an answer in a charset its content type names reaches the client in UTF-8, whichever way it goes.
/// </summary>
[Collection(SharedApi.Name)]
public sealed class UpstreamFuzzTests(ApiFixture fixture) : IAsyncLifetime
{
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), out var seed) ? seed : 20261128;
    private static readonly int Calls = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_REQUESTS"), out var count) ? count : 1500;

    /// <summary>Deep enough for the deeply nested junk (the default stops at 64 levels).</summary>
    private static readonly System.Text.Json.JsonSerializerOptions Deep = new() { MaxDepth = 200 };

    private readonly Random _random = new(Seed);

    /// <summary>When set, the server answers every call rightly, in this charset, which its content type names.</summary>
    private string? _charset;
    private WebApplication? _upstream;
    private ApiFactory? _api;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _upstream = builder.Build();
        _upstream.MapGet("/api/tags", () => Results.Json(new { models = new[] { new { name = "ollama-model", model = "ollama-model" } } }));
        _upstream.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = "openai-model", @object = "model" } } }));
        _upstream.MapPost("/api/{operation}", (HttpContext http, string operation) => AnswerAsync(http, openAi: false, operation));
        _upstream.MapPost("/v1/{**operation}", (HttpContext http, string operation) => AnswerAsync(http, openAi: true, operation));
        await _upstream.StartAsync();
        var url = _upstream.Urls.First();

        _api = new ApiFactory(new Dictionary<string, string?>(fixture.Settings)
        {
            ["ConnectionStrings:llm"] = null,
            ["Llm:Upstreams:ollama:Endpoint"] = url,
            ["Llm:Upstreams:ollama:Provider"] = "Ollama",
            ["Llm:Upstreams:openai:Endpoint"] = url + "/v1",
            ["Llm:Upstreams:openai:Provider"] = "OpenAI",
            // Bad answers count as failures; the breaker would soon take both servers out and the calls would stop
            // reaching them. It cannot open here (a thousand failures within one second).
            ["Llm:Health:FailureRatio"] = "1.0",
            ["Llm:Health:MinimumThroughput"] = "1000",
            ["Llm:Health:SamplingDuration"] = "00:00:01",
        });
        _api.StartServer();
    }

    public async Task DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        if (_upstream is not null)
        {
            await _upstream.DisposeAsync();
        }
    }

    [Fact]
    public async Task Malformed_upstream_answers_never_get_a_500_a_torn_connection_or_an_unhandled_error()
    {
        using var client = _api!.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, key) = await client.CreateKeyAsync(admin.Token);

        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();
        for (var i = 0; i < Calls; i++)
        {
            var (path, body) = ClientCall();
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _random.Next(2) == 0 ? key : admin.Token);
            try
            {
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                statuses[(int)response.StatusCode] = statuses.GetValueOrDefault((int)response.StatusCode) + 1;
                if (await FuzzTests.ProblemWithAsync(response, path, "POST", upstreamFailures: true) is { } problem)
                {
                    failures.Add($"#{i} {path} {body.ToJsonString()}: {problem}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                failures.Add($"#{i} {path} {body.ToJsonString()}: the connection broke ({e.GetType().Name}: {e.Message})");
            }
        }

        // The calls reached the servers and came back every way: answered, refused as invalid (502), busy (503), and
        // the servers' own refusals passed on.
        var seen = string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key} x{p.Value}"));
        Assert.True(statuses.GetValueOrDefault(200) > Calls / 4 && statuses.GetValueOrDefault(502) > Calls / 20 && statuses.GetValueOrDefault(503) > 0
            && statuses.Keys.Any(s => s is >= 400 and < 500), "Statuses: " + seen);

        var errors = _api.Logs.Lines.Where(l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal)).ToList();
        Assert.True(failures.Count == 0 && errors.Count == 0, $"{failures.Count} of {Calls} calls failed (seed {Seed}):\n" + string.Join('\n', failures.Take(20))
            + $"\n{errors.Count} errors logged:\n" + string.Join('\n', errors.Take(5)));
    }

    private const string CharsetText = "Grüße 中文";

    [Theory]
    [InlineData("utf-16")]
    [InlineData("utf-8")] // with a byte order mark
    public async Task An_answer_is_read_in_the_charset_it_names(string charset)
    {
        _charset = charset;
        using var client = _api!.CreateClient();
        var admin = await client.RegisterAsync();
        foreach (var (path, model) in new[] { ("/v1/chat/completions", "openai-model"), ("/v1/chat/completions", "ollama-model"), ("/api/chat", "openai-model"), ("/api/chat", "ollama-model") })
        {
            // The first passes through (its bytes are transcoded on the way), the others are translated or annotated.
            using var response = await client.SendAsync(HttpMethod.Post, path, admin.Token,
                new { model, messages = new[] { new { role = "user", content = "hi" } }, stream = false });
            var bytes = await response.Content.ReadAsByteArrayAsync();
            var text = Encoding.UTF8.GetString(bytes);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} {model}: {(int)response.StatusCode} {text}");
            Assert.Contains(CharsetText, text, StringComparison.Ordinal);
            Assert.False(bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble), "The answer starts with a byte order mark.");
            Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        }
    }

    /// <summary>A client's call, to either server's model, in any of the gateway's request formats, whole or streamed.</summary>
    private (string Path, JsonObject Body) ClientCall()
    {
        var model = _random.Next(2) == 0 ? "ollama-model" : "openai-model";
        var stream = _random.Next(2) == 0;
        JsonArray Messages() => [new JsonObject { ["role"] = "user", ["content"] = "hi" }];
        JsonArray Tools() => [new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "lookup", ["parameters"] = new JsonObject { ["type"] = "object" } },
        }];
        JsonObject WithTools(JsonObject body)
        {
            if (_random.Next(3) == 0)
            {
                body["tools"] = Tools();
            }

            return body;
        }

        return _random.Next(7) switch
        {
            0 => ("/v1/chat/completions", WithTools(new JsonObject { ["model"] = model, ["messages"] = Messages(), ["stream"] = stream })),
            1 => ("/v1/completions", new JsonObject { ["model"] = model, ["prompt"] = "hi", ["stream"] = stream }),
            2 => ("/v1/embeddings", new JsonObject { ["model"] = model, ["input"] = "hi" }),
            3 => ("/api/chat", WithTools(new JsonObject { ["model"] = model, ["messages"] = Messages(), ["stream"] = stream })),
            4 => ("/api/generate", new JsonObject { ["model"] = model, ["prompt"] = "hi", ["stream"] = stream }),
            5 => ("/api/embed", new JsonObject { ["model"] = model, ["input"] = "hi" }),
            _ => ("/api/embeddings", new JsonObject { ["model"] = model, ["prompt"] = "hi" }),
        };
    }

    /// <summary>The answer a model server of that format would give, then, most of the time, made wrong in one way.</summary>
    private async Task AnswerAsync(HttpContext http, bool openAi, string operation)
    {
        var request = JsonNode.Parse(await new StreamReader(http.Request.Body).ReadToEndAsync()) as JsonObject ?? [];
        var stream = request["stream"]?.GetValue<bool>() ?? (!openAi && operation is "chat" or "generate");
        var model = request["model"]?.GetValue<string>() ?? "?";
        if (_charset is not null)
        {
            // UTF-16 as .NET writes it (little-endian, no mark); UTF-8 with the byte order mark some servers send.
            var encoding = _charset == "utf-8" ? new UTF8Encoding(encoderShouldEmitUTF8Identifier: true) : Encoding.GetEncoding(_charset);
            http.Response.ContentType = "application/json; charset=" + _charset;
            await http.Response.Body.WriteAsync(_charset == "utf-8" ? encoding.GetPreamble() : []);
            await http.Response.Body.WriteAsync(encoding.GetBytes(WholeAnswer(openAi, operation, model).ToJsonString(Deep).Replace("Hello", CharsetText, StringComparison.Ordinal)));
            return;
        }

        JsonNode[] pieces;
        List<byte[]> parts;
        lock (_random)
        {
            pieces = stream ? StreamPieces(openAi, operation, model) : [WholeAnswer(openAi, operation, model)];
            var mutation = _random.Next(12);
            if (mutation < 9)
            {
                var target = pieces[_random.Next(pieces.Length)];
                Mutate(target);
            }

            var lines = pieces.Select(p => Encoding.UTF8.GetBytes((openAi && stream ? "data: " : string.Empty) + p.ToJsonString(Deep))).ToList();
            if (openAi && stream)
            {
                lines.Add("data: [DONE]"u8.ToArray());
            }

            parts = Damage(lines, out var status, out var contentType);
            http.Response.StatusCode = status;
            if (contentType is not null)
            {
                http.Response.ContentType = contentType;
            }
        }

        foreach (var part in parts)
        {
            await http.Response.Body.WriteAsync(part);
            await http.Response.Body.FlushAsync();
        }
    }

    private static JsonObject WholeAnswer(bool openAi, string operation, string model) => (openAi, operation) switch
    {
        (true, "chat/completions") => new JsonObject
        {
            ["id"] = "chatcmpl-1", ["object"] = "chat.completion", ["created"] = 1, ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0, ["finish_reason"] = "tool_calls",
                ["message"] = new JsonObject
                {
                    ["role"] = "assistant", ["content"] = "Hello",
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["id"] = "call_1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "lookup", ["arguments"] = "{\"q\":1}" },
                    }),
                },
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 3, ["completion_tokens"] = 2, ["total_tokens"] = 5 },
        },
        (true, "completions") => new JsonObject
        {
            ["id"] = "cmpl-1", ["object"] = "text_completion", ["created"] = 1, ["model"] = model,
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["text"] = "Hello", ["finish_reason"] = "stop" }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 3, ["completion_tokens"] = 2, ["total_tokens"] = 5 },
        },
        (true, _) => new JsonObject
        {
            ["object"] = "list", ["model"] = model,
            ["data"] = new JsonArray(new JsonObject { ["object"] = "embedding", ["index"] = 0, ["embedding"] = new JsonArray(0.5, -0.25) }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 2, ["total_tokens"] = 2 },
        },
        (false, "chat") => new JsonObject
        {
            ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["done"] = true, ["done_reason"] = "stop",
            ["message"] = new JsonObject
            {
                ["role"] = "assistant", ["content"] = "Hello", ["thinking"] = "hmm",
                ["tool_calls"] = new JsonArray(new JsonObject { ["function"] = new JsonObject { ["name"] = "lookup", ["arguments"] = new JsonObject { ["q"] = 1 } } }),
            },
            ["prompt_eval_count"] = 3, ["eval_count"] = 2,
        },
        (false, "generate") => new JsonObject
        {
            ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["response"] = "Hello", ["done"] = true, ["done_reason"] = "stop",
            ["prompt_eval_count"] = 3, ["eval_count"] = 2,
        },
        _ => new JsonObject { ["model"] = model, ["embeddings"] = new JsonArray(new JsonArray(0.5, -0.25)), ["prompt_eval_count"] = 2 },
    };

    private static JsonNode[] StreamPieces(bool openAi, string operation, string model)
    {
        if (openAi)
        {
            var chat = operation == "chat/completions";
            JsonObject Chunk(JsonObject? delta, string? text, string? finish) => new()
            {
                ["id"] = "chatcmpl-1", ["object"] = chat ? "chat.completion.chunk" : "text_completion", ["created"] = 1, ["model"] = model,
                ["choices"] = new JsonArray(chat
                    ? new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }
                    : new JsonObject { ["index"] = 0, ["text"] = text, ["finish_reason"] = finish }),
            };
            return
            [
                Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "Hel" }, "Hel", null),
                Chunk(new JsonObject { ["reasoning_content"] = "hmm" }, "lo", null),
                Chunk(new JsonObject
                {
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["index"] = 0, ["id"] = "call_1", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "lookup", ["arguments"] = "{\"q\":" },
                    }),
                }, "!", null),
                Chunk(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = 0, ["function"] = new JsonObject { ["arguments"] = "1}" } }) }, "", null),
                Chunk(new JsonObject(), "", "stop"),
                new JsonObject
                {
                    ["id"] = "chatcmpl-1", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = model, ["choices"] = new JsonArray(),
                    ["usage"] = new JsonObject { ["prompt_tokens"] = 3, ["completion_tokens"] = 2, ["total_tokens"] = 5 },
                },
            ];
        }

        var isChat = operation == "chat";
        JsonObject Piece(string text, bool done) => isChat
            ? new JsonObject { ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text }, ["done"] = done }
            : new JsonObject { ["model"] = model, ["created_at"] = "2026-01-01T00:00:00Z", ["response"] = text, ["done"] = done };
        var final = Piece("", done: true);
        final["done_reason"] = "stop";
        final["prompt_eval_count"] = 3;
        final["eval_count"] = 2;
        var tools = Piece("", done: false);
        if (isChat)
        {
            tools["message"]!["tool_calls"] = new JsonArray(new JsonObject { ["function"] = new JsonObject { ["name"] = "lookup", ["arguments"] = new JsonObject { ["q"] = 1 } } });
        }

        return [Piece("Hel", done: false), Piece("lo", done: false), tools, final];
    }

    /// <summary>One node somewhere in <paramref name="root"/> replaced by a value of another kind, or removed.</summary>
    private void Mutate(JsonNode root)
    {
        var nodes = new List<JsonNode>();
        void Walk(JsonNode? node)
        {
            if (node is null)
            {
                return;
            }

            nodes.Add(node);
            foreach (var child in node switch { JsonObject o => o.Select(p => p.Value), JsonArray a => a, _ => [] })
            {
                Walk(child);
            }
        }

        Walk(root);
        var target = nodes[_random.Next(nodes.Count)];
        if (target.Parent is null)
        {
            return;
        }

        var replacement = Junk();
        switch (target.Parent)
        {
            case JsonObject parent:
                var name = target.GetPropertyName();
                if (_random.Next(4) == 0)
                {
                    parent.Remove(name);
                }
                else
                {
                    parent[name] = replacement;
                }

                break;
            case JsonArray array:
                array[target.GetElementIndex()] = replacement;
                break;
        }
    }

    private JsonNode? Junk() => _random.Next(12) switch
    {
        0 => null,
        1 => "text",
        2 => string.Empty,
        3 => -1,
        4 => JsonNode.Parse("1e400"),
        5 => JsonNode.Parse("12345678901234567890123"),
        6 => 2.5,
        7 => true,
        8 => new JsonArray(1, "x", null),
        9 => new JsonObject { ["x"] = new JsonArray() },
        10 => JsonNode.Parse(new string('[', 100) + new string(']', 100), documentOptions: new() { MaxDepth = 200 }),
        _ => new JsonObject(),
    };

    /// <summary>The answer's bytes in parts as sent, most of the time as they are, else damaged in one way.</summary>
    private List<byte[]> Damage(List<byte[]> lines, out int status, out string? contentType)
    {
        status = 200;
        contentType = "application/json";
        var newline = "\n"u8.ToArray();
        List<byte[]> Joined() => [.. lines.SelectMany(l => new[] { l, newline })];
        switch (_random.Next(14))
        {
            case 0: // a member named twice
                var at = _random.Next(lines.Count);
                lines[at] = Encoding.UTF8.GetBytes(FakeUpstream.Twice(Encoding.UTF8.GetString(lines[at])));
                return Joined();
            case 1: // cut short
                var all = Joined().SelectMany(b => b).ToArray();
                return [all[..(_random.Next(all.Length))]];
            case 2: // bytes that are not UTF-8 inside a string
                var line = _random.Next(lines.Count);
                var quote = Array.LastIndexOf(lines[line], (byte)'"');
                lines[line] = quote <= 0 ? lines[line] : [.. lines[line][..quote], 0xC3, 0x28, 0xFF, .. lines[line][quote..]];
                return Joined();
            case 3: // another status, with an error body of either format or none
                status = new[] { 400, 401, 404, 413, 422, 429, 500, 503 }[_random.Next(8)];
                return _random.Next(3) switch
                {
                    0 => [Encoding.UTF8.GetBytes("{\"error\":{\"message\":\"no\",\"message\":\"twice\"}}")],
                    1 => [Encoding.UTF8.GetBytes("{\"error\":" + (Junk()?.ToJsonString() ?? "null") + "}")],
                    _ => [],
                };
            case 4: // another content type
                contentType = new[] { "text/html", "application/json; charset=utf-16", "application/json; charset=bogus", "text/event-stream", null }[_random.Next(5)];
                return Joined();
            case 5: // nothing at all
                return [];
            case 6: // a line of junk, a blank line, a comment or a bare field among the lines
                lines.Insert(_random.Next(lines.Count + 1), Encoding.UTF8.GetBytes(new[] { "junk", "", ": keep-alive", "data:", "data: {}", "{}", "[]", "null", "data: null" }[_random.Next(9)]));
                return Joined();
            case 7: // every line in pieces, split anywhere
                var bytes = Joined().SelectMany(b => b).ToArray();
                var parts = new List<byte[]>();
                for (var start = 0; start < bytes.Length;)
                {
                    var length = Math.Min(bytes.Length - start, _random.Next(1, 8));
                    parts.Add(bytes[start..(start + length)]);
                    start += length;
                }

                return parts;
            case 8: // the last line without its newline, or the end of the stream missing
                return _random.Next(2) == 0 ? [.. Joined().SkipLast(1)] : [.. lines.SkipLast(1).SelectMany(l => new[] { l, newline })];
            case 9: // a string holding an escaped lone surrogate: valid JSON, yet no text (reading it as a string throws)
                var inLine = _random.Next(lines.Count);
                var lastQuote = Array.LastIndexOf(lines[inLine], (byte)'"');
                lines[inLine] = lastQuote <= 0 ? lines[inLine] : [.. lines[inLine][..lastQuote], .. "\\ud800"u8, .. lines[inLine][lastQuote..]];
                return Joined();
            default:
                return Joined();
        }
    }
}
