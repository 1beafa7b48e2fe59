using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmApi.Api.Infrastructure;

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

/// <summary>What to send one upstream: which of its APIs, at which path (relative to its base URL), with which body (UTF-8 JSON).</summary>
internal sealed record UpstreamCall(UpstreamApi Api, string Path, byte[] Body)
{
    public UpstreamCall(UpstreamApi api, string path, JsonObject body)
        : this(api, path, WireJson.Utf8(body))
    {
    }

    public bool IsOpenAi => Api is UpstreamApi.OpenAiChat or UpstreamApi.OpenAiCompletion or UpstreamApi.OpenAiEmbeddings;
}

/// <summary>
/// What a translated answer says about itself: its id, time, the model name reported, and who asked. The id is made
/// when first asked for: a same-format answer keeps the upstream's own and needs none.
/// </summary>
internal sealed class AnswerContext(string idPrefix, long created, string model, TimeProvider clock, Action<JsonObject>? annotate)
{
    private string? _id;

    /// <summary><paramref name="idPrefix"/> (<c>chatcmpl-</c>, <c>cmpl-</c>) and 32 hexadecimal digits, the same for every use in one answer.</summary>
    public string Id => _id ??= idPrefix + UniqueIds.New();

    public long Created { get; } = created;

    public string Model { get; } = model;

    public TimeProvider Clock { get; } = clock;

    public Action<JsonObject>? Annotate { get; } = annotate;
}

/// <summary>
/// Which upstream API serves a client request on each kind of server, and how requests, answers and streams cross
/// between them. Same-format calls forward the client's own JSON (unknown fields included), written straight from the
/// parsed request with only the model, streaming and token maximum set by the gateway; no tree is built for them.
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
        (ClientApi.OpenAiEmbeddings, _) => new(UpstreamApi.OpenAiEmbeddings, "embeddings", WithModel(request.Json, model)),
        (ClientApi.OllamaChat, LlmProvider.Ollama) => new(UpstreamApi.OllamaChat, "api/chat", ForwardOllama(request, model)),
        (ClientApi.OllamaChat, _) => new(UpstreamApi.OpenAiChat, "chat/completions", OllamaToOpenAi.Chat(request, model)),
        (ClientApi.OllamaGenerate, LlmProvider.Ollama) => new(UpstreamApi.OllamaGenerate, "api/generate", ForwardOllama(request, model)),
        (ClientApi.OllamaGenerate, _) when OllamaToOpenAi.GenerateNeedsTextCompletion(request.Json) =>
            new(UpstreamApi.OpenAiCompletion, "completions", OllamaToOpenAi.Generate(request, model)),
        (ClientApi.OllamaGenerate, _) => new(UpstreamApi.OpenAiChat, "chat/completions", OllamaToOpenAi.Generate(request, model)),
        (ClientApi.OllamaEmbed, LlmProvider.Ollama) => new(UpstreamApi.OllamaEmbed, "api/embed", WithModel(request.Json, model)),
        // The older route answers without token counts; its newer form counts them, so every call is metered.
        (ClientApi.OllamaEmbeddings, LlmProvider.Ollama) => new(UpstreamApi.OllamaEmbed, "api/embed", LegacyEmbeddings(request.Json, model)),
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
    public static (JsonObject Answer, TokenUsage Usage) Answer(ModelRequest request, UpstreamCall call, JsonElement whole, AnswerContext context)
    {
        var answer = JsonObject.Create(whole) ?? throw new JsonException("The upstream's answer is not a JSON object.");
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
            _ => OllamaWire.ReadAnswer(whole),
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

    /// <summary>How to read the upstream's stream lines (UTF-8, one at a time), and how to write the client's.</summary>
    public static (Func<ReadOnlyMemory<byte>, Delta?> Read, ClientStream Write) Stream(ModelRequest request, UpstreamCall call, AnswerContext context)
    {
        var sameFormat = IsSameFormat(request.Api, call.Api);
        Func<ReadOnlyMemory<byte>, Delta?> read = call.IsOpenAi
            ? sameFormat ? OpenAiWire.ReadPassedChunk : OpenAiWire.ReadChunk // an OpenAI client gets the lines as they came
            : line => line.IsEmpty ? null : OllamaWire.ReadChunk(line);
        ClientStream write = (sameFormat, request.IsOpenAi) switch
        {
            (true, true) => new OpenAiPassthroughStream(request.IncludeUsage),
            (true, false) => new OllamaPassthroughStream(context.Annotate),
            (false, true) => new OpenAiTranslatingStream(request.Api == ClientApi.OpenAiChat, context.Id, context.Created, context.Model, request.IncludeUsage),
            (false, false) => new OllamaTranslatingStream(request.Api == ClientApi.OllamaChat, context.Model, context.Clock, context.Annotate),
        };
        return (read, write);
    }

    /// <summary>The client's OpenAI request as it came, with the served model, the reserved maximum, and usage in streams (for metering).</summary>
    private static byte[] ForwardOpenAi(ModelRequest request, string model)
    {
        // The reserved maximum replaces what the client asked for, under either name it used (max_tokens when neither).
        var hasNewName = JsonRead.Has(request.Json, "max_completion_tokens"u8);
        var hasOldName = !hasNewName || JsonRead.Has(request.Json, "max_tokens"u8);
        return Forward(request.Json, model, request.Stream, OpenAiSet, (name, writer) =>
        {
            switch (name)
            {
                case "max_completion_tokens" when hasNewName:
                case "max_tokens" when hasOldName:
                    writer.WriteNumber(name, request.MaxTokens);
                    break;
                case "stream_options" when request.Stream: // only streams take stream options
                    WriteWith(writer, name, request.Json.Get(name), "include_usage", w => w.WriteBooleanValue(true));
                    break;
            }
        });
    }

    /// <summary>The client's Ollama request as it came, with the served model, streaming decided, and the reserved maximum.</summary>
    private static byte[] ForwardOllama(ModelRequest request, string model) =>
        Forward(request.Json, model, request.Stream, OllamaSet, (name, writer) =>
            // The upstream may not produce more than was reserved.
            WriteWith(writer, name, request.Json.Get(name), "num_predict", w => w.WriteNumberValue(request.MaxTokens)));

    private static readonly string[] OpenAiSet = ["max_completion_tokens", "max_tokens", "stream_options"];
    private static readonly string[] OllamaSet = ["options"];

    private static byte[] LegacyEmbeddings(JsonElement body, string model) => Write(writer =>
    {
        writer.WriteString("model", model);
        writer.WritePropertyName("input");
        body.Get("prompt"u8).WriteTo(writer);
        foreach (var field in (string[])["options", "keep_alive"])
        {
            if (JsonRead.Has(body, field))
            {
                writer.WritePropertyName(field);
                body.Get(field).WriteTo(writer);
            }
        }
    });

    private static byte[] WithModel(JsonElement body, string model) => Forward(body, model, stream: null, [], (_, _) => { });

    /// <summary>
    /// Writes <paramref name="body"/>'s members as they came, except: <c>model</c> as given; <c>stream</c> as given unless
    /// null; and each member named in <paramref name="set"/>, present or not, as <paramref name="write"/> writes it (or not at all).
    /// </summary>
    private static byte[] Forward(JsonElement body, string model, bool? stream, string[] set, Action<string, Utf8JsonWriter> write) => Write(writer =>
    {
        writer.WriteString("model", model);
        if (stream is { } streaming)
        {
            writer.WriteBoolean("stream", streaming);
        }

        foreach (var member in body.EnumerateObject())
        {
            if (!member.NameEquals("model") && !(stream is not null && member.NameEquals("stream")) && !Names(member, set))
            {
                member.WriteTo(writer);
            }
        }

        foreach (var name in set)
        {
            write(name, writer);
        }
    });

    private static bool Names(JsonProperty member, string[] names)
    {
        foreach (var name in names)
        {
            if (member.NameEquals(name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Writes the object member <paramref name="name"/>: the members of <paramref name="from"/> (when an object) but <paramref name="set"/>, then <paramref name="set"/> written by <paramref name="value"/>.</summary>
    private static void WriteWith(Utf8JsonWriter writer, string name, JsonElement from, string set, Action<Utf8JsonWriter> value)
    {
        writer.WriteStartObject(name);
        if (from.ValueKind == JsonValueKind.Object)
        {
            foreach (var member in from.EnumerateObject())
            {
                if (!member.NameEquals(set))
                {
                    member.WriteTo(writer);
                }
            }
        }

        writer.WritePropertyName(set);
        value(writer);
        writer.WriteEndObject();
    }

    /// <summary>
    /// An object written by <paramref name="members"/>, as UTF-8 JSON of its exact length. The buffer and writer it is
    /// written with are kept per thread and reused (a body is written start to end without waiting, then copied out),
    /// as System.Text.Json keeps its own: making both for every forwarded request was about 0.4 KB of each model call's
    /// allocations. A buffer grown past <see cref="RetainedBytes"/> by a large request is not kept.
    /// </summary>
    private static byte[] Write(Action<Utf8JsonWriter> members)
    {
        var (buffer, writer) = t_scratch ?? NewScratch();
        t_scratch = null; // taken for this write; a write inside it, if there ever is one, makes its own
        buffer.ResetWrittenCount();
        writer.Reset(buffer); // also clears what a write that threw left behind
        try
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            if (buffer.Capacity <= RetainedBytes)
            {
                t_scratch = (buffer, writer);
            }
        }

        static (ArrayBufferWriter<byte>, Utf8JsonWriter) NewScratch()
        {
            var buffer = new ArrayBufferWriter<byte>(1024);
            return (buffer, new Utf8JsonWriter(buffer, WireJson.WriterOptions));
        }
    }

    private const int RetainedBytes = 64 * 1024;

    [ThreadStatic]
    private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)? t_scratch;
}
