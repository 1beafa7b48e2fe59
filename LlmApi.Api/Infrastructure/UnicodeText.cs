using System.Text.Json;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Well-formed Unicode in JSON input. JSON lets a string escape a lone surrogate (<c>"\ud800"</c>), and a body may
/// carry invalid UTF-8 bytes; both read without complaint but can never be written out again, so a record holding one
/// would break every later answer that includes it. Input is checked once, where it is read, and refused.
/// </summary>
internal static class UnicodeText
{
    /// <summary>True when every surrogate in <paramref name="text"/> is half of a pair.</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The text with U+FFFD in place of each lone surrogate.</summary>
    public static string Repaired(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(chars[i]))
            {
                chars[i] = '\uFFFD';
            }
        }

        return new string(chars);
    }

    /// <summary>The JSON path of the first string or member name in <paramref name="element"/> that is not well-formed, or null.</summary>
    public static string? FirstMalformed(JsonElement element) =>
        JsonInput.Find(element, duplicates: false) is { } fault ? "$" + fault.Path : null;

    /// <param name="within">Where inside the value being read, as a path from it (<c>$.note</c>); the reader adds where the value is.</param>
    public static MalformedTextException Malformed(string within = "$") => new(within);
}

/// <summary>Text in a request body that is not well-formed Unicode; its message is written for the API's users.</summary>
internal sealed class MalformedTextException(string within) : RefusedJsonException
{
    public override string Message => $"The text at {Where(within)} is not valid Unicode (invalid UTF-8, or a lone surrogate).";
}
