using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>Typed reads of JSON nodes that answer null for a value of another type, instead of throwing.</summary>
internal static class JsonRead
{
    public static string? String(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    public static bool? Bool(JsonNode? node) => node is JsonValue value && value.TryGetValue<bool>(out var flag) ? flag : null;

    public static double? Number(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<double>(out var number) ? number : null;

    /// <summary>An integral number in the range of <see cref="int"/>, or null.</summary>
    public static int? Int(JsonNode? node) =>
        Number(node) is { } number && number == Math.Floor(number) && number is >= int.MinValue and <= int.MaxValue ? (int)number : null;

    /// <summary>True when the member is present with a value other than null.</summary>
    public static bool Has(JsonObject body, string name) => body.TryGetPropertyValue(name, out var value) && value is not null;

    /// <summary>
    /// The members that say something: present with a value other than null, an empty object or an empty array
    /// (some clients send their unused settings that way, OllamaSharp's <c>CustomHeaders: {}</c> for one).
    /// </summary>
    public static IEnumerable<string> Present(JsonObject body) =>
        body.Where(p => p.Value is not (null or JsonObject { Count: 0 } or JsonArray { Count: 0 })).Select(p => p.Key);

    /// <summary>A member of an object; null when absent or when the node is not an object (where the indexer would throw).</summary>
    public static JsonNode? Get(this JsonNode? node, string name) => node is JsonObject obj && obj.TryGetPropertyValue(name, out var value) ? value : null;

    // The same reads of a JsonDocument's elements, for answers and chunks read without building a tree.

    public static string? String(JsonElement element) => element.ValueKind == JsonValueKind.String ? element.GetString() : null;

    public static bool? Bool(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    /// <summary>True for a value other than null; false for null or an absent member (the undefined element).</summary>
    public static bool IsPresent(JsonElement element) => element.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);

    /// <summary>True when the member is present with a value other than null.</summary>
    public static bool Has(JsonElement obj, ReadOnlySpan<byte> utf8Name) => IsPresent(obj.Get(utf8Name));

    /// <inheritdoc cref="Has(JsonElement, ReadOnlySpan{byte})"/>
    public static bool Has(JsonElement obj, string name) => IsPresent(obj.Get(name));

    /// <summary>An integral number in the range of <see cref="int"/>, or null.</summary>
    public static int? Int(JsonElement element) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var number)
            && number == Math.Floor(number) && number is >= int.MinValue and <= int.MaxValue ? (int)number : null;

    /// <summary>A finite number, or null.</summary>
    public static double? Number(JsonElement element) =>
        element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var number) && double.IsFinite(number) ? number : null;

    /// <summary>
    /// A member of an object, by its UTF-8 name; an undefined element when absent or when the element is not an object.
    /// The name is given as UTF-8 (<c>"choices"u8</c>) because the document holds UTF-8: a name given as a string is
    /// transcoded on every lookup (about half the cost of a lookup, and a stream chunk takes several).
    /// </summary>
    public static JsonElement Get(this JsonElement element, ReadOnlySpan<byte> utf8Name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(utf8Name, out var value) ? value : default;

    /// <summary>A member of an object, by a name known only as text (from a table of field names).</summary>
    public static JsonElement Get(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;
}
