namespace LlmApi.Api.Llm.Formats;

/// <summary>Images between the two formats: OpenAI's data URLs and Ollama's bare base64.</summary>
internal static class Images
{
    /// <summary>The base64 payload of a <c>data:image/...;base64,</c> URL, or null for any other URL.</summary>
    public static string? Base64OfDataUrl(string url)
    {
        const string Marker = ";base64,";
        if (!url.StartsWith("data:image/", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var at = url.IndexOf(Marker, StringComparison.OrdinalIgnoreCase);
        return at < 0 ? null : url[(at + Marker.Length)..];
    }

    /// <summary>A data URL for base64 image bytes, its media type read from the bytes' signature (PNG when unknown).</summary>
    public static string DataUrl(string base64) => $"data:{MediaType(base64)};base64,{base64}";

    private static string MediaType(string base64) => base64 switch
    {
        _ when base64.StartsWith("/9j/", StringComparison.Ordinal) => "image/jpeg",
        _ when base64.StartsWith("R0lGOD", StringComparison.Ordinal) => "image/gif",
        _ when base64.StartsWith("UklGR", StringComparison.Ordinal) => "image/webp",
        _ => "image/png",
    };
}
