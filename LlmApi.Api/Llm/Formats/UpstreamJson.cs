using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>
/// How JSON from a model server is read: an object that names a member twice is refused with a
/// <see cref="JsonException"/>, so the call fails as for any answer that is not valid JSON (502, or a stream that ends
/// early). As with requests (<see cref="Infrastructure.JsonInput"/>), a repeated member has no agreed meaning: the
/// gateway meters and translates what it reads, and a client reading the same bytes with another parser could read
/// the other value. Trees cannot hold a repeat at all (<see cref="JsonObject"/> throws an
/// <see cref="ArgumentException"/> when first read, which no caller expects), so answers are checked as documents first.
/// </summary>
internal static class UpstreamJson
{
    public static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false };

    // Only the document reader honours the setting: System.Text.Json 10 reads a JsonObject without checking it.
    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web) { AllowDuplicateProperties = false };

    /// <summary>A pooled document of <paramref name="utf8"/>, which must stay unchanged until the document is disposed.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8) => JsonDocument.Parse(utf8, DocumentOptions);

    /// <summary>A tree of <paramref name="text"/>.</summary>
    public static JsonNode? ParseTree(string text) => JsonNode.Parse(text, documentOptions: DocumentOptions);

    /// <summary>A tree of <paramref name="utf8"/>.</summary>
    public static JsonNode? ParseTree(ReadOnlySpan<byte> utf8) => JsonNode.Parse(utf8, documentOptions: DocumentOptions);

    /// <summary>
    /// A whole body that must be a JSON object, in the charset its content type names (as
    /// <see cref="HttpContentJsonExtensions"/> reads it). The element owns its memory: it outlives the response.
    /// </summary>
    public static async Task<JsonElement> ReadObjectAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var element = await content.ReadFromJsonAsync<JsonElement>(SerializerOptions, cancellationToken);
        return element.ValueKind == JsonValueKind.Object ? element : throw new JsonException("The upstream's answer is not a JSON object.");
    }
}
