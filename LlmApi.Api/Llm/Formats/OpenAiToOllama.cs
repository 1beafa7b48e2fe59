using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>
/// OpenAI requests in Ollama's native API: chat to <c>/api/chat</c>, text completions to <c>/api/generate</c>, embeddings
/// to <c>/api/embed</c>. Every field is either translated, known to carry no meaning for Ollama, or refused with
/// <see cref="TranslationException"/> naming it.
/// </summary>
internal static class OpenAiToOllama
{
    /// <summary>Fields that change nothing an Ollama model produces (bookkeeping of OpenAI's platform).</summary>
    private static readonly HashSet<string> Inert = ["user", "store", "metadata", "service_tier", "safety_identifier", "prompt_cache_key", "stream_options", "parallel_tool_calls"];

    private static readonly HashSet<string> ChatFields = ["model", "messages", "stream", "max_tokens", "max_completion_tokens", "temperature", "top_p", "seed", "stop",
        "frequency_penalty", "presence_penalty", "n", "tools", "tool_choice", "response_format", "logprobs", "top_logprobs"];

    private static readonly HashSet<string> CompletionFields = ["model", "prompt", "suffix", "stream", "max_tokens", "temperature", "top_p", "seed", "stop",
        "frequency_penalty", "presence_penalty", "n", "echo", "logprobs", "best_of"];

    private static readonly HashSet<string> EmbeddingFields = ["model", "input", "encoding_format", "dimensions"];

    private static readonly string[] SamplingFields = ["temperature", "top_p", "seed", "frequency_penalty", "presence_penalty"];

    public static JsonObject Chat(ModelRequest request, string model)
    {
        var body = request.Body;
        RefuseUnknown(body, ChatFields);
        TranslationException.ThrowIf(request.Choices > 1, "n", "Ollama answers with one choice; n must be 1.");
        TranslationException.ThrowIf(JsonRead.Bool(body["logprobs"]) == true || JsonRead.Has(body, "top_logprobs"), "logprobs", "Log probabilities are not available from this model server.");

        var ollama = new JsonObject
        {
            ["model"] = model,
            ["messages"] = Messages((JsonArray)body["messages"]!),
            ["stream"] = request.Stream,
            ["options"] = Options(request, body),
        };

        var toolChoice = body["tool_choice"];
        var choice = JsonRead.String(toolChoice);
        TranslationException.ThrowIf(toolChoice is not null && choice is not ("auto" or "none"), "tool_choice",
            "Ollama always lets the model choose; tool_choice can only be \"auto\" or \"none\".");
        if (body["tools"] is JsonArray tools && choice != "none")
        {
            ollama["tools"] = Tools(tools);
        }

        if (Format(body["response_format"]) is { } format)
        {
            ollama["format"] = format;
        }

        return ollama;
    }

    public static JsonObject Completion(ModelRequest request, string model)
    {
        var body = request.Body;
        RefuseUnknown(body, CompletionFields);
        TranslationException.ThrowIf(request.Choices > 1, "n", "Ollama answers with one choice; n must be 1.");
        TranslationException.ThrowIf(JsonRead.Bool(body["echo"]) == true, "echo", "Echoing the prompt is not available from this model server.");
        TranslationException.ThrowIf(JsonRead.Has(body, "logprobs") && JsonRead.Int(body["logprobs"]) != 0, "logprobs", "Log probabilities are not available from this model server.");
        TranslationException.ThrowIf(JsonRead.Has(body, "best_of") && JsonRead.Int(body["best_of"]) != 1, "best_of", "best_of must be 1 for this model server.");
        var prompt = body["prompt"] is JsonArray prompts ? prompts : null;
        TranslationException.ThrowIf(prompt is { Count: > 1 }, "prompt", "This model server completes one prompt per request.");

        var ollama = new JsonObject
        {
            ["model"] = model,
            ["prompt"] = prompt is null ? JsonRead.String(body["prompt"]) : JsonRead.String(prompt[0]),
            ["stream"] = request.Stream,
            ["options"] = Options(request, body),
        };
        if (JsonRead.String(body["suffix"]) is { } suffix)
        {
            ollama["suffix"] = suffix;
        }

        return ollama;
    }

    public static JsonObject Embeddings(ModelRequest request, string model)
    {
        var body = request.Body;
        RefuseUnknown(body, EmbeddingFields);
        var input = body["input"]!;
        TranslationException.ThrowIf(input is JsonArray items && items.Any(i => JsonRead.String(i) is null), "input", "This model server embeds text; token ids cannot be sent to it.");
        var ollama = new JsonObject { ["model"] = model, ["input"] = input.DeepClone() };
        TranslationException.CopyPositive(body, ollama, "dimensions");

        return ollama;
    }

    private static JsonObject Options(ModelRequest request, JsonObject body)
    {
        var options = new JsonObject { ["num_predict"] = request.MaxTokens };
        foreach (var field in SamplingFields)
        {
            if (body[field] is { } value)
            {
                options[field] = JsonRead.Number(value) is not null ? value.DeepClone() : throw new TranslationException(field, $"{field} must be a number.");
            }
        }

        if (body["stop"] is { } stop)
        {
            options["stop"] = stop switch
            {
                JsonArray list when list.All(s => JsonRead.String(s) is not null) => list.DeepClone(),
                _ when JsonRead.String(stop) is { } single => new JsonArray(single),
                _ => throw new TranslationException("stop", "stop must be a string or an array of strings."),
            };
        }

        return options;
    }

    /// <summary><c>response_format</c> as Ollama's <c>format</c>: "json" for JSON mode, the schema itself for structured output.</summary>
    public static JsonNode? Format(JsonNode? responseFormat)
    {
        if (responseFormat is null)
        {
            return null;
        }

        return JsonRead.String(responseFormat["type"]) switch
        {
            "text" => null,
            "json_object" => "json",
            "json_schema" when responseFormat["json_schema"].Get("schema") is JsonObject schema => schema.DeepClone(),
            _ => throw new TranslationException("response_format", "response_format must be text, json_object, or json_schema with a schema object."),
        };
    }

    private static JsonArray Tools(JsonArray tools)
    {
        var result = new JsonArray();
        for (var i = 0; i < tools.Count; i++)
        {
            TranslationException.ThrowIf(JsonRead.String(tools[i].Get("type")) != "function" || JsonRead.String(tools[i].Get("function").Get("name")) is null, $"tools[{i}]",
                "Only function tools with a name can be offered to this model server.");
            result.Add(tools[i]!.DeepClone()); // Ollama takes OpenAI's function tool definitions as they are
        }

        return result;
    }

    private static JsonArray Messages(JsonArray messages)
    {
        var result = new JsonArray();
        var toolNames = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < messages.Count; i++)
        {
            var message = (JsonObject)messages[i]!;
            var path = $"messages[{i}]";
            var role = JsonRead.String(message["role"])!;
            TranslationException.RefuseMembers(message, f => f is "role" or "content" or "name" or "tool_calls" or "tool_call_id" or "refusal", path + ".",
                f => $"{f} cannot be sent to this model server.");

            TranslationException.ThrowIf(role != "tool" && !string.IsNullOrEmpty(JsonRead.String(message["name"])), $"{path}.name",
                "Participant names cannot be sent to this model server.");

            var (text, images) = Content(message["content"], path + ".content");
            var ollama = new JsonObject { ["role"] = role == "developer" ? "system" : role, ["content"] = text };
            if (images.Count > 0)
            {
                ollama["images"] = images;
            }

            if (message["tool_calls"] is JsonArray { Count: > 0 } calls)
            {
                ollama["tool_calls"] = ToolCalls(calls, path + ".tool_calls", toolNames);
            }

            if (role == "tool")
            {
                var name = JsonRead.String(message["name"])
                    ?? (JsonRead.String(message["tool_call_id"]) is { } id ? toolNames.GetValueOrDefault(id) : null);
                if (name is not null)
                {
                    ollama["tool_name"] = name;
                }
            }

            result.Add(ollama);
        }

        return result;
    }

    private static (string Text, JsonArray Images) Content(JsonNode? content, string path)
    {
        if (content is not JsonArray parts)
        {
            return (JsonRead.String(content) ?? string.Empty, []);
        }

        var texts = new List<string>();
        var images = new JsonArray();
        for (var j = 0; j < parts.Count; j++)
        {
            var part = parts[j]!;
            switch (JsonRead.String(part["type"]))
            {
                case "text":
                    texts.Add(JsonRead.String(part["text"])!);
                    break;
                case "image_url":
                    var url = JsonRead.String(part["image_url"].Get("url"))!;
                    images.Add(Images.Base64OfDataUrl(url)
                        ?? throw new TranslationException($"{path}[{j}].image_url.url", "This model server takes images as base64 data: URLs only."));
                    break;
                case var type:
                    throw new TranslationException($"{path}[{j}].type", $"Content parts of type {type} cannot be sent to this model server.");
            }
        }

        return (string.Join('\n', texts), images);
    }

    private static JsonArray ToolCalls(JsonArray calls, string path, Dictionary<string, string> toolNames)
    {
        var result = new JsonArray();
        for (var k = 0; k < calls.Count; k++)
        {
            var function = calls[k].Get("function");
            var name = JsonRead.String(function.Get("name")) ?? throw new TranslationException($"{path}[{k}].function.name", "A tool call needs a function name.");
            JsonNode? arguments;
            try
            {
                arguments = JsonNode.Parse(JsonRead.String(function.Get("arguments")) ?? "{}");
            }
            catch (JsonException)
            {
                arguments = null;
            }

            if (arguments is not JsonObject)
            {
                throw new TranslationException($"{path}[{k}].function.arguments", "A tool call's arguments must be a JSON object, as text.");
            }

            if (JsonRead.String(calls[k].Get("id")) is { } id)
            {
                toolNames[id] = name;
            }

            result.Add(new JsonObject { ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments } });
        }

        return result;
    }

    private static void RefuseUnknown(JsonObject body, HashSet<string> translated) =>
        TranslationException.RefuseMembers(body, f => translated.Contains(f) || Inert.Contains(f), string.Empty, f => $"{f} cannot be sent to this model server (Ollama).");
}
