using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>The upstream APIs the gateway calls.</summary>
internal enum UpstreamApi
{
    OllamaChat,
    OllamaGenerate,
    OllamaEmbed,
    OpenAiChat,
    OpenAiCompletion,
    OpenAiEmbeddings,
}

/// <summary>What to send one upstream: which of its APIs, at which path (relative to its base URL), with which body.</summary>
internal sealed record UpstreamCall(UpstreamApi Api, string Path, JsonObject Body)
{
    public bool IsOpenAi => Api is UpstreamApi.OpenAiChat or UpstreamApi.OpenAiCompletion or UpstreamApi.OpenAiEmbeddings;
}

/// <summary>What a translated answer says about itself: its id, time, the model name reported, and who asked.</summary>
internal sealed record AnswerContext(string Id, long Created, string Model, TimeProvider Clock, Action<JsonObject>? Annotate);

/// <summary>
/// Which upstream API serves a client request on each kind of server, and how requests, answers and streams cross
/// between them. Same-format calls forward the client's own JSON (unknown fields included) with only the model,
/// streaming and token maximum set by the gateway.
/// </summary>
internal static class Translation
{
    public static UpstreamCall ToUpstream(ModelRequest request, LlmProvider provider, string model) => (request.Api, provider) switch
    {
        (ClientApi.OpenAiChat, LlmProvider.Ollama) => new(UpstreamApi.OllamaChat, "api/chat", OpenAiToOllama.Chat(request, model)),
        (ClientApi.OpenAiChat, _) => new(UpstreamApi.OpenAiChat, "chat/completions", ForwardOpenAi(request, model)),
        (ClientApi.OpenAiCompletion, LlmProvider.Ollama) => new(UpstreamApi.OllamaGenerate, "api/generate", OpenAiToOllama.Completion(request, model)),
        (ClientApi.OpenAiCompletion, _) => new(UpstreamApi.OpenAiCompletion, "completions", ForwardOpenAi(request, model)),
        (ClientApi.OpenAiEmbeddings, LlmProvider.Ollama) => new(UpstreamApi.OllamaEmbed, "api/embed", OpenAiToOllama.Embeddings(request, model)),
        (ClientApi.OpenAiEmbeddings, _) => new(UpstreamApi.OpenAiEmbeddings, "embeddings", WithModel(request.Body, model)),
        (ClientApi.OllamaChat, LlmProvider.Ollama) => new(UpstreamApi.OllamaChat, "api/chat", ForwardOllama(request, model)),
        (ClientApi.OllamaChat, _) => new(UpstreamApi.OpenAiChat, "chat/completions", OllamaToOpenAi.Chat(request, model)),
        (ClientApi.OllamaGenerate, LlmProvider.Ollama) => new(UpstreamApi.OllamaGenerate, "api/generate", ForwardOllama(request, model)),
        (ClientApi.OllamaGenerate, _) when OllamaToOpenAi.GenerateNeedsTextCompletion(request.Body) =>
            new(UpstreamApi.OpenAiCompletion, "completions", OllamaToOpenAi.Generate(request, model)),
        (ClientApi.OllamaGenerate, _) => new(UpstreamApi.OpenAiChat, "chat/completions", OllamaToOpenAi.Generate(request, model)),
        (ClientApi.OllamaEmbed, LlmProvider.Ollama) => new(UpstreamApi.OllamaEmbed, "api/embed", WithModel(request.Body, model)),
        // The older route answers without token counts; its newer form counts them, so every call is metered.
        (ClientApi.OllamaEmbeddings, LlmProvider.Ollama) => new(UpstreamApi.OllamaEmbed, "api/embed", LegacyEmbeddings(request.Body, model)),
        (_, _) => new(UpstreamApi.OpenAiEmbeddings, "embeddings", OllamaToOpenAi.Embeddings(request, model)),
    };

    /// <summary>True when the client's format is the upstream's: then answers and streams pass through.</summary>
    public static bool IsSameFormat(ClientApi client, UpstreamApi upstream) => (client, upstream) switch
    {
        (ClientApi.OpenAiChat, UpstreamApi.OpenAiChat) or (ClientApi.OpenAiCompletion, UpstreamApi.OpenAiCompletion)
            or (ClientApi.OpenAiEmbeddings, UpstreamApi.OpenAiEmbeddings) or (ClientApi.OllamaChat, UpstreamApi.OllamaChat)
            or (ClientApi.OllamaGenerate, UpstreamApi.OllamaGenerate) or (ClientApi.OllamaEmbed, UpstreamApi.OllamaEmbed) => true,
        _ => false,
    };

    /// <summary>
    /// True when a whole answer goes to the client as the upstream's own bytes: an OpenAI chat or text completion from
    /// an upstream of the same format, which the gateway neither annotates nor rewrites.
    /// </summary>
    public static bool PassesThrough(ModelRequest request, UpstreamCall call) =>
        request.Api is ClientApi.OpenAiChat or ClientApi.OpenAiCompletion && IsSameFormat(request.Api, call.Api);

    /// <summary>A whole answer in the client's format, and the usage the upstream counted.</summary>
    public static (JsonObject Answer, TokenUsage Usage) Answer(ModelRequest request, UpstreamCall call, JsonObject answer, AnswerContext context)
    {
        if (request.IsEmbedding)
        {
            var usage = call.IsOpenAi ? OpenAiWire.Usage(answer) ?? TokenUsage.None : new TokenUsage(JsonRead.Int(answer["prompt_eval_count"]) ?? 0, 0);
            if (IsSameFormat(request.Api, call.Api))
            {
                return (answer, usage);
            }

            var (vectors, tokens) = Embeddings.Read(call.Api, answer);
            return (Embeddings.Write(request, vectors, tokens, context.Model), new TokenUsage(tokens, 0));
        }

        var completion = call.Api switch
        {
            UpstreamApi.OpenAiChat => OpenAiWire.ReadChat(answer),
            UpstreamApi.OpenAiCompletion => OpenAiWire.ReadTextCompletion(answer),
            _ => OllamaWire.ReadAnswer(answer),
        };
        if (IsSameFormat(request.Api, call.Api))
        {
            if (!request.IsOpenAi)
            {
                context.Annotate?.Invoke(answer);
            }

            return (answer, completion.Usage);
        }

        var translated = request.Api switch
        {
            ClientApi.OpenAiChat => OpenAiWire.WriteChat(completion, context.Id, context.Created, context.Model),
            ClientApi.OpenAiCompletion => OpenAiWire.WriteTextCompletion(completion, context.Id, context.Created, context.Model),
            _ => OllamaWire.WriteAnswer(completion, context.Model, context.Clock.GetUtcNow(), chat: request.Api == ClientApi.OllamaChat),
        };
        if (!request.IsOpenAi)
        {
            context.Annotate?.Invoke(translated);
        }

        return (translated, completion.Usage);
    }

    /// <summary>How to read the upstream's stream lines, and how to write the client's.</summary>
    public static (Func<string, Delta?> Read, ClientStream Write) Stream(ModelRequest request, UpstreamCall call, AnswerContext context)
    {
        Func<string, Delta?> read = call.IsOpenAi ? OpenAiWire.ReadChunk : line => line.Length == 0 ? null : OllamaWire.ReadChunk(line);
        ClientStream write = (IsSameFormat(request.Api, call.Api), request.IsOpenAi) switch
        {
            (true, true) => new OpenAiPassthroughStream(request.IncludeUsage),
            (true, false) => new OllamaPassthroughStream(context.Annotate),
            (false, true) => new OpenAiTranslatingStream(request.Api == ClientApi.OpenAiChat, context.Id, context.Created, context.Model, request.IncludeUsage),
            (false, false) => new OllamaTranslatingStream(request.Api == ClientApi.OllamaChat, context.Model, context.Clock, context.Annotate),
        };
        return (read, write);
    }

    /// <summary>The client's OpenAI request as it came, with the served model, the reserved maximum, and usage in streams (for metering).</summary>
    private static JsonObject ForwardOpenAi(ModelRequest request, string model)
    {
        var body = WithModel(request.Body, model);
        body["stream"] = request.Stream;
        body[body.ContainsKey("max_completion_tokens") ? "max_completion_tokens" : "max_tokens"] = request.MaxTokens;
        if (request.Stream)
        {
            var options = body["stream_options"] as JsonObject ?? [];
            options["include_usage"] = true;
            body["stream_options"] = options;
        }
        else
        {
            body.Remove("stream_options");
        }

        return body;
    }

    /// <summary>The client's Ollama request as it came, with the served model, streaming decided, and the reserved maximum.</summary>
    private static JsonObject ForwardOllama(ModelRequest request, string model)
    {
        var body = WithModel(request.Body, model);
        body["stream"] = request.Stream;
        var options = body["options"] as JsonObject ?? [];
        options["num_predict"] = request.MaxTokens; // the upstream may not produce more than was reserved
        body["options"] = options;
        return body;
    }

    private static JsonObject LegacyEmbeddings(JsonObject body, string model)
    {
        var embed = new JsonObject { ["model"] = model, ["input"] = body["prompt"]?.DeepClone() };
        foreach (var field in (string[])["options", "keep_alive"])
        {
            if (body[field] is { } value)
            {
                embed[field] = value.DeepClone();
            }
        }

        return embed;
    }

    private static JsonObject WithModel(JsonObject body, string model)
    {
        var copy = (JsonObject)body.DeepClone();
        copy["model"] = model;
        return copy;
    }
}
