using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace LlmApi.Api.Llm.Formats;

/// <summary>
/// How JSON from a model server is read: an object that names a member twice is refused with a
/// <see cref="JsonException"/>, so the call fails as for any answer that is not valid JSON (502, or a stream that ends
/// early). As with requests (<see cref="Infrastructure.JsonInput"/>), a repeated member has no agreed meaning: the
/// gateway meters and translates what it reads, and a client reading the same bytes with another parser could read
/// the other value. Trees cannot hold a repeat at all (<see cref="JsonObject"/> throws an
/// <see cref="ArgumentException"/> when first read, which no caller expects), so answers are checked as documents first.
/// Whole bodies are also checked to be text (<see cref="ReadUtf8Async"/>). UpstreamFuzzTests holds all of it to account.
/// </summary>
internal static class UpstreamJson
{
    public static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false };

    /// <summary>A pooled document of <paramref name="utf8"/>, which must stay unchanged until the document is disposed.</summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8) => JsonDocument.Parse(utf8, DocumentOptions);

    /// <summary>A tree of <paramref name="text"/>.</summary>
    public static JsonNode? ParseTree(string text) => JsonNode.Parse(text, documentOptions: DocumentOptions);

    /// <summary>A tree of <paramref name="utf8"/>.</summary>
    public static JsonNode? ParseTree(ReadOnlySpan<byte> utf8) => JsonNode.Parse(utf8, documentOptions: DocumentOptions);

    /// <summary>
    /// A whole body that must be a JSON object (see <see cref="ReadUtf8Async"/>). The element owns its memory: it
    /// outlives the response.
    /// </summary>
    public static async Task<JsonElement> ReadObjectAsync(HttpContent content, CancellationToken cancellationToken)
    {
        using var document = Parse(await ReadUtf8Async(content, cancellationToken));
        return document.RootElement.ValueKind == JsonValueKind.Object
            ? document.RootElement.Clone()
            : throw new JsonException("The upstream's answer is not a JSON object.");
    }

    /// <summary>
    /// A whole body as UTF-8, transcoded from the charset its content type names. A charset that is unknown, or bytes
    /// that are not text in it, are refused with a <see cref="JsonException"/>: the parser does not check the UTF-8
    /// inside strings, and reading such a string later throws an <see cref="InvalidOperationException"/>.
    /// </summary>
    public static async Task<byte[]> ReadUtf8Async(HttpContent content, CancellationToken cancellationToken)
    {
        var bytes = WithoutByteOrderMark(await content.ReadAsByteArrayAsync(cancellationToken));
        if (NamesOtherCharset(content) && content.Headers.ContentType?.CharSet?.Trim('"') is { } charset)
        {
            try
            {
                var encoding = Encoding.GetEncoding(charset, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
                bytes = Encoding.UTF8.GetBytes(encoding.GetString(bytes).TrimStart('\uFEFF')); // without a byte order mark, as JSON is sent
            }
            catch (Exception e) when (e is ArgumentException or DecoderFallbackException)
            {
                throw new JsonException($"The upstream's answer is not text in the character set it names ({charset}).", e);
            }
        }

        return Utf8.IsValid(bytes) ? bytes : throw new JsonException("The upstream's answer is not valid UTF-8.");
    }

    /// <summary>
    /// <paramref name="utf8"/> without the byte order mark some servers put first, which JSON does not allow but
    /// System.Text.Json's readers skip only in streams.
    /// </summary>
    public static byte[] WithoutByteOrderMark(byte[] utf8) => utf8.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? utf8[Encoding.UTF8.Preamble.Length..] : utf8;

    /// <summary>True when the body's content type names a charset other than UTF-8 (JSON's own, and the default).</summary>
    public static bool NamesOtherCharset(HttpContent content) =>
        content.Headers.ContentType?.CharSet?.Trim('"') is { Length: > 0 } charset
        && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase);
}
