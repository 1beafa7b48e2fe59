using System.Text.Json;
using System.Text.Json.Nodes;
using LlmApi.Api.ApiKeys;
using LlmApi.Api.Auth;
using LlmApi.Api.Llm.Formats;
using LlmApi.Api.Llm.Pipeline;
using LlmApi.Api.Llm.Routing;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Llm.Surfaces;

/// <summary>What every client surface does with a model request: read it, then hand it to the one call pipeline.</summary>
internal static class ModelCalls
{
    /// <summary>Largest request body a model route takes: prompts with images are far larger than the API's other bodies.</summary>
    public const long MaxRequestBodyBytes = 16 * 1024 * 1024;

    /// <summary>Maps a model route: <c>POST pattern</c> read as <paramref name="api"/>, with the model routes' body size limit.</summary>
    public static RouteHandlerBuilder MapModelCall(this IEndpointRouteBuilder routes, string pattern, ClientApi api, bool streamByDefault) =>
        routes.MapPost(pattern, (JsonElement body, Caller caller, ModelGateway gateway, IOptions<LlmOptions> options, HttpContext http) =>
                HandleAsync(api, body, caller, gateway, options, http, streamByDefault))
            .WithMetadata(new RequestSizeLimitAttribute(MaxRequestBodyBytes), KeyCheckedAtAdmission.Instance)
            // RequestReader checks the body field by field; the framework's validation filter has nothing to check
            // here (a JsonElement and services) and would only cost every call a pass over the parameters.
            .DisableValidation();

    public static async Task<IResult> HandleAsync(
        ClientApi api, JsonElement body, Caller caller, ModelGateway gateway, IOptions<LlmOptions> options, HttpContext http,
        bool streamByDefault, Action<JsonObject>? annotate = null)
    {
        var (request, errors) = RequestReader.Read(api, body, options.Value, streamByDefault);
        if (request is null)
        {
            var (field, messages) = errors.First();
            return await gateway.RefuseAsync(http, caller, TypedResults.ValidationProblem(errors,
                extensions: new Dictionary<string, object?> { ["param"] = field, ["code"] = "invalid_value" }, detail: $"{field}: {messages[0]}"));
        }

        return await gateway.CallAsync(http, caller, request, annotate);
    }

    /// <summary>The models a caller may use: every routable name, less what an API key's allow-list leaves out.</summary>
    public static IEnumerable<PublicModel> Visible(ModelRouter router, Caller caller) =>
        router.List().Where(m => caller.Key?.Allows(m.Name) ?? true);

    /// <summary>A model as OpenAI's <c>/v1/models</c> lists it.</summary>
    public static JsonObject OpenAiModel(PublicModel model) => new()
    {
        ["id"] = model.Name,
        ["object"] = "model",
        ["created"] = JsonRead.Int(model.Details?["created"]) ?? (DateTimeOffset.TryParse(JsonRead.String(model.Details?["modified_at"]),
            System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var modified) ? (int)modified.ToUnixTimeSeconds() : 0),
        ["owned_by"] = JsonRead.String(model.Details?["owned_by"]) ?? (model.Upstream.Provider == LlmProvider.Ollama ? "library" : "system"),
    };

    /// <summary>A model as Ollama's <c>/api/tags</c> lists it: the upstream's own tag when it is an Ollama server.</summary>
    public static JsonObject OllamaTag(PublicModel model)
    {
        if (model.Upstream.Provider == LlmProvider.Ollama && model.Details is { } tag)
        {
            var copy = (JsonObject)tag.DeepClone();
            copy["name"] = model.Name;
            copy["model"] = model.Name;
            return copy;
        }

        var created = JsonRead.Int(model.Details?["created"]) is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : DateTimeOffset.UnixEpoch;
        return new JsonObject
        {
            ["name"] = model.Name,
            ["model"] = model.Name,
            ["modified_at"] = OllamaWire.Timestamp(created),
            ["size"] = 0,
            ["digest"] = string.Empty,
            ["details"] = new JsonObject { ["format"] = string.Empty, ["family"] = string.Empty, ["parameter_size"] = string.Empty, ["quantization_level"] = string.Empty },
        };
    }
}
