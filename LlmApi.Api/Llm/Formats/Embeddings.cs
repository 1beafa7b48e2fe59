using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>Embedding answers between the formats: OpenAI's <c>data[].embedding</c>, Ollama's <c>embeddings</c> (and older <c>embedding</c>).</summary>
internal static class Embeddings
{
    public static (List<JsonArray> Vectors, int PromptTokens) Read(UpstreamApi api, JsonObject answer)
    {
        if (api == UpstreamApi.OllamaEmbed)
        {
            var embeddings = answer["embeddings"] as JsonArray ?? throw new JsonException("The answer has no embeddings.");
            var items = embeddings.ToList();
            embeddings.Clear(); // detached, so they can go into the client's answer without a copy
            return ([.. items.Select(Vector)], JsonRead.Int(answer["prompt_eval_count"]) ?? 0);
        }

        var data = answer["data"] as JsonArray ?? throw new JsonException("The answer has no data.");
        var vectors = new List<JsonArray>();
        foreach (var item in data.OfType<JsonObject>().OrderBy(d => JsonRead.Int(d["index"]) ?? 0))
        {
            var vector = Vector(item["embedding"]);
            item.Remove("embedding");
            vectors.Add(vector);
        }

        return (vectors, OpenAiWire.Usage(answer)?.PromptTokens ?? 0);
    }

    public static JsonObject Write(ModelRequest request, List<JsonArray> vectors, int promptTokens, string model) => request.Api switch
    {
        ClientApi.OllamaEmbed => new JsonObject
        {
            ["model"] = model,
            ["embeddings"] = new JsonArray([.. vectors]),
            ["prompt_eval_count"] = promptTokens,
        },
        ClientApi.OllamaEmbeddings => new JsonObject { ["embedding"] = vectors.Count > 0 ? vectors[0] : new JsonArray() },
        _ => new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. vectors.Select((v, i) => (JsonNode)new JsonObject
            {
                ["object"] = "embedding",
                ["index"] = i,
                ["embedding"] = JsonRead.String(request.Body["encoding_format"]) == "base64" ? Base64(v) : v,
            })]),
            ["model"] = model,
            ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["total_tokens"] = promptTokens },
        },
    };

    private static JsonArray Vector(JsonNode? node) => node as JsonArray ?? throw new JsonException("An embedding is not an array of numbers.");

    /// <summary>OpenAI's base64 encoding: the vector as little-endian float32 values.</summary>
    private static string Base64(JsonArray vector)
    {
        var bytes = new byte[vector.Count * sizeof(float)];
        for (var i = 0; i < vector.Count; i++)
        {
            var value = JsonRead.Number(vector[i]) ?? throw new JsonException("An embedding holds a value that is not a number.");
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), (float)value);
        }

        return Convert.ToBase64String(bytes);
    }
}
