using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>
/// Reads a client's request into a <see cref="ModelRequest"/>, or collects every field error it has (each named by its
/// JSON path, such as <c>messages[2].content</c>). Only the shape is checked here; whether the chosen upstream's format
/// can express each field is the translators' question.
/// </summary>
internal static class RequestReader
{
    /// <summary>Tokens reserved for one image: more than vision models charge for a typical tile set.</summary>
    private const int ImageTokens = 1_000;

    private static readonly string[] OpenAiRoles = ["system", "developer", "user", "assistant", "tool"];
    private static readonly string[] OllamaRoles = ["system", "user", "assistant", "tool"];

    public static (ModelRequest? Request, Dictionary<string, string[]> Errors) Read(ClientApi api, JsonObject body, LlmOptions options, bool streamByDefault)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var model = JsonRead.String(body["model"]);
        if (string.IsNullOrWhiteSpace(model))
        {
            errors["model"] = ["The model field is required and must be a string."];
        }

        var stream = Flag(body, "stream", streamByDefault, errors);
        var prompt = api switch
        {
            ClientApi.OpenAiChat => Messages(body, OpenAiRoles, openAi: true, errors),
            ClientApi.OllamaChat => Messages(body, OllamaRoles, openAi: false, errors),
            ClientApi.OpenAiCompletion => Texts(body, "prompt", allowTokens: false, errors),
            ClientApi.OllamaGenerate => GeneratePrompt(body, errors),
            ClientApi.OpenAiEmbeddings => Texts(body, "input", allowTokens: true, errors),
            ClientApi.OllamaEmbed => Texts(body, "input", allowTokens: false, errors),
            _ => Required(body, "prompt", errors),
        };

        var isOpenAi = ModelRequest.IsOpenAiApi(api);
        if (!isOpenAi && body["options"] is { } ollamaOptions && ollamaOptions is not JsonObject)
        {
            errors["options"] = ["options must be an object."];
        }

        var (maxTokens, maxField) = MaxTokens(api, body, options, errors);
        if (maxTokens > options.MaxTokensLimit)
        {
            errors[maxField] = [$"At most {options.MaxTokensLimit} completion tokens may be requested."];
        }

        var choices = 1;
        if (isOpenAi && JsonRead.Has(body, "n"))
        {
            choices = JsonRead.Int(body["n"]) is { } n and >= 1 and <= 16 ? n : 0;
            if (choices == 0)
            {
                errors["n"] = ["n must be a whole number from 1 to 16."];
            }
        }

        var includeUsage = false;
        if (isOpenAi && body["stream_options"] is { } streamOptions)
        {
            includeUsage = JsonRead.Bool(streamOptions.Get("include_usage")) ?? false;
            if (streamOptions is not JsonObject || (streamOptions.Get("include_usage") is not null && JsonRead.Bool(streamOptions.Get("include_usage")) is null))
            {
                errors["stream_options"] = ["stream_options must be an object whose include_usage is true or false."];
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new ModelRequest
        {
            Api = api,
            Body = body,
            Model = model!,
            Stream = stream && !ModelRequest.IsEmbeddingApi(api),
            MaxTokens = maxTokens,
            Choices = choices,
            PromptEstimate = prompt,
            IncludeUsage = includeUsage,
        }, errors);
    }

    /// <summary>The completion maximum a request names (<c>max_completion_tokens</c>, <c>max_tokens</c>, <c>num_predict</c>), or the default.</summary>
    private static (int Value, string Field) MaxTokens(ClientApi api, JsonObject body, LlmOptions options, Dictionary<string, string[]> errors)
    {
        var (node, field) = api switch
        {
            ClientApi.OpenAiChat when JsonRead.Has(body, "max_completion_tokens") => (body["max_completion_tokens"], "max_completion_tokens"),
            ClientApi.OpenAiChat or ClientApi.OpenAiCompletion => (body["max_tokens"], "max_tokens"),
            ClientApi.OllamaChat or ClientApi.OllamaGenerate => ((body["options"] as JsonObject).Get("num_predict"), "options.num_predict"),
            _ => (null, "max_tokens"),
        };
        if (node is null)
        {
            return (options.DefaultMaxTokens, field);
        }

        switch (JsonRead.Int(node))
        {
            case > 0 and var n:
                return (n, field);
            case < 0 when api is ClientApi.OllamaChat or ClientApi.OllamaGenerate:
                return (options.DefaultMaxTokens, field); // Ollama's -1 (no limit) and -2 (fill the context): the gateway's default bounds them
            default:
                errors[field] = [$"{field} must be a positive whole number."];
                return (0, field);
        }
    }

    private static bool Flag(JsonObject body, string name, bool byDefault, Dictionary<string, string[]> errors)
    {
        if (!JsonRead.Has(body, name))
        {
            return byDefault;
        }

        if (JsonRead.Bool(body[name]) is { } flag)
        {
            return flag;
        }

        errors[name] = [$"{name} must be true or false."];
        return byDefault;
    }

    /// <summary>Checks chat messages; returns the prompt's token estimate.</summary>
    private static int Messages(JsonObject body, string[] roles, bool openAi, Dictionary<string, string[]> errors)
    {
        if (body["messages"] is not JsonArray { Count: > 0 } messages)
        {
            errors["messages"] = ["messages must be a non-empty array of messages."];
            return 0;
        }

        var estimate = 3;
        for (var i = 0; i < messages.Count; i++)
        {
            var path = $"messages[{i}]";
            if (messages[i] is not JsonObject message)
            {
                errors[path] = ["Each message must be an object with a role and content."];
                continue;
            }

            if (JsonRead.String(message["role"]) is not { } role || !roles.Contains(role, StringComparer.Ordinal))
            {
                errors[path + ".role"] = [$"role must be one of {string.Join(", ", roles)}."];
            }

            estimate += 4 + (openAi ? OpenAiContent(message["content"], path + ".content", errors) : OllamaContent(message, path, errors));
            switch (message["tool_calls"])
            {
                case JsonArray list:
                    estimate += (list.ToJsonString().Length + 2) / 3;
                    break;
                case not null:
                    errors[path + ".tool_calls"] = ["tool_calls must be an array."];
                    break;
            }
        }

        if (body["tools"] is { } tools)
        {
            if (tools is not JsonArray)
            {
                errors["tools"] = ["tools must be an array of tool definitions."];
            }
            else
            {
                estimate += (tools.ToJsonString().Length + 2) / 3;
            }
        }

        return estimate;
    }

    /// <summary>OpenAI content: a string, null (assistant turns with tool calls), or an array of typed parts.</summary>
    private static int OpenAiContent(JsonNode? content, string path, Dictionary<string, string[]> errors)
    {
        switch (content)
        {
            case null:
                return 0;
            case JsonValue when JsonRead.String(content) is { } text:
                return Tokens(text);
            case JsonArray parts:
                var estimate = 0;
                for (var j = 0; j < parts.Count; j++)
                {
                    var partPath = $"{path}[{j}]";
                    var type = JsonRead.String(parts[j].Get("type"));
                    if (parts[j] is not JsonObject part || type is null)
                    {
                        errors[partPath] = ["Each content part must be an object with a type."];
                    }
                    else if (type == "text")
                    {
                        if (JsonRead.String(part["text"]) is { } text)
                        {
                            estimate += Tokens(text);
                        }
                        else
                        {
                            errors[partPath + ".text"] = ["A text part's text must be a string."];
                        }
                    }
                    else if (type == "image_url")
                    {
                        if (JsonRead.String(part["image_url"].Get("url")) is null)
                        {
                            errors[partPath + ".image_url.url"] = ["An image part needs image_url.url."];
                        }

                        estimate += ImageTokens;
                    }
                }

                return estimate;
            default:
                errors[path] = ["content must be a string, null, or an array of content parts."];
                return 0;
        }
    }

    /// <summary>Ollama content: a string, with images as base64 strings beside it.</summary>
    private static int OllamaContent(JsonObject message, string path, Dictionary<string, string[]> errors) =>
        OptionalText(message["content"], path + ".content", errors) + Images(message["images"], path + ".images", errors);

    private static int GeneratePrompt(JsonObject body, Dictionary<string, string[]> errors) =>
        3 + OptionalText(body["prompt"], "prompt", errors) + OptionalText(body["system"], "system", errors)
        + OptionalText(body["suffix"], "suffix", errors) + Images(body["images"], "images", errors);

    /// <summary>An optional string field's token estimate, or an error naming it when it is not a string.</summary>
    private static int OptionalText(JsonNode? value, string path, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return 0;
        }

        if (JsonRead.String(value) is { } text)
        {
            return Tokens(text);
        }

        errors[path] = [$"{path[(path.LastIndexOf('.') + 1)..]} must be a string."];
        return 0;
    }

    /// <summary>Ollama's images (base64 strings): their token estimate, or an error naming the field.</summary>
    private static int Images(JsonNode? images, string path, Dictionary<string, string[]> errors)
    {
        if (images is null)
        {
            return 0;
        }

        if (images is JsonArray list && list.All(i => JsonRead.String(i) is not null))
        {
            return list.Count * ImageTokens;
        }

        errors[path] = ["images must be an array of base64 strings."];
        return 0;
    }

    private static int Required(JsonObject body, string field, Dictionary<string, string[]> errors)
    {
        if (JsonRead.String(body[field]) is { } text)
        {
            return 3 + Tokens(text);
        }

        errors[field] = [$"{field} is required and must be a string."];
        return 0;
    }

    /// <summary>A text input: a string or a non-empty array of strings (or, where allowed, of token ids or token-id arrays).</summary>
    private static int Texts(JsonObject body, string field, bool allowTokens, Dictionary<string, string[]> errors)
    {
        var value = body[field];
        if (JsonRead.String(value) is { } single)
        {
            return 3 + Tokens(single);
        }

        if (value is JsonArray { Count: > 0 } items)
        {
            if (items.All(i => JsonRead.String(i) is not null))
            {
                return items.Sum(i => 3 + Tokens(JsonRead.String(i)!));
            }

            if (allowTokens && items.All(i => JsonRead.Int(i) is >= 0))
            {
                return items.Count;
            }

            if (allowTokens && items.All(i => i is JsonArray { Count: > 0 } ids && ids.All(t => JsonRead.Int(t) is >= 0)))
            {
                return items.Sum(i => ((JsonArray)i!).Count);
            }
        }

        errors[field] = [allowTokens
            ? $"{field} must be a string, an array of strings, or an array of token ids (or of such arrays)."
            : $"{field} must be a string or a non-empty array of strings."];
        return 0;
    }

    /// <summary>One token per three characters (tokenizers average about four for English): erring high keeps budgets safe.</summary>
    private static int Tokens(string text) => (text.Length + 2) / 3;
}
