using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Llm;

/// <summary>The wire format a client speaks.</summary>
internal enum ChatFormat
{
    Ollama,
    OpenAI,
}

/// <summary>
/// One model call from admission to settlement: validates the request, reserves its worst-case tokens against the
/// limits, calls the upstream in its own format (translating when the client speaks the other), forwards the answer
/// (streams chunk by chunk, never buffered whole), and settles the real usage. The client going away, or the
/// configured timeout, cancels the upstream call.
/// </summary>
internal sealed partial class ChatGateway(
    UpstreamClient upstream, UsageLimiter limiter, GatewayTelemetry telemetry, IOptions<LlmOptions> options, TimeProvider clock,
    ILogger<ChatGateway> logger)
{
    public async Task<IResult> ChatAsync(HttpContext http, Caller caller, JsonObject body, ChatFormat format)
    {
        if (upstream.Upstream is not { } target)
        {
            return NoUpstream();
        }

        var (call, errors) = Read(body, format);
        if (call is null)
        {
            return TypedResults.ValidationProblem(errors);
        }

        if (caller.Key is { } key && !key.Allows(call.Model))
        {
            return Problems.Forbidden($"This API key may not use the model {call.Model}.");
        }

        var reserve = TokenEstimate.ForMessages(call.Messages) + call.MaxTokens;
        var (lease, refusal) = await limiter.AdmitAsync(caller.TenantId, caller.Tenant.Limits, caller.Key?.KeyId, caller.Key?.Limits, reserve);
        if (refusal is not null)
        {
            return TooManyRequests(http, refusal);
        }

        var (path, request) = UpstreamRequest(target.Provider, format, body, call);
        var tags = GatewayTelemetry.Tags(target.Provider, call.Model, caller.TenantId);
        var exchange = new Exchange(http, caller, call, format, target.Provider, tags, clock.GetUtcNow());
        using var activity = GatewayTelemetry.Source.StartActivity($"chat {call.Model}");
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag("gen_ai.request.model", call.Model);
        activity?.SetTag("tenant.id", caller.TenantId.ToString("D"));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        timeout.CancelAfter(options.Value.Timeout);
        try
        {
            return await CallAsync(exchange, path, request, timeout.Token);
        }
        catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested && !exchange.Started)
        {
            exchange.ErrorType = "timeout";
            return TypedResults.Problem(statusCode: StatusCodes.Status504GatewayTimeout, title: "Gateway timeout",
                detail: $"The model upstream did not answer within {options.Value.Timeout.TotalSeconds:0} s.");
        }
        catch (HttpRequestException) when (!exchange.Started)
        {
            exchange.ErrorType = "upstream_unreachable";
            return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Bad gateway", detail: "The model upstream could not be reached.");
        }
        catch (System.Text.Json.JsonException) when (!exchange.Started)
        {
            exchange.ErrorType = "upstream_invalid_response";
            return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Bad gateway", detail: "The model upstream answered with invalid JSON.");
        }
        catch (Exception e) when (exchange.Started && e is OperationCanceledException or HttpRequestException or IOException or System.Text.Json.JsonException)
        {
            // The stream had begun, so its status is sent; the client sees it end early.
            exchange.ErrorType = http.RequestAborted.IsCancellationRequested ? "client_cancelled" : "stream_interrupted";
            LogStreamEnded(logger, call.Model, exchange.ErrorType);
            return TypedResults.Empty;
        }
        finally
        {
            await SettleAsync(lease!, exchange, reserve);
            activity?.SetTag("gen_ai.usage.input_tokens", exchange.Usage.PromptTokens);
            activity?.SetTag("gen_ai.usage.output_tokens", exchange.Usage.CompletionTokens);
            if (exchange.ErrorType is { } error)
            {
                activity?.SetStatus(ActivityStatusCode.Error, error);
            }
        }
    }

    private async Task<IResult> CallAsync(Exchange exchange, string path, JsonObject request, CancellationToken cancellationToken)
    {
        using var response = await upstream.PostAsync(path, request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            exchange.ErrorType = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return await UpstreamErrorAsync(response, cancellationToken);
        }

        if (!exchange.Call.Stream)
        {
            var answer = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken)
                ?? throw new HttpRequestException("The model upstream answered with an empty body.");
            exchange.Usage = exchange.Provider == LlmProvider.Ollama ? ChatTranslation.UsageOfOllama(answer) : ChatTranslation.UsageOfOpenAi(answer) ?? TokenUsage.None;
            exchange.Completed = true;
            return TypedResults.Json(ClientAnswer(exchange, answer));
        }

        var http = exchange.Http;
        http.Response.ContentType = exchange.Format == ChatFormat.Ollama ? "application/x-ndjson" : "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        exchange.Started = true;
        await http.Response.StartAsync(cancellationToken);

        var relay = new StreamRelay(exchange, clock, telemetry);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (await relay.RelayAsync(line, cancellationToken))
            {
                break;
            }
        }

        exchange.Completed = relay.Finished;
        return TypedResults.Empty;
    }

    /// <summary>A whole answer in the client's format; Ollama-format answers also name the caller, as the original did.</summary>
    private JsonObject ClientAnswer(Exchange exchange, JsonObject answer)
    {
        var output = (exchange.Provider, exchange.Format) switch
        {
            (LlmProvider.Ollama, ChatFormat.OpenAI) => ChatTranslation.ToOpenAiResponse(answer, exchange.Id, exchange.Created),
            (LlmProvider.OpenAI, ChatFormat.Ollama) => ChatTranslation.ToOllamaResponse(answer, exchange.Call.Model, clock.GetUtcNow()),
            _ => answer,
        };
        if (exchange.Format == ChatFormat.Ollama)
        {
            StreamRelay.AddCaller(output, exchange.Caller);
        }

        return output;
    }

    private async Task SettleAsync(UsageLease lease, Exchange exchange, int reserved)
    {
        // A call that never started produced nothing; one cut short mid-stream is charged what it may have cost:
        // the estimated prompt and one token per chunk that went out.
        var usage = exchange.Completed ? exchange.Usage
            : !exchange.Started ? TokenUsage.None
            : new TokenUsage(reserved - exchange.Call.MaxTokens, exchange.Chunks);

        exchange.Usage = usage;
        var dimensions = exchange.Completed ? MeteringDimensions(exchange) : null;
        await limiter.SettleAsync(lease, usage, dimensions);

        var tags = exchange.Tags;
        if (exchange.ErrorType is { } error)
        {
            tags.Add("error.type", error);
        }

        telemetry.Duration.Record(Stopwatch.GetElapsedTime(exchange.StartedAt).TotalSeconds, tags);
        if (exchange.Completed)
        {
            var input = exchange.Tags;
            input.Add("gen_ai.token.type", "input");
            telemetry.TokenUsage.Record(usage.PromptTokens, input);
            var output = exchange.Tags;
            output.Add("gen_ai.token.type", "output");
            telemetry.TokenUsage.Record(usage.CompletionTokens, output);
        }
    }

    /// <summary>The usage counters a call adds to (see <see cref="Usage.UsageStore"/>): totals, model, key or user.</summary>
    private static List<string> MeteringDimensions(Exchange exchange)
    {
        var dimensions = new List<string> { "t", "m:" + exchange.Call.Model };
        if (exchange.Caller.Key is { } key)
        {
            dimensions.Add("k:" + key.KeyId.ToString("D"));
            dimensions.Add($"k:{key.KeyId:D}:m:{exchange.Call.Model}");
        }

        if (exchange.Caller.UserOrNull is { } user)
        {
            dimensions.Add("u:" + user.UserId.ToString("D"));
            dimensions.Add($"u:{user.UserId:D}:m:{exchange.Call.Model}");
        }

        return dimensions;
    }

    /// <summary>Reads what the request asks for, or every field error it has (then the call is null).</summary>
    private (ChatCall? Call, Dictionary<string, string[]> Errors) Read(JsonObject body, ChatFormat format)
    {
        var errors = new Dictionary<string, string[]>();
        var model = body["model"] is JsonValue modelValue && modelValue.TryGetValue<string>(out var name) && !string.IsNullOrWhiteSpace(name) ? name : null;
        if (model is null)
        {
            errors["model"] = ["The model field is required."];
        }

        var messages = body["messages"] is JsonArray { Count: > 0 } list && list.All(m => m?["role"] is JsonValue) ? list : null;
        if (messages is null)
        {
            errors["messages"] = ["The messages field must be a non-empty array of messages with a role."];
        }

        var requested = format == ChatFormat.Ollama
            ? body["options"]?["num_predict"]
            : body["max_completion_tokens"] ?? body["max_tokens"];
        var maxTokens = requested is JsonValue v && v.TryGetValue<int>(out var n) && n > 0 ? n : options.Value.DefaultMaxTokens;
        if (maxTokens > options.Value.MaxTokensLimit)
        {
            errors["maxTokens"] = [$"At most {options.Value.MaxTokensLimit} completion tokens may be requested."];
        }

        if (model is null || messages is null || errors.Count > 0)
        {
            return (null, errors);
        }

        var stream = body["stream"] is JsonValue s && s.TryGetValue<bool>(out var b) && b;
        return (new ChatCall(model, messages, stream, maxTokens), errors);
    }

    /// <summary>The upstream's path and body: the client's own request when formats match, else its translation.</summary>
    private static (string Path, JsonObject Body) UpstreamRequest(LlmProvider provider, ChatFormat format, JsonObject body, ChatCall call)
    {
        switch (provider, format)
        {
            case (LlmProvider.Ollama, ChatFormat.Ollama):
                var ollama = (JsonObject)body.DeepClone();
                ollama["stream"] = call.Stream;
                var options = ollama["options"] as JsonObject ?? [];
                options["num_predict"] = call.MaxTokens; // the upstream may not produce more than was reserved
                ollama["options"] = options;
                return ("api/chat", ollama);
            case (LlmProvider.Ollama, ChatFormat.OpenAI):
                return ("api/chat", ChatTranslation.ToOllamaRequest(body, call.Model, call.Messages, call.Stream, call.MaxTokens));
            case (LlmProvider.OpenAI, ChatFormat.OpenAI):
                var openAi = (JsonObject)body.DeepClone();
                openAi["stream"] = call.Stream;
                openAi[openAi.ContainsKey("max_completion_tokens") ? "max_completion_tokens" : "max_tokens"] = call.MaxTokens;
                if (call.Stream)
                {
                    openAi["stream_options"] = new JsonObject { ["include_usage"] = true };
                }

                return ("v1/chat/completions", openAi);
            default:
                return ("v1/chat/completions", ChatTranslation.ToOpenAiRequest(body, call.Model, call.Messages, call.Stream, call.MaxTokens));
        }
    }

    private static async Task<IResult> UpstreamErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (status >= 500)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "Bad gateway",
                detail: $"The model upstream failed with status {status}.");
        }

        // A client error of the upstream (unknown model, bad parameter) is the caller's to fix: pass on its message.
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var message = TryReadError(text) ?? $"The model upstream refused the request with status {status}.";
        return TypedResults.Problem(statusCode: status, title: "Upstream refused the request", detail: message.Length > 500 ? message[..500] : message);
    }

    private static string? TryReadError(string text)
    {
        try
        {
            var node = JsonNode.Parse(text);
            return node?["error"] is JsonObject error ? error["message"]?.GetValue<string>() : node?["error"]?.GetValue<string>();
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public static IResult NoUpstream() => TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Service unavailable",
        detail: "No model upstream is configured (connection string 'llm').");

    private static ProblemHttpResult TooManyRequests(HttpContext http, LimitRefusal refusal)
    {
        http.Response.Headers.RetryAfter = refusal.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests",
            detail: $"The {refusal.Scope}'s {refusal.Limit} limit is reached; retry after {refusal.RetryAfterSeconds} s.",
            extensions: new Dictionary<string, object?> { ["limit"] = refusal.Limit, ["scope"] = refusal.Scope, ["retryAfter"] = refusal.RetryAfterSeconds });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stream for model {Model} ended early: {Reason}")]
    private static partial void LogStreamEnded(ILogger logger, string model, string reason);
}

/// <summary>What a chat request asks for, read once.</summary>
internal sealed record ChatCall(string Model, JsonArray Messages, bool Stream, int MaxTokens);

/// <summary>The state of one call while it runs.</summary>
internal sealed class Exchange(HttpContext http, Caller caller, ChatCall call, ChatFormat format, LlmProvider provider, TagList tags, DateTimeOffset now)
{
    public HttpContext Http { get; } = http;
    public Caller Caller { get; } = caller;
    public ChatCall Call { get; } = call;
    public ChatFormat Format { get; } = format;
    public LlmProvider Provider { get; } = provider;
    public TagList Tags { get; } = tags;
    public string Id { get; } = "chatcmpl-" + Guid.NewGuid().ToString("N");
    public long Created { get; } = now.ToUnixTimeSeconds();
    public long StartedAt { get; } = Stopwatch.GetTimestamp();
    public bool Started { get; set; }
    public bool Completed { get; set; }
    public int Chunks { get; set; }
    public TokenUsage Usage { get; set; }
    public string? ErrorType { get; set; }
}
