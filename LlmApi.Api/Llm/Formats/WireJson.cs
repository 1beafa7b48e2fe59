using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm.Formats;

/// <summary>
/// How model routes write JSON: as model servers do, with <c>+</c>, quotes and non-ASCII text left as they are
/// (the default encoder writes <c>\u002B00:00</c> for a time zone). Safe here: the answers are JSON, never HTML.
/// </summary>
internal static class WireJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The same escaping for JSON written directly (upstream request bodies, stream chunks).</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = Options.Encoder };

    /// <summary>A request body for an upstream, as UTF-8 JSON.</summary>
    public static byte[] Utf8(JsonNode node) => JsonSerializer.SerializeToUtf8Bytes(node, Options);
}
