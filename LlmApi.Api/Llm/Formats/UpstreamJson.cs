using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;

namespace LlmApi.Api.Llm.Formats;

/// <summary>
/// How JSON from a model server is read: as with request bodies (<see cref="Infrastructure.JsonInput"/>), an object
/// that names a member twice, or a string that is not text (an escaped lone surrogate, <c>"\ud800"</c>, which JSON
/// allows but no .NET string can be read from), is refused with a <see cref="JsonException"/>, so the call fails as
/// for any answer that is not valid JSON (502, or a stream that ends early). A repeated member has no agreed meaning:
/// the gateway meters and translates what it reads, and a client reading the same bytes with another parser could read
/// the other value. Trees cannot hold a repeat at all (<see cref="JsonObject"/> throws an
/// <see cref="ArgumentException"/> when first read, which no caller expects), so answers are checked as documents first.
/// Whole bodies are also checked to be text (<see cref="ReadUtf8Async"/>). UpstreamFuzzTests holds all of it to account.
/// </summary>
internal static class UpstreamJson
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false };

    /// <summary>Bodies up to this size declared by <c>Content-Length</c> are read into an array of that size at once.</summary>
    private const long ExactReadLimit = 1024 * 1024;

    /// <summary>
    /// A pooled document of <paramref name="utf8"/>, which must stay unchanged until the document is disposed; repeats
    /// refused by the parser. Its bytes are UTF-8 (every caller's are checked: <see cref="ReadUtf8Async"/>, and each
    /// stream line), which cannot encode a surrogate, so text that is not well-formed can only come from a <c>\u</c>
    /// escape of one: only a document holding such an escape is walked to find it (<see cref="Infrastructure.JsonInput"/>).
    /// Walking every document, repeats included, cost more than the parser's own check (about 1.8 us a stream chunk
    /// against 1.25, parse included, which streams pay for every chunk).
    /// </summary>
    public static JsonDocument Parse(ReadOnlyMemory<byte> utf8)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, DocumentOptions);
        }
        catch (InvalidOperationException e)
        {
            // The parser's check of repeats reads each member name as text, which a name with a lone surrogate is not.
            throw new JsonException("The upstream's answer holds a member name that is not valid Unicode.", e);
        }

        if (HasSurrogateEscape(utf8.Span) && Infrastructure.JsonInput.Find(document.RootElement, duplicates: false) is { } fault)
        {
            document.Dispose();
            throw new JsonException($"The upstream's answer holds text that is not valid Unicode (at ${fault.Path}).");
        }

        return document;
    }

    /// <summary>True when <paramref name="utf8"/> holds <c>\uD800</c> to <c>\uDFFF</c> in any case (or what looks like it).</summary>
    private static bool HasSurrogateEscape(ReadOnlySpan<byte> utf8)
    {
        for (var at = utf8.IndexOf(@"\u"u8); at >= 0; at = utf8.IndexOf(@"\u"u8))
        {
            utf8 = utf8[(at + 2)..];
            if (utf8.Length >= 2 && (utf8[0] | 0x20) == 'd' && (utf8[1] | 0x20) is (>= (byte)'8' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f'))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A tree of <paramref name="text"/>, checked as <see cref="Parse"/> checks.</summary>
    public static JsonNode? ParseTree(string text) => ParseTree(Encoding.UTF8.GetBytes(text));

    /// <summary>A tree of <paramref name="utf8"/>, checked as <see cref="Parse"/> checks.</summary>
    public static JsonNode? ParseTree(ReadOnlySpan<byte> utf8) => ParseTree(utf8.ToArray());

    private static JsonNode? ParseTree(byte[] utf8)
    {
        using var document = Parse(utf8);
        var root = document.RootElement.Clone(); // the tree outlives the pooled document
        return root.ValueKind switch
        {
            JsonValueKind.Object => JsonObject.Create(root),
            JsonValueKind.Array => JsonArray.Create(root),
            JsonValueKind.Null => null,
            _ => JsonValue.Create(root),
        };
    }

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
    /// A whole body as UTF-8, transcoded from the charset its content type names, without the byte order mark some
    /// servers put first (JSON allows none, and System.Text.Json's readers skip one only in streams). A charset that is
    /// unknown, or bytes that are not text in it, are refused with a <see cref="JsonException"/>: the parser does not
    /// check the UTF-8 inside strings, and reading such a string later throws an <see cref="InvalidOperationException"/>.
    /// Every whole answer, refusal and list from an upstream is read here.
    /// </summary>
    public static async Task<byte[]> ReadUtf8Async(HttpContent content, CancellationToken cancellationToken)
    {
        var bytes = await ReadBytesAsync(content, cancellationToken);
        if (OtherCharset(content) is not { } charset)
        {
            bytes = bytes.AsSpan().StartsWith(Encoding.UTF8.Preamble) ? bytes[Encoding.UTF8.Preamble.Length..] : bytes;
        }
        else
        {
            try
            {
                var encoding = Encoding.GetEncoding(charset, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
                bytes = Encoding.UTF8.GetBytes(encoding.GetString(bytes).TrimStart('\uFEFF'));
            }
            catch (Exception e) when (e is ArgumentException or DecoderFallbackException)
            {
                throw new JsonException($"The upstream's answer is not text in the character set it names ({charset}).", e);
            }
        }

        return Utf8.IsValid(bytes) ? bytes : throw new JsonException("The upstream's answer is not valid UTF-8.");
    }

    /// <summary>
    /// The body's bytes: read straight into an array of its declared length when it declares one of ordinary size, where
    /// <see cref="HttpContent.ReadAsByteArrayAsync(CancellationToken)"/> buffers it and then copies it out. A body that
    /// ends before its declared length fails the read (<see cref="IOException"/>), as it would there.
    /// </summary>
    private static async Task<byte[]> ReadBytesAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is not (> 0 and <= ExactReadLimit))
        {
            return await content.ReadAsByteArrayAsync(cancellationToken);
        }

        var bytes = new byte[content.Headers.ContentLength.Value];
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        await stream.ReadExactlyAsync(bytes, cancellationToken);
        return bytes;
    }

    /// <summary>The charset the body's content type names, when it is not UTF-8 (JSON's own, and the default).</summary>
    private static string? OtherCharset(HttpContent content) =>
        content.Headers.ContentType?.CharSet?.Trim('"') is { Length: > 0 } charset
        && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)
            ? charset
            : null;
}
