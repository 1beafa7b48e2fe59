using System.Globalization;
using System.Net;
using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

/// <summary>The Ollama and OpenAI surfaces as raw HTTP clients see them, and what crosses between the two formats.</summary>
[Collection(SharedApi.Name)]
public class SurfaceTests(ApiFixture fixture)
{
    private const string Png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

    [Fact]
    public async Task Ollama_paths_stream_by_default_and_need_no_tenant_header()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();

        using var response = await client.SendAsync(HttpMethod.Post, "/api/chat", admin.Token, new { model = "llama3", messages = LlmCalls.Messages() });

        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(FakeUpstream.Pieces.Length + 1, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain("tenant_id", text, StringComparison.Ordinal); // only the original's routes name the caller
    }

    [Fact]
    public async Task Ollama_timestamps_are_written_as_ollama_writes_them()
    {
        using var client = fixture.CreateOpenAiBackedClient();
        var admin = await client.RegisterAsync();

        using var response = await client.SendAsync(HttpMethod.Post, "/api/chat", admin.Token, new { model = "mistral", messages = LlmCalls.Messages(), stream = false });
        var text = await response.Content.ReadAsStringAsync();

        Assert.DoesNotContain("\\u002B", text, StringComparison.Ordinal);
        var createdAt = JsonDocument.Parse(text).RootElement.GetProperty("created_at").GetString()!;
        Assert.EndsWith("+00:00", createdAt, StringComparison.Ordinal);
        Assert.True(DateTimeOffset.TryParse(createdAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _));
    }

    [Fact]
    public async Task Model_management_is_refused_and_the_small_routes_answer()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();

        foreach (var (method, path) in new[] { ("POST", "/api/pull"), ("POST", "/api/push"), ("POST", "/api/create"), ("POST", "/api/copy"), ("DELETE", "/api/delete") })
        {
            using var refused = await client.SendAsync(new HttpMethod(method), path, admin.Token, new { model = "llama3" });
            var problem = await refused.AssertProblemAsync(HttpStatusCode.Forbidden);
            Assert.False(string.IsNullOrEmpty(problem.GetProperty("error").GetString())); // Ollama clients read "error"
        }

        // ollama-js accepts application/json and reads "error" only from a body of that type.
        using var asOllamaJs = ApiCalls.Request(HttpMethod.Post, "/api/pull", admin.Token, new { model = "llama3" });
        asOllamaJs.Headers.Accept.ParseAdd("application/json");
        using var readable = await client.SendAsync(asOllamaJs);
        Assert.Equal(HttpStatusCode.Forbidden, readable.StatusCode);
        Assert.Equal("application/json", readable.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("Model management", (await readable.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/version")).StatusCode);
        using var show = await client.SendAsync(HttpMethod.Post, "/api/show", admin.Token, new { model = "llama3" });
        Assert.Equal("FROM test", (await show.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("modelfile").GetString());
        using var ps = await client.SendAsync(HttpMethod.Get, "/api/ps", admin.Token);
        Assert.Equal("llama3:latest", (await ps.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("models")[0].GetProperty("name").GetString());
        using var unknown = await client.SendAsync(HttpMethod.Post, "/api/show", admin.Token, new { model = "nope" });
        await unknown.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/tags", null));
    }

    [Fact]
    public async Task Same_format_requests_reach_the_upstream_as_sent_with_only_model_stream_and_maximum_set()
    {
        using var ollamaBacked = fixture.CreateClient();
        using var openAiBacked = fixture.CreateOpenAiBackedClient();
        var admin = await ollamaBacked.RegisterAsync();
        var marker = Guid.NewGuid().ToString("N");
        async Task<JsonElement> SentAsync(HttpClient client, FakeUpstream upstream, string path, string json)
        {
            using var request = ApiCalls.Request(HttpMethod.Post, path, admin.Token);
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
            using var response = await client.SendAsync(request);
            await response.Content.ReadAsStringAsync(); // the whole answer, streamed or not
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var sent = upstream.Requests.Last(r => r.Body.ToJsonString().Contains(marker, StringComparison.Ordinal)).Body;
            return JsonDocument.Parse(sent.ToJsonString()).RootElement;
        }

        // OpenAI to OpenAI: unknown members, nested objects and text (escapes, non-ASCII) as they came; both names of the
        // maximum become the reserved one; stream options only with a stream.
        var chat = await SentAsync(openAiBacked, fixture.OpenAiUpstream, "/v1/chat/completions", $$$"""
            {"messages":[{"role":"user","content":"h\u00e9llo 中文 \"quoted\"\n"}],"temperature":0.25,"user":"{{{marker}}}",
             "metadata":{"k":["v",1,null]},"max_tokens":50,"max_completion_tokens":7,"stream_options":{"include_usage":false},"model":"mistral"}
            """);
        Assert.Equal("mistral", chat.GetProperty("model").GetString());
        Assert.False(chat.GetProperty("stream").GetBoolean());
        Assert.Equal(7, chat.GetProperty("max_tokens").GetInt32());
        Assert.Equal(7, chat.GetProperty("max_completion_tokens").GetInt32());
        Assert.False(chat.TryGetProperty("stream_options", out _));
        Assert.Equal("h\u00e9llo \u4e2d\u6587 \"quoted\"\n", chat.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(0.25, chat.GetProperty("temperature").GetDouble());
        Assert.Equal("""{"k":["v",1,null]}""", chat.GetProperty("metadata").GetRawText());

        var stream = await SentAsync(openAiBacked, fixture.OpenAiUpstream, "/v1/chat/completions", $$$"""
            {"model":"mistral","messages":[{"role":"user","content":"hi"}],"stream":true,"user":"{{{marker}}}",
             "stream_options":{"include_usage":false,"include_obfuscation":false}}
            """);
        Assert.True(stream.GetProperty("stream").GetBoolean());
        Assert.Equal(1024, stream.GetProperty("max_tokens").GetInt32()); // the default, reserved and asked for
        Assert.False(stream.TryGetProperty("max_completion_tokens", out _));
        Assert.True(stream.GetProperty("stream_options").GetProperty("include_usage").GetBoolean()); // for metering
        Assert.False(stream.GetProperty("stream_options").GetProperty("include_obfuscation").GetBoolean());

        // Ollama to Ollama: the served name, options kept with the reserved maximum in them, the rest as it came.
        var ollama = await SentAsync(ollamaBacked, fixture.Upstream, "/api/chat", $$$"""
            {"model":"llama3","messages":[{"role":"user","content":"{{{marker}}}"}],"stream":false,"keep_alive":"5m",
             "options":{"temperature":0.5,"num_predict":4,"num_ctx":2048}}
            """);
        Assert.Equal("llama3:latest", ollama.GetProperty("model").GetString());
        Assert.False(ollama.GetProperty("stream").GetBoolean());
        Assert.Equal("5m", ollama.GetProperty("keep_alive").GetString());
        Assert.Equal("""{"temperature":0.5,"num_ctx":2048,"num_predict":4}""", ollama.GetProperty("options").GetRawText());
        var defaults = await SentAsync(ollamaBacked, fixture.Upstream, "/api/chat", $$"""{"model":"llama3","messages":[{"role":"user","content":"{{marker}}"}]}""");
        Assert.True(defaults.GetProperty("stream").GetBoolean());
        Assert.Equal(1024, defaults.GetProperty("options").GetProperty("num_predict").GetInt32());
    }

    [Fact]
    public async Task Images_and_structured_output_cross_between_the_formats_both_ways()
    {
        using var ollamaBacked = fixture.CreateClient();
        using var openAiBacked = fixture.CreateOpenAiBackedClient();
        var admin = await ollamaBacked.RegisterAsync();

        // OpenAI client, Ollama server: an image part becomes images, response_format becomes format.
        using var vision = await ollamaBacked.SendAsync(HttpMethod.Post, "/v1/chat/completions", admin.Token, new
        {
            model = "llama3",
            messages = new object[] { new { role = "user", content = new object[] { new { type = "text", text = "what is this?" }, new { type = "image_url", image_url = new { url = "data:image/png;base64," + Png } } } } },
            response_format = new { type = "json_schema", json_schema = new { name = "r", schema = new { type = "object" } } },
        });
        Assert.Equal("I see 1 image(s)", (await vision.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        var sent = fixture.Upstream.Requests.Last(r => r.Path == "/api/chat").Body;
        Assert.Equal(Png, sent["messages"]![0]!["images"]![0]!.GetValue<string>());
        Assert.Equal("object", sent["format"]!["type"]!.GetValue<string>());

        // Ollama client, OpenAI server: images become data URLs, format "json" becomes json_object.
        using var json = await openAiBacked.SendAsync(HttpMethod.Post, "/api/chat", admin.Token, new
        {
            model = "mistral", stream = false, format = "json",
            messages = new[] { new { role = "user", content = "hi", images = new[] { Png } } },
        });
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        var forwarded = fixture.OpenAiUpstream.Requests.Last(r => r.Path.EndsWith("/chat/completions", StringComparison.Ordinal)).Body;
        Assert.Equal("json_object", forwarded["response_format"]!["type"]!.GetValue<string>());
        Assert.Equal("data:image/png;base64," + Png, forwarded["messages"]![0]!["content"]![1]!["image_url"]!["url"]!.GetValue<string>());
    }

    [Fact]
    public async Task What_cannot_be_translated_is_refused_naming_the_field_and_nothing_is_charged()
    {
        using var ollamaBacked = fixture.CreateClient();
        using var openAiBacked = fixture.CreateOpenAiBackedClient();
        var admin = await ollamaBacked.RegisterAsync();

        using var choices = await ollamaBacked.SendAsync(HttpMethod.Post, "/v1/chat/completions", admin.Token, new { model = "llama3", messages = LlmCalls.Messages(), n = 2 });
        Assert.Equal("n", (await choices.AssertOpenAiErrorAsync(HttpStatusCode.BadRequest, "unsupported_parameter")).GetProperty("param").GetString());
        using var remote = await ollamaBacked.SendAsync(HttpMethod.Post, "/v1/chat/completions", admin.Token, new
        {
            model = "llama3",
            messages = new object[] { new { role = "user", content = new object[] { new { type = "image_url", image_url = new { url = "https://example.com/cat.png" } } } } },
        });
        Assert.Equal("messages[0].content[0].image_url.url", (await remote.AssertOpenAiErrorAsync(HttpStatusCode.BadRequest)).GetProperty("param").GetString());
        using var logitBias = await ollamaBacked.SendAsync(HttpMethod.Post, "/v1/chat/completions", admin.Token, new { model = "llama3", messages = LlmCalls.Messages(), logit_bias = new { a = 1 } });
        Assert.Equal("logit_bias", (await logitBias.AssertOpenAiErrorAsync(HttpStatusCode.BadRequest)).GetProperty("param").GetString());

        using var topK = await openAiBacked.SendAsync(HttpMethod.Post, "/api/chat", admin.Token, new { model = "mistral", messages = LlmCalls.Messages(), options = new { top_k = 5, num_ctx = 4096 } });
        var problem = await topK.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("options.top_k", out _));

        using var usage = await ollamaBacked.SendAsync(HttpMethod.Get, "/api/usage?groupBy=day", admin.Token);
        Assert.Equal(0, (await usage.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("total").GetProperty("requests").GetInt64());
    }

    [Fact]
    public async Task Legacy_completions_and_embeddings_are_translated_and_metered()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();

        using var completion = await client.SendAsync(HttpMethod.Post, "/v1/completions", admin.Token, new { model = "llama3", prompt = "def hello(", suffix = "\n", max_tokens = 3 });
        var body = await completion.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Matches("^cmpl-[0-9a-f]{32}$", body.GetProperty("id").GetString());
        Assert.Equal("Hello from the", body.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("\n", fixture.Upstream.Requests.Last(r => r.Path == "/api/generate").Body["suffix"]!.GetValue<string>());

        using var streamed = await client.SendStreamingAsync(ApiCalls.Request(HttpMethod.Post, "/v1/completions", admin.Token, new { model = "llama3", prompt = "x", stream = true }));
        var sse = await streamed.Content.ReadAsStringAsync();
        Assert.Contains("\"text\":\"Hello\"", sse, StringComparison.Ordinal);
        Assert.EndsWith("data: [DONE]\n\n", sse, StringComparison.Ordinal);

        using var embeddings = await client.SendAsync(HttpMethod.Post, "/v1/embeddings", admin.Token, new { model = "embedder", input = new[] { "a", "b" } });
        var vectors = await embeddings.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, vectors.GetProperty("data").GetArrayLength());
        Assert.Equal(4, vectors.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        using var legacy = await client.SendAsync(HttpMethod.Post, "/api/embeddings", admin.Token, new { model = "embedder", prompt = "a" });
        Assert.Equal(3, (await legacy.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("embedding").GetArrayLength());
        using var tokens = await client.SendAsync(HttpMethod.Post, "/v1/embeddings", admin.Token, new { model = "embedder", input = new[] { 1, 2, 3 } });
        await tokens.AssertOpenAiErrorAsync(HttpStatusCode.BadRequest, "unsupported_parameter");

        using var usage = await client.SendAsync(HttpMethod.Get, "/api/usage?groupBy=model", admin.Token);
        var total = (await usage.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("total");
        Assert.Equal(4, total.GetProperty("requests").GetInt64());
        Assert.Equal(FakeUpstream.PromptTokens * 2 + 4 + 2, total.GetProperty("promptTokens").GetInt64());
    }

    [Fact]
    public async Task Model_calls_are_measured_in_second_buckets_with_the_provider_and_upstream()
    {
        // An instance of its own: OpenTelemetry's listener sees the instruments of every host in the test process, and
        // a long-lived host's meter provider counts all it ever saw against its stream limit (disposed ones too), so
        // late instruments of the shared instances can be dropped. One host per process, as deployed, has no such issue.
        await using var api = new ApiFactory(fixture.Settings);
        api.StartServer();
        using var client = api.CreateClient();
        var admin = await client.RegisterAsync();
        (await client.SendAsync(LlmCalls.OpenAiChat(admin.Token))).Dispose();
        (await client.SendAsync(LlmCalls.OpenAiChat(admin.Token, model: "no-such-model"))).Dispose();

        var metrics = await client.GetStringAsync("/metrics");

        Assert.Contains("gen_ai_client_operation_duration_seconds_bucket{", metrics, StringComparison.Ordinal);
        Assert.Contains("le=\"0.01\"", metrics, StringComparison.Ordinal);
        Assert.Contains("le=\"81.92\"", metrics, StringComparison.Ordinal);
        Assert.Contains("le=\"4096\"", metrics, StringComparison.Ordinal);
        Assert.Contains("gen_ai_provider_name=\"ollama\"", metrics, StringComparison.Ordinal);
        Assert.Contains("llm_upstream=\"llm\"", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("no-such-model", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admission_is_measured_on_its_own_by_result_and_within_the_time_to_first_token()
    {
        // An instance of its own, as above.
        await using var api = new ApiFactory(fixture.Settings);
        api.StartServer();
        using var client = api.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, key) = await client.CreateKeyAsync(admin.Token, new { name = "one a minute", requestsPerMinute = 1 });
        using (var streamed = await client.SendAsync(LlmCalls.OpenAiChat(key, stream: true)))
        {
            Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        }

        using (var refused = await client.SendAsync(LlmCalls.OpenAiChat(key)))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        }

        var metrics = (await client.GetStringAsync("/metrics")).Split('\n');
        var tenant = $"tenant_id=\"{admin.TenantId:D}\"";
        double Value(string series, string label = "") => double.Parse(
            metrics.Single(line => line.StartsWith(series + "{", StringComparison.Ordinal) && line.Contains(tenant, StringComparison.Ordinal)
                && line.Contains(label, StringComparison.Ordinal)).Split(' ')[^1], CultureInfo.InvariantCulture);

        Assert.Equal(1, Value("llmapi_gateway_admission_duration_seconds_count", "llmapi_admission_result=\"admitted\""));
        Assert.Equal(1, Value("llmapi_gateway_admission_duration_seconds_count", "llmapi_admission_result=\"limit\""));
        Assert.Contains(metrics, line => line.StartsWith("llmapi_gateway_admission_duration_seconds_bucket{", StringComparison.Ordinal)
            && line.Contains("le=\"0.0001\"", StringComparison.Ordinal));
        Assert.Equal(1, Value("gen_ai_server_time_to_first_token_seconds_count"));
        // The first token is timed from when the gateway took the call: its admission is part of the wait.
        Assert.True(Value("gen_ai_server_time_to_first_token_seconds_sum") >= Value("llmapi_gateway_admission_duration_seconds_sum", "llmapi_admission_result=\"admitted\""));
    }
}
