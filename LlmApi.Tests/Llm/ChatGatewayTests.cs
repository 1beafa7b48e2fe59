using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

[Collection(SharedApi.Name)]
public class ChatGatewayTests(ApiFixture fixture)
{
    [Fact]
    public async Task Ollama_format_chat_returns_the_upstreams_answer_with_the_callers_tenant_and_user()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        using var response = await client.SendAsync(LlmCalls.OllamaChat(account.Token, account.TenantId));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Hello from the model!", body.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(FakeUpstream.PromptTokens, body.GetProperty("prompt_eval_count").GetInt32());
        Assert.Equal(account.TenantId, body.GetProperty("tenant_id").GetGuid());
        Assert.Equal(account.UserId, body.GetProperty("user_id").GetGuid());
    }

    [Fact]
    public async Task Ollama_format_streams_ndjson_chunk_by_chunk_when_asked()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        using var response = await client.SendStreamingAsync(LlmCalls.OllamaChat(account.Token, account.TenantId, stream: true));

        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(FakeUpstream.Pieces.Length + 1, lines.Count);
        Assert.Equal(string.Concat(FakeUpstream.Pieces), string.Concat(lines.Select(l => l.GetProperty("message").GetProperty("content").GetString())));
        Assert.True(lines[^1].GetProperty("done").GetBoolean());
        Assert.Equal(account.TenantId, lines[^1].GetProperty("tenant_id").GetGuid());
    }

    // Streams cross as bytes: a line may arrive in pieces (split inside a character), end in CRLF, or carry a byte that
    // is not UTF-8 (it reaches the client as U+FFFD), in every pairing of formats.
    [Theory]
    [InlineData("/api/chat", false)]
    [InlineData("/api/chat", true)]
    [InlineData("/v1/chat/completions", false)]
    [InlineData("/v1/chat/completions", true)]
    public async Task Streams_arriving_in_ragged_pieces_reach_the_client_whole(string path, bool openAiUpstream)
    {
        using var client = openAiUpstream ? fixture.CreateOpenAiBackedClient() : fixture.CreateClient();
        var account = await client.RegisterAsync();

        using var request = ApiCalls.Request(HttpMethod.Post, path, account.Token,
            new { model = "ragged", messages = LlmCalls.Messages(), stream = true, stream_options = path.StartsWith("/v1", StringComparison.Ordinal) ? new { include_usage = true } : null });
        using var response = await client.SendStreamingAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(System.Text.Unicode.Utf8.IsValid(bytes), "the client received bytes that are not UTF-8");
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        string content;
        if (path.StartsWith("/v1", StringComparison.Ordinal))
        {
            var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e["data: ".Length..]).ToList();
            Assert.Equal("[DONE]", events[^1]);
            var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
            content = string.Concat(chunks.Select(c => c.GetProperty("choices") is { } choices && choices.GetArrayLength() > 0
                && choices[0].GetProperty("delta").TryGetProperty("content", out var piece) ? piece.GetString() : null));
            Assert.Equal(FakeUpstream.PromptTokens + 3, chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());
        }
        else
        {
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.True(lines[^1].GetProperty("done").GetBoolean());
            content = string.Concat(lines.Select(l => l.GetProperty("message").GetProperty("content").GetString()));
        }

        Assert.Equal(FakeUpstream.RaggedText, content);
        using var usage = await client.SendAsync(HttpMethod.Get, "/api/usage?groupBy=model", account.Token);
        var total = (await usage.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("total");
        Assert.Equal(3, total.GetProperty("completionTokens").GetInt64()); // the upstream's count: the stream ended as it should
    }

    [Fact]
    public async Task OpenAi_chat_is_translated_to_ollama_and_back()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        using var response = await client.SendAsync(LlmCalls.OpenAiChat(account.Token, maxTokens: 3));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.Equal("Hello from the", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(FakeUpstream.PromptTokens, body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var sent = fixture.Upstream.Requests.Last(r => r.Path == "/api/chat").Body;
        Assert.Equal(3, sent["options"]!["num_predict"]!.GetValue<int>());
    }

    [Fact]
    public async Task OpenAi_streams_server_sent_events_with_the_final_usage()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        using var request = ApiCalls.Request(HttpMethod.Post, "/v1/chat/completions", account.Token,
            new { model = "llama3", messages = LlmCalls.Messages(), stream = true, stream_options = new { include_usage = true } });
        using var response = await client.SendStreamingAsync(request);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e["data: ".Length..]).ToList();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var usage = chunks[^1].GetProperty("usage");
        Assert.Equal(FakeUpstream.PromptTokens + FakeUpstream.Pieces.Length, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task A_stream_without_include_usage_ends_without_a_usage_chunk_and_is_still_metered()
    {
        using var client = fixture.CreateClient();
        using var openAiBacked = fixture.CreateOpenAiBackedClient();
        var account = await client.RegisterAsync();

        foreach (var (api, model) in new[] { (client, "llama3"), (openAiBacked, "mistral") })
        {
            using var response = await api.SendStreamingAsync(LlmCalls.OpenAiChat(account.Token, model: model, stream: true));
            var sse = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("\"usage\"", sse, StringComparison.Ordinal);
            Assert.EndsWith("data: [DONE]\n\n", sse, StringComparison.Ordinal);
        }

        // The OpenAI-format upstream was still asked for usage, and both calls were counted.
        Assert.True(fixture.OpenAiUpstream.Requests.Last().Body["stream_options"]!["include_usage"]!.GetValue<bool>());
        using var usage = await client.SendAsync(HttpMethod.Get, "/api/usage?groupBy=model", account.Token);
        var total = (await usage.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("total");
        Assert.Equal(2, total.GetProperty("requests").GetInt64());
        Assert.Equal(2 * FakeUpstream.Pieces.Length, total.GetProperty("completionTokens").GetInt64());
    }

    [Fact]
    public async Task An_openai_upstreams_whole_answer_passes_through_unchanged_checked_and_metered()
    {
        using var client = fixture.CreateOpenAiBackedClient();
        var account = await client.RegisterAsync();

        using var response = await client.SendAsync(LlmCalls.OpenAiChat(account.Token, model: "mistral"));
        var answer = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(string.Concat(FakeUpstream.Pieces), answer.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(FakeUpstream.Pieces.Length, answer.GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        // Not an answer at all, JSON without one, or an answer broken off before its declared length: 502, and nothing
        // is counted for them.
        using var garbage = await client.SendAsync(LlmCalls.OpenAiChat(account.Token, model: "garbage"));
        await garbage.AssertOpenAiErrorAsync(HttpStatusCode.BadGateway, "upstream_invalid_response");
        using var hollow = await client.SendAsync(LlmCalls.OpenAiChat(account.Token, model: "hollow"));
        await hollow.AssertOpenAiErrorAsync(HttpStatusCode.BadGateway, "upstream_invalid_response");
        using var cutoff = await client.SendAsync(LlmCalls.OpenAiChat(account.Token, model: "cutoff"));
        await cutoff.AssertOpenAiErrorAsync(HttpStatusCode.BadGateway, "upstream_error");

        using var usage = await client.SendAsync(HttpMethod.Get, "/api/usage?groupBy=model", account.Token);
        var total = (await usage.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("total");
        Assert.Equal(1, total.GetProperty("requests").GetInt64());
        Assert.Equal(FakeUpstream.Pieces.Length, total.GetProperty("completionTokens").GetInt64());
    }

    [Fact]
    public async Task With_an_openai_upstream_both_formats_work()
    {
        using var client = fixture.CreateOpenAiBackedClient();
        var account = await client.RegisterAsync();

        using var openAi = await client.SendStreamingAsync(ApiCalls.Request(HttpMethod.Post, "/v1/chat/completions", account.Token,
            new { model = "mistral", messages = LlmCalls.Messages(), stream = true, stream_options = new { include_usage = true } }));
        var sse = await openAi.Content.ReadAsStringAsync();
        Assert.Contains("\"usage\"", sse, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", sse, StringComparison.Ordinal);

        using var ollama = await client.SendStreamingAsync(LlmCalls.OllamaChat(account.Token, account.TenantId, model: "mistral", stream: true));
        var lines = (await ollama.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(string.Concat(FakeUpstream.Pieces), string.Concat(lines.Select(l => l.GetProperty("message").GetProperty("content").GetString())));
        Assert.Equal(FakeUpstream.Pieces.Length, lines[^1].GetProperty("eval_count").GetInt32());

        using var models = await client.SendAsync(HttpMethod.Get, "/v1/models", account.Token);
        var ids = (await models.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString());
        Assert.Equal(fixture.OpenAiUpstream.Models.Order(StringComparer.Ordinal), ids);
    }

    [Fact]
    public async Task The_first_streamed_chunk_reaches_the_client_before_the_upstream_finishes()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        fixture.Upstream.ResetGate();

        using var response = await client.SendStreamingAsync(LlmCalls.OpenAiChat(account.Token, model: "gated", stream: true));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var first = await reader.ReadLineAsync(timeout.Token);

        Assert.Contains("Hello", first, StringComparison.Ordinal); // while the upstream still holds the rest
        fixture.Upstream.ReleaseGate();
        var rest = await reader.ReadToEndAsync(timeout.Token);
        Assert.EndsWith("data: [DONE]\n\n", rest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_answers_its_status_before_the_upstreams_first_piece()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        fixture.Upstream.ResetGate();

        // The model server has answered its headers and holds the first piece (a long prompt): the client has its status
        // now, so no client or proxy waiting for headers gives up on a call that is under way.
        using var response = await client.SendStreamingAsync(LlmCalls.OpenAiChat(account.Token, model: "late", stream: true))
            .WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        fixture.Upstream.ReleaseGate();
        var body = await response.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("data: {", body, StringComparison.Ordinal);
        Assert.Contains("Hello", body, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_streams_end_reaches_the_client_only_once_its_call_is_settled()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var admin = await client.RegisterAsync();
        fixture.Upstream.ResetGate();

        using var response = await client.SendStreamingAsync(LlmCalls.OpenAiChat(admin.Token, model: "late", stream: true))
            .WaitAsync(TimeSpan.FromSeconds(5));
        // Admitted, and the model server on the prompt: for the next second Redis holds every write, settlement included
        // (the other replica's reads go on).
        foreach (var server in fixture.Redis.Connection.GetServers().Where(s => !s.IsReplica))
        {
            await server.ExecuteAsync("CLIENT", "PAUSE", "1000", "WRITE");
        }

        fixture.Upstream.ReleaseGate();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)) is var line && line != "data: [DONE]")
        {
            Assert.NotNull(line);
        }

        // The moment the client has the end, another replica finds the call over: no longer in flight, nothing reserved.
        using var usage = await replica.SendAsync(HttpMethod.Get, "/api/usage/current", admin.Token);
        var now = await usage.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, now.GetProperty("inFlight").GetInt64());
        Assert.Equal(0, now.GetProperty("month").GetProperty("reservedTokens").GetInt64());
        Assert.True(now.GetProperty("month").GetProperty("usedTokens").GetInt64() > 0);
    }

    [Fact]
    public async Task A_client_that_leaves_before_the_first_piece_cancels_the_upstream_call_and_frees_its_slot()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        await client.SetTenantLimitsAsync(fixture, admin.TenantId, new { concurrentRequests = 1 });
        fixture.Upstream.ResetGate();

        var response = await client.SendStreamingAsync(LlmCalls.OpenAiChat(admin.Token, model: "late", stream: true))
            .WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        response.Dispose(); // hangs up with the status in hand, the model server still on the prompt

        await fixture.Upstream.StreamAborted.Task.WaitAsync(TimeSpan.FromSeconds(5));
        // The call was settled: its one concurrent slot is free again.
        await Eventually.MatchAsync(() => client.StatusAsync(HttpMethod.Post, "/v1/chat/completions", admin.Token, new { model = "llama3", messages = LlmCalls.Messages() }),
            s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(5), "the slot is free once the call ended");
    }

    [Fact]
    public async Task A_client_that_goes_away_cancels_the_upstream_call()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        fixture.Upstream.ResetGate();

        var response = await client.SendStreamingAsync(LlmCalls.OllamaChat(account.Token, account.TenantId, model: "endless", stream: true));
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Contains("more", await reader.ReadLineAsync(), StringComparison.Ordinal);

        // The client gives up while reading: a cancelled read aborts its connection, and so does hanging up.
        using var patience = new CancellationTokenSource(TimeSpan.FromMilliseconds(120));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await reader.ReadLineAsync(patience.Token) is not null)
            {
            }
        });
        reader.Dispose();
        response.Dispose();

        // The upstream's stream breaks well before its 10 s are up: the gateway hung up on it too.
        await fixture.Upstream.StreamAborted.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task An_upstream_answer_that_names_a_member_twice_is_refused_not_guessed()
    {
        // The upstream may mean either value; the gateway meters and translates what it reads, and a client reading the
        // same bytes could read the other. Whole answers are 502 and not counted; a stream ends before any content.
        using var ollamaBacked = fixture.CreateClient();
        using var openAiBacked = fixture.CreateOpenAiBackedClient();
        var account = await ollamaBacked.RegisterAsync();
        foreach (var client in new[] { ollamaBacked, openAiBacked })
        {
            using var openAi = await client.SendAsync(LlmCalls.OpenAiChat(account.Token, model: "twofold"));
            await openAi.AssertOpenAiErrorAsync(HttpStatusCode.BadGateway, "upstream_invalid_response");
            using var ollama = await client.SendAsync(LlmCalls.OllamaChat(account.Token, account.TenantId, model: "twofold"));
            await ollama.AssertProblemAsync(HttpStatusCode.BadGateway);

            using var openAiStream = await client.SendStreamingAsync(LlmCalls.OpenAiChat(account.Token, model: "twofold", stream: true));
            var events = await openAiStream.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, openAiStream.StatusCode);
            Assert.DoesNotContain("Hello", events, StringComparison.Ordinal);
            Assert.DoesNotContain("[DONE]", events, StringComparison.Ordinal);
            using var ollamaStream = await client.SendStreamingAsync(LlmCalls.OllamaChat(account.Token, account.TenantId, model: "twofold", stream: true));
            var lines = await ollamaStream.Content.ReadAsStringAsync();
            Assert.DoesNotContain("Hello", lines, StringComparison.Ordinal);
            Assert.DoesNotContain("\"done\":true", lines, StringComparison.Ordinal);
        }

        // The model's details come from its Ollama server as they are, so they are checked too.
        using var show = await ollamaBacked.SendAsync(HttpMethod.Post, "/api/show", account.Token, new { model = "twofold" });
        await show.AssertProblemAsync(HttpStatusCode.BadGateway);

        using var usage = await ollamaBacked.SendAsync(HttpMethod.Get, "/api/usage", account.Token);
        var total = (await usage.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("total");
        Assert.Equal(0, total.GetProperty("completionTokens").GetInt64());
    }

    [Fact]
    public async Task The_tenant_header_must_name_the_callers_own_tenant()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        var other = await client.RegisterAsync();

        using var wrong = await client.SendAsync(LlmCalls.OllamaChat(account.Token, other.TenantId));
        await wrong.AssertProblemAsync(HttpStatusCode.Forbidden);
        using var missing = await client.SendAsync(HttpMethod.Get, "/api/llm/models", account.Token);
        await missing.AssertProblemAsync(HttpStatusCode.Forbidden);
        using var noToken = await client.PostAsJsonAsync("/v1/chat/completions", new { model = "llama3", messages = LlmCalls.Messages() });
        await noToken.AssertOpenAiErrorAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
    }

    [Fact]
    public async Task Upstream_failures_become_502_unknown_models_404_and_bad_requests_400()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        using var broken = await client.SendAsync(LlmCalls.OpenAiChat(account.Token, model: "broken"));
        await broken.AssertOpenAiErrorAsync(HttpStatusCode.BadGateway, "upstream_error");
        using var missing = await client.SendAsync(LlmCalls.OllamaChat(account.Token, account.TenantId, model: "missing"));
        var problem = await missing.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("missing", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        using var garbage = await client.SendAsync(LlmCalls.OpenAiChat(account.Token, model: "garbage"));
        await garbage.AssertOpenAiErrorAsync(HttpStatusCode.BadGateway, "upstream_invalid_response");
        using var invalid = await client.SendAsync(HttpMethod.Post, "/v1/chat/completions", account.Token, new { model = "llama3" });
        var error = await invalid.AssertOpenAiErrorAsync(HttpStatusCode.BadRequest);
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task An_unreachable_upstream_is_reported_down_and_a_slow_one_is_504()
    {
        var unreachable = new Dictionary<string, string?>(fixture.Settings)
        {
            ["ConnectionStrings:llm"] = "Endpoint=http://127.0.0.1:9;Provider=Ollama",
            ["Llm:Health:ProbeInterval"] = "00:00:01",
        };
        await using (var api = new ApiFactory(unreachable))
        {
            api.StartServer();
            using var client = api.CreateClient();
            var account = await client.RegisterAsync();

            // Nothing answers there, so its model list was never read: it serves no model yet.
            using var response = await client.SendAsync(LlmCalls.OpenAiChat(account.Token));
            await response.AssertOpenAiErrorAsync(HttpStatusCode.NotFound, "model_not_found");
            await Eventually.MatchAsync(async () => (await client.GetAsync("/api/llm/health")).StatusCode, s => s == HttpStatusCode.ServiceUnavailable,
                TimeSpan.FromSeconds(10), "the failed probe takes the upstream out");
            using var health = await client.GetAsync("/api/llm/health");
            var problem = await health.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Down", problem.GetProperty("upstreams")[0].GetProperty("state").GetString());
            using var models = await client.SendAsync(HttpMethod.Get, "/v1/models", account.Token);
            Assert.Equal(0, (await models.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").GetArrayLength());
        }

        var slow = new Dictionary<string, string?>(fixture.Settings) { ["Llm:Timeout"] = "00:00:01" };
        await using (var api = new ApiFactory(slow))
        {
            api.StartServer();
            using var client = api.CreateClient();
            var account = await client.RegisterAsync();
            using var response = await client.SendAsync(LlmCalls.OpenAiChat(account.Token, model: "slow"));
            await response.AssertOpenAiErrorAsync(HttpStatusCode.GatewayTimeout, "upstream_timeout");
        }
    }

    [Fact]
    public async Task A_model_server_past_its_attempt_timeout_is_504_however_many_serve_the_model()
    {
        // One upstream: the retry finds no other to try. The call still ends as the attempt did, timed out, where it used
        // to be reported as every upstream having failed (502), which only a route of more upstreams than attempts escaped.
        var slow = new Dictionary<string, string?>(fixture.Settings) { ["Llm:AttemptTimeout"] = "00:00:01", ["Llm:Timeout"] = "00:00:30" };
        await using var api = new ApiFactory(slow);
        api.StartServer();
        using var client = api.CreateClient();
        var account = await client.RegisterAsync();
        using var response = await client.SendAsync(LlmCalls.OpenAiChat(account.Token, model: "slow"));
        var error = await response.AssertOpenAiErrorAsync(HttpStatusCode.GatewayTimeout, "upstream_timeout");
        Assert.Contains("'slow'", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Health_and_model_lists_reflect_the_upstream()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/llm/health")).StatusCode);
        using var request = ApiCalls.Request(HttpMethod.Get, "/api/llm/models", account.Token);
        request.Headers.Add("x-tenant-id", account.TenantId.ToString());
        using var models = await client.SendAsync(request);
        var body = await models.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(FakeUpstream.ModelNames.Length, body.GetProperty("models").GetArrayLength());
    }

    [Fact]
    public async Task Model_calls_are_measured_with_genai_metrics()
    {
        // An instance of its own: OpenTelemetry's listener sees the instruments of every host in the test process, and
        // a long-lived host's meter provider counts all it ever saw against its stream limit (disposed ones too), so
        // late instruments of the shared instances can be dropped. One host per process, as deployed, has no such issue.
        await using var api = new ApiFactory(fixture.Settings);
        api.StartServer();
        using var client = api.CreateClient();
        var account = await client.RegisterAsync();
        (await client.SendAsync(LlmCalls.OpenAiChat(account.Token))).Dispose();

        var metrics = await client.GetStringAsync("/metrics");

        Assert.Contains("gen_ai_client_token_usage", metrics, StringComparison.Ordinal);
        Assert.Contains("gen_ai_client_operation_duration", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_at_its_concurrency_cap_takes_no_more_calls_until_one_ends()
    {
        await using var upstream = await FakeUpstream.StartAsync();
        var settings = new Dictionary<string, string?>(fixture.Settings)
        {
            ["ConnectionStrings:llm"] = null,
            ["Llm:Upstreams:solo:Endpoint"] = upstream.Url,
            ["Llm:Upstreams:solo:MaxConcurrency"] = "1",
        };
        await using var api = new ApiFactory(settings);
        api.StartServer();
        using var client = api.CreateClient();
        var account = await client.RegisterAsync();

        using var held = await client.SendStreamingAsync(LlmCalls.OpenAiChat(account.Token, model: "gated", stream: true));
        using var reader = new StreamReader(await held.Content.ReadAsStreamAsync());
        await reader.ReadLineAsync();

        using var refused = await client.SendAsync(LlmCalls.OpenAiChat(account.Token));
        await refused.AssertOpenAiErrorAsync(HttpStatusCode.ServiceUnavailable, "upstream_unavailable");
        Assert.NotNull(refused.Headers.RetryAfter);
        Assert.Equal(1, upstream.Served); // the refused call never reached the server

        upstream.ReleaseGate();
        await reader.ReadToEndAsync();
        using var after = await client.SendAsync(LlmCalls.OpenAiChat(account.Token));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }
}
