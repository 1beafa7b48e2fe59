using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace LlmApi.Api.Llm.Formats;

/// <summary>
/// Reads a client's request into a <see cref="ModelRequest"/>, or collects every field error it has (each named by its
/// JSON path, such as <c>messages[2].content</c>). Only the shape is checked here; whether the chosen upstream's format
/// can express each field is the translators' question. It reads the parsed document as it came (no tree is built),
/// so a call whose upstream speaks the client's format never builds one.
/// </summary>
internal static class RequestReader
{
    /// <summary>Tokens reserved for one image: more than vision models charge for a typical tile set.</summary>
    private const int ImageTokens = 1_000;

    private static readonly string[] OpenAiRoles = ["system", "developer", "user", "assistant", "tool"];
    private static readonly string[] OllamaRoles = ["system", "user", "assistant", "tool"];

    /// <summary>OpenAI's ranges for its sampling parameters (its API reference).</summary>
    private static readonly (string Field, double Min, double Max)[] SamplingRanges =
        [("temperature", 0, 2), ("top_p", 0, 1), ("frequency_penalty", -2, 2), ("presence_penalty", -2, 2)];

    public static (ModelRequest? Request, Dictionary<string, string[]> Errors) Read(ClientApi api, JsonElement body, LlmOptions options, bool streamByDefault)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (body.ValueKind != JsonValueKind.Object)
        {
            errors["$"] = ["The request body must be a JSON object."];
            return (null, errors);
        }

        var model = JsonRead.String(body.Get("model"u8));
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
        if (!isOpenAi && body.Get("options"u8) is var ollamaOptions && JsonRead.IsPresent(ollamaOptions) && ollamaOptions.ValueKind != JsonValueKind.Object)
        {
            errors["options"] = ["options must be an object."];
        }

        var (maxTokens, maxField) = MaxTokens(api, body, options, errors);
        if (maxTokens > options.MaxTokensLimit)
        {
            errors[maxField] = [$"At most {options.MaxTokensLimit} completion tokens may be requested."];
        }

        var choices = 1;
        if (isOpenAi && JsonRead.Has(body, "n"u8))
        {
            choices = JsonRead.Int(body.Get("n"u8)) is { } n and >= 1 and <= 16 ? n : 0;
            if (choices == 0)
            {
                errors["n"] = ["n must be a whole number from 1 to 16."];
            }
        }

        if (api is ClientApi.OpenAiChat or ClientApi.OpenAiCompletion)
        {
            CheckSampling(body, errors);
        }

        var includeUsage = false;
        if (isOpenAi && body.Get("stream_options"u8) is var streamOptions && JsonRead.IsPresent(streamOptions))
        {
            var include = streamOptions.Get("include_usage"u8);
            includeUsage = JsonRead.Bool(include) ?? false;
            if (streamOptions.ValueKind != JsonValueKind.Object || (JsonRead.IsPresent(include) && JsonRead.Bool(include) is null))
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
            Json = body,
            Model = model!,
            Stream = stream && !ModelRequest.IsEmbeddingApi(api),
            MaxTokens = maxTokens,
            Choices = choices,
            PromptEstimate = prompt,
            IncludeUsage = includeUsage,
        }, errors);
    }

    /// <summary>
    /// OpenAI's ranges for its sampling parameters, held to whatever model server answers: an Ollama server would take a
    /// temperature of 9 without a word, where OpenAI's own API answers 400.
    /// </summary>
    private static void CheckSampling(JsonElement body, Dictionary<string, string[]> errors)
    {
        foreach (var (field, min, max) in SamplingRanges)
        {
            if (body.Get(field) is var value && JsonRead.IsPresent(value) && (JsonRead.Number(value) is not { } number || number < min || number > max))
            {
                errors[field] = [string.Create(CultureInfo.InvariantCulture, $"{field} must be a number from {min} to {max}.")];
            }
        }
    }

    /// <summary>The completion maximum a request names (<c>max_completion_tokens</c>, <c>max_tokens</c>, <c>num_predict</c>), or the default.</summary>
    private static (int Value, string Field) MaxTokens(ClientApi api, JsonElement body, LlmOptions options, Dictionary<string, string[]> errors)
    {
        var (node, field) = api switch
        {
            ClientApi.OpenAiChat when JsonRead.Has(body, "max_completion_tokens"u8) => (body.Get("max_completion_tokens"u8), "max_completion_tokens"),
            ClientApi.OpenAiChat or ClientApi.OpenAiCompletion => (body.Get("max_tokens"u8), "max_tokens"),
            ClientApi.OllamaChat or ClientApi.OllamaGenerate => (body.Get("options"u8).Get("num_predict"u8), "options.num_predict"),
            _ => (default, "max_tokens"),
        };
        if (!JsonRead.IsPresent(node))
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

    private static bool Flag(JsonElement body, string name, bool byDefault, Dictionary<string, string[]> errors)
    {
        if (!JsonRead.Has(body, name))
        {
            return byDefault;
        }

        if (JsonRead.Bool(body.Get(name)) is { } flag)
        {
            return flag;
        }

        errors[name] = [$"{name} must be true or false."];
        return byDefault;
    }

    /// <summary>Checks chat messages; returns the prompt's token estimate.</summary>
    private static int Messages(JsonElement body, string[] roles, bool openAi, Dictionary<string, string[]> errors)
    {
        var messages = body.Get("messages"u8);
        if (messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            errors["messages"] = ["messages must be a non-empty array of messages."];
            return 0;
        }

        var estimate = 3;
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var index = i++;
            if (message.ValueKind != JsonValueKind.Object)
            {
                errors[$"messages[{index}]"] = ["Each message must be an object with a role and content."];
                continue;
            }

            if (!IsOneOf(message.Get("role"u8), roles))
            {
                errors[$"messages[{index}].role"] = [$"role must be one of {string.Join(", ", roles)}."];
            }

            estimate += 4 + (openAi ? OpenAiContent(message.Get("content"u8), index, errors) : OllamaContent(message, index, errors));
            var toolCalls = message.Get("tool_calls"u8);
            if (toolCalls.ValueKind == JsonValueKind.Array)
            {
                estimate += RawTokens(toolCalls);
            }
            else if (JsonRead.IsPresent(toolCalls))
            {
                errors[$"messages[{index}].tool_calls"] = ["tool_calls must be an array."];
            }
        }

        var tools = body.Get("tools"u8);
        if (tools.ValueKind == JsonValueKind.Array)
        {
            estimate += RawTokens(tools);
        }
        else if (JsonRead.IsPresent(tools))
        {
            errors["tools"] = ["tools must be an array of tool definitions."];
        }

        return estimate;
    }

    private static bool IsOneOf(JsonElement value, string[] names)
    {
        if (value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        foreach (var name in names)
        {
            if (value.ValueEquals(name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>OpenAI content: a string, null (assistant turns with tool calls), or an array of typed parts.</summary>
    private static int OpenAiContent(JsonElement content, int message, Dictionary<string, string[]> errors)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return 0;
            case JsonValueKind.String:
                return Tokens(content);
            case JsonValueKind.Array:
                var estimate = 0;
                var j = 0;
                foreach (var part in content.EnumerateArray())
                {
                    var index = j++;
                    var type = part.Get("type"u8);
                    if (part.ValueKind != JsonValueKind.Object || type.ValueKind != JsonValueKind.String)
                    {
                        errors[$"messages[{message}].content[{index}]"] = ["Each content part must be an object with a type."];
                    }
                    else if (type.ValueEquals("text"))
                    {
                        if (part.Get("text"u8) is { ValueKind: JsonValueKind.String } text)
                        {
                            estimate += Tokens(text);
                        }
                        else
                        {
                            errors[$"messages[{message}].content[{index}].text"] = ["A text part's text must be a string."];
                        }
                    }
                    else if (type.ValueEquals("image_url"))
                    {
                        if (part.Get("image_url"u8).Get("url"u8).ValueKind != JsonValueKind.String)
                        {
                            errors[$"messages[{message}].content[{index}].image_url.url"] = ["An image part needs image_url.url."];
                        }

                        estimate += ImageTokens;
                    }
                }

                return estimate;
            default:
                errors[$"messages[{message}].content"] = ["content must be a string, null, or an array of content parts."];
                return 0;
        }
    }

    /// <summary>Ollama content: a string, with images as base64 strings beside it.</summary>
    private static int OllamaContent(JsonElement message, int index, Dictionary<string, string[]> errors) =>
        OptionalText(message.Get("content"u8), $"messages[{index}]", "content", errors) + Images(message.Get("images"u8), $"messages[{index}].images", errors);

    private static int GeneratePrompt(JsonElement body, Dictionary<string, string[]> errors) =>
        3 + OptionalText(body.Get("prompt"u8), null, "prompt", errors) + OptionalText(body.Get("system"u8), null, "system", errors)
        + OptionalText(body.Get("suffix"u8), null, "suffix", errors) + Images(body.Get("images"u8), "images", errors);

    /// <summary>An optional string field's token estimate, or an error naming it (under <paramref name="parent"/>) when it is not a string.</summary>
    private static int OptionalText(JsonElement value, string? parent, string field, Dictionary<string, string[]> errors)
    {
        if (!JsonRead.IsPresent(value))
        {
            return 0;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return Tokens(value);
        }

        errors[parent is null ? field : $"{parent}.{field}"] = [$"{field} must be a string."];
        return 0;
    }

    /// <summary>Ollama's images (base64 strings): their token estimate, or an error naming the field.</summary>
    private static int Images(JsonElement images, string path, Dictionary<string, string[]> errors)
    {
        if (!JsonRead.IsPresent(images))
        {
            return 0;
        }

        if (images.ValueKind == JsonValueKind.Array && images.EnumerateArray().All(i => i.ValueKind == JsonValueKind.String))
        {
            return images.GetArrayLength() * ImageTokens;
        }

        errors[path] = ["images must be an array of base64 strings."];
        return 0;
    }

    private static int Required(JsonElement body, string field, Dictionary<string, string[]> errors)
    {
        if (body.Get(field) is { ValueKind: JsonValueKind.String } text)
        {
            return 3 + Tokens(text);
        }

        errors[field] = [$"{field} is required and must be a string."];
        return 0;
    }

    /// <summary>A text input: a string or a non-empty array of strings (or, where allowed, of token ids or token-id arrays).</summary>
    private static int Texts(JsonElement body, string field, bool allowTokens, Dictionary<string, string[]> errors)
    {
        var value = body.Get(field);
        if (value.ValueKind == JsonValueKind.String)
        {
            return 3 + Tokens(value);
        }

        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0)
        {
            var items = value.EnumerateArray();
            if (items.All(i => i.ValueKind == JsonValueKind.String))
            {
                return items.Sum(i => 3 + Tokens(i));
            }

            if (allowTokens && items.All(i => JsonRead.Int(i) is >= 0))
            {
                return value.GetArrayLength();
            }

            if (allowTokens && items.All(i => i.ValueKind == JsonValueKind.Array && i.GetArrayLength() > 0 && i.EnumerateArray().All(t => JsonRead.Int(t) is >= 0)))
            {
                return items.Sum(i => i.GetArrayLength());
            }
        }

        errors[field] = [allowTokens
            ? $"{field} must be a string, an array of strings, or an array of token ids (or of such arrays)."
            : $"{field} must be a string or a non-empty array of strings."];
        return 0;
    }

    /// <summary>One token per three characters (tokenizers average about four for English): erring high keeps budgets safe.</summary>
    private static int Tokens(JsonElement text) => (Length(text) + 2) / 3;

    /// <summary>A string's length in UTF-16 characters, counted from its UTF-8 bytes unless it has escapes to decode.</summary>
    private static int Length(JsonElement text)
    {
        var raw = JsonMarshal.GetRawUtf8Value(text)[1..^1]; // without its quotes
        return raw.Contains((byte)'\\') ? text.GetString()!.Length : System.Text.Encoding.UTF8.GetCharCount(raw);
    }

    /// <summary>The same estimate for a JSON value as sent (tool definitions and calls): its UTF-8 bytes, quotes and all.</summary>
    private static int RawTokens(JsonElement value) => (JsonMarshal.GetRawUtf8Value(value).Length + 2) / 3;
}
