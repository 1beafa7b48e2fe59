using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>
/// Ollama requests in the OpenAI format: chat and generate to <c>chat/completions</c> (raw prompts and fill-in-the-middle
/// to <c>completions</c>), embeddings to <c>embeddings</c>. Every field is translated, known to change nothing the
/// model produces (Ollama's runtime settings), or refused with <see cref="TranslationException"/> naming it.
/// </summary>
internal static class OllamaToOpenAi
{
    private static readonly HashSet<string> ChatFields = ["model", "messages", "stream", "format", "options", "tools", "keep_alive", "think"];
    private static readonly HashSet<string> GenerateFields = ["model", "prompt", "suffix", "system", "images", "stream", "format", "options", "raw", "keep_alive", "think"];
    private static readonly HashSet<string> EmbedFields = ["model", "input", "prompt", "truncate", "options", "keep_alive", "dimensions"];

    /// <summary>Options that tune how Ollama runs a model, not what it answers: meaningless to another server.</summary>
    private static readonly HashSet<string> RuntimeOptions = ["num_ctx", "num_batch", "num_gpu", "main_gpu", "use_mmap", "use_mlock", "num_thread", "numa",
        "low_vram", "vocab_only", "num_keep"];

    private static readonly string[] SamplingOptions = ["temperature", "top_p", "seed", "frequency_penalty", "presence_penalty"];

    /// <summary>Whether a generate request needs OpenAI's plain text completions (raw prompt or fill-in-the-middle) rather than chat.</summary>
    public static bool GenerateNeedsTextCompletion(JsonElement body) => JsonRead.Bool(body.Get("raw"u8)) == true || JsonRead.Has(body, "suffix"u8);

    public static JsonObject Chat(ModelRequest request, string model)
    {
        var body = request.Body;
        RefuseUnknown(body, ChatFields);
        RefuseThinking(body);
        var openAi = Common(request, model);
        openAi["messages"] = Messages((JsonArray)body["messages"]!);
        if (body["tools"] is JsonArray { Count: > 0 } tools)
        {
            openAi["tools"] = tools.DeepClone();
        }

        return openAi;
    }

    public static JsonObject Generate(ModelRequest request, string model)
    {
        var body = request.Body;
        RefuseUnknown(body, GenerateFields);
        RefuseThinking(body);
        var openAi = Common(request, model);
        var prompt = JsonRead.String(body["prompt"]) ?? string.Empty;
        if (GenerateNeedsTextCompletion(request.Json))
        {
            TranslationException.ThrowIf(body["images"] is JsonArray { Count: > 0 }, "images", "Images cannot be sent with a raw prompt or a suffix.");
            TranslationException.ThrowIf(JsonRead.Has(body, "system"), "system", "A raw prompt has no system message; put it in the prompt.");
            TranslationException.ThrowIf(openAi.ContainsKey("response_format"), "format", "Structured output is not available for raw text completions.");
            openAi["prompt"] = prompt;
            if (JsonRead.String(body["suffix"]) is { } suffix)
            {
                openAi["suffix"] = suffix;
            }

            return openAi;
        }

        var messages = new JsonArray();
        if (JsonRead.String(body["system"]) is { } system)
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
        }

        messages.Add(new JsonObject { ["role"] = "user", ["content"] = UserContent(prompt, body["images"] as JsonArray) });
        openAi["messages"] = messages;
        return openAi;
    }

    public static JsonObject Embeddings(ModelRequest request, string model)
    {
        var body = request.Body;
        RefuseUnknown(body, EmbedFields);
        TranslationException.ThrowIf(JsonRead.Bool(body["truncate"]) == false, "truncate", "This model server cannot be told to refuse over-long input; leave truncate unset.");
        RefuseOptions(body["options"] as JsonObject, allowed: []);
        var openAi = new JsonObject
        {
            ["model"] = model,
            ["input"] = (request.Api == ClientApi.OllamaEmbeddings ? body["prompt"] : body["input"])!.DeepClone(),
            ["encoding_format"] = "float",
        };
        TranslationException.CopyPositive(body, openAi, "dimensions");

        return openAi;
    }

    /// <summary>What chat and generate share: model, limits, sampling options, structured output and streaming.</summary>
    private static JsonObject Common(ModelRequest request, string model)
    {
        var openAi = new JsonObject { ["model"] = model, ["max_tokens"] = request.MaxTokens, ["stream"] = request.Stream };
        if (request.Stream)
        {
            openAi["stream_options"] = new JsonObject { ["include_usage"] = true }; // the gateway meters every call
        }

        var options = request.Body["options"] as JsonObject;
        RefuseOptions(options, allowed: [.. SamplingOptions, "stop", "num_predict"]);
        foreach (var field in SamplingOptions)
        {
            if (options?[field] is { } value)
            {
                openAi[field] = JsonRead.Number(value) is not null ? value.DeepClone() : throw new TranslationException($"options.{field}", $"{field} must be a number.");
            }
        }

        if (options.Get("stop") is { } stop)
        {
            openAi["stop"] = stop is JsonArray list && list.All(s => JsonRead.String(s) is not null)
                ? list.DeepClone()
                : throw new TranslationException("options.stop", "stop must be an array of strings.");
        }

        if (ResponseFormat(request.Body["format"]) is { } format)
        {
            openAi["response_format"] = format;
        }

        return openAi;
    }

    /// <summary>Ollama's <c>format</c> as <c>response_format</c>: "json" is JSON mode, a schema object is structured output.</summary>
    private static JsonObject? ResponseFormat(JsonNode? format) => format switch
    {
        null => null,
        JsonObject schema => new JsonObject
        {
            ["type"] = "json_schema",
            ["json_schema"] = new JsonObject { ["name"] = "response", ["schema"] = schema.DeepClone() },
        },
        _ when JsonRead.String(format) is "json" => new JsonObject { ["type"] = "json_object" },
        _ when JsonRead.String(format) is "" => null,
        _ => throw new TranslationException("format", "format must be \"json\" or a JSON schema object."),
    };

    private static JsonArray Messages(JsonArray messages)
    {
        var result = new JsonArray();
        var pending = new List<(string Id, string Name)>(); // tool calls not yet answered, oldest first
        for (var i = 0; i < messages.Count; i++)
        {
            var message = (JsonObject)messages[i]!;
            var path = $"messages[{i}]";
            var role = JsonRead.String(message["role"])!;
            TranslationException.RefuseMembers(message, f => f is "role" or "content" or "images" or "tool_calls" or "tool_name" or "thinking", path + ".",
                f => $"{f} cannot be sent to this model server.");

            var text = JsonRead.String(message["content"]) ?? string.Empty;
            var openAi = new JsonObject { ["role"] = role };
            if (role == "tool")
            {
                // OpenAI ties each tool result to its call by id; Ollama by the tool's name, or by order.
                var name = JsonRead.String(message["tool_name"]);
                var index = pending.FindIndex(p => name is null || p.Name == name);
                TranslationException.ThrowIf(index < 0, path, "A tool message must answer a tool call of an earlier assistant message.");
                openAi["tool_call_id"] = pending[index].Id;
                pending.RemoveAt(index);
                openAi["content"] = text;
            }
            else
            {
                openAi["content"] = role == "user" ? UserContent(text, message["images"] as JsonArray) : text;
                TranslationException.ThrowIf(role != "user" && message["images"] is JsonArray { Count: > 0 }, $"{path}.images", "Only user messages can carry images.");
            }

            if (message["tool_calls"] is JsonArray { Count: > 0 } calls)
            {
                var translated = new JsonArray();
                for (var k = 0; k < calls.Count; k++)
                {
                    var name = JsonRead.String(calls[k].Get("function").Get("name"))
                        ?? throw new TranslationException($"{path}.tool_calls[{k}].function.name", "A tool call needs a function name.");
                    var arguments = calls[k].Get("function").Get("arguments");
                    var id = $"call_{i}_{k}";
                    pending.Add((id, name));
                    translated.Add(new JsonObject
                    {
                        ["id"] = id,
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments is null ? "{}" : arguments.ToJsonString() },
                    });
                }

                openAi["tool_calls"] = translated;
                if (text.Length == 0)
                {
                    openAi["content"] = null;
                }
            }

            result.Add(openAi);
        }

        return result;
    }

    /// <summary>A user turn's content: the text alone, or text and image parts when images come with it.</summary>
    private static JsonNode UserContent(string text, JsonArray? images)
    {
        if (images is not { Count: > 0 })
        {
            return text;
        }

        var parts = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = text });
        foreach (var image in images)
        {
            parts.Add(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = Images.DataUrl(JsonRead.String(image)!) } });
        }

        return parts;
    }

    private static void RefuseThinking(JsonObject body) =>
        TranslationException.ThrowIf(JsonRead.Has(body, "think") && JsonRead.Bool(body["think"]) != false, "think", "This model server does not take Ollama's think setting.");

    private static void RefuseOptions(JsonObject? options, HashSet<string> allowed) =>
        TranslationException.RefuseMembers(options, f => allowed.Contains(f) || RuntimeOptions.Contains(f), "options.",
            f => $"The option {f} has no equivalent on this model server (OpenAI format).");

    private static void RefuseUnknown(JsonObject body, HashSet<string> translated) =>
        TranslationException.RefuseMembers(body, translated.Contains, string.Empty, f => $"{f} cannot be sent to this model server (OpenAI format).");
}
