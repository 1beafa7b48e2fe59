using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace LlmApi.Api.Infrastructure;

/// <summary>
/// Checks JSON that the API keeps as a document rather than binding to a type (free-form settings, model requests),
/// once, where it is read: every string and member name well-formed Unicode (see <see cref="UnicodeText"/>), and no
/// object naming a member twice. A repeated member has no agreed meaning (System.Text.Json reads the last, other
/// parsers the first), so a model request forwarded as it came could mean one thing to the gateway, which checks its
/// model and reserves its tokens, and another to the model server. The walk allocates nothing unless it finds a fault.
/// </summary>
internal static class JsonInput
{
    /// <summary>Objects with more members than this are checked for repeats with a set rather than pairwise.</summary>
    private const int PairwiseLimit = 16;

    /// <summary>Throws <see cref="MalformedTextException"/> or <see cref="DuplicateMemberException"/> at the first fault.</summary>
    public static void Check(JsonElement element)
    {
        if (Find(element, duplicates: true) is { } fault)
        {
            throw fault.Duplicate is { } name ? new DuplicateMemberException("$" + fault.Path, name) : UnicodeText.Malformed("$" + fault.Path);
        }
    }

    /// <summary>A fault: where it is, relative to the element searched, and the member name when it is a repeat.</summary>
    internal readonly record struct Fault(string Path, string? Duplicate);

    internal static Fault? Find(JsonElement element, bool duplicates)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return IsWellFormedString(element) ? null : new Fault(string.Empty, null);
            case JsonValueKind.Object:
                HashSet<string>? names = duplicates && element.GetPropertyCount() > PairwiseLimit ? new(StringComparer.Ordinal) : null;
                var index = 0;
                foreach (var property in element.EnumerateObject())
                {
                    if (!IsWellFormedName(property))
                    {
                        return new Fault(string.Empty, null);
                    }

                    if (duplicates && (names is null ? RepeatsEarlier(element, property, index) : !names.Add(property.Name)))
                    {
                        return new Fault(string.Empty, property.Name);
                    }

                    if (Find(property.Value, duplicates) is { } inner)
                    {
                        return inner with { Path = "." + property.Name + inner.Path };
                    }

                    index++;
                }

                return null;
            case JsonValueKind.Array:
                var position = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Find(item, duplicates) is { } inner)
                    {
                        return inner with { Path = $"[{position}]{inner.Path}" };
                    }

                    position++;
                }

                return null;
            default:
                return null;
        }
    }

    private static bool RepeatsEarlier(JsonElement obj, JsonProperty property, int index)
    {
        foreach (var earlier in obj.EnumerateObject())
        {
            if (index-- == 0)
            {
                return false;
            }

            if (SameName(earlier, property))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Compares the names as written; only a name with an escape in it is decoded (<c>"a"</c> and <c>"\u0061"</c> are one name).</summary>
    private static bool SameName(JsonProperty a, JsonProperty b)
    {
        var rawA = JsonMarshal.GetRawUtf8PropertyName(a);
        var rawB = JsonMarshal.GetRawUtf8PropertyName(b);
        return rawA.Contains((byte)'\\') || rawB.Contains((byte)'\\') ? a.NameEquals(b.Name) : rawA.SequenceEqual(rawB);
    }

    // Without an escape, text is well-formed exactly when its bytes are valid UTF-8 (which cannot encode a surrogate).
    // With one, it is decoded and its UTF-16 checked for lone surrogates.
    private static bool IsWellFormedName(JsonProperty property) =>
        IsWellFormed(JsonMarshal.GetRawUtf8PropertyName(property), property, static p => p.Name);

    private static bool IsWellFormedString(JsonElement element) =>
        IsWellFormed(JsonMarshal.GetRawUtf8Value(element), element, static e => e.GetString());

    // The decoder is a static lambda given its source, so nothing is allocated per name or string checked.
    private static bool IsWellFormed<T>(ReadOnlySpan<byte> raw, T source, Func<T, string?> decode)
    {
        if (!raw.Contains((byte)'\\'))
        {
            return Utf8.IsValid(raw);
        }

        try
        {
            return UnicodeText.IsWellFormed(decode(source));
        }
        catch (InvalidOperationException)
        {
            return false; // bytes that are not UTF-8 cannot even be read as text
        }
    }
}

/// <summary>JSON input the API refuses although it parses; its message is written for the API's users.</summary>
internal abstract class RefusedJsonException : JsonException
{
    /// <summary>Where the fault is: the serializer's path to the value being read, then <paramref name="within"/> it (<c>$.note</c>).</summary>
    protected string Where(string within) => (Path ?? "$") + within[1..];
}

/// <summary>An object in a request body that names one member twice.</summary>
internal sealed class DuplicateMemberException(string within, string name) : RefusedJsonException
{
    public override string Message => Describe(name, Where(within));

    /// <summary>
    /// The refusal in the API's words, for the serializer's own duplicate check on typed bodies too, which reports only
    /// the path to the repeated member (<c>$.role</c>, <c>$.limits['odd.name']</c>): split into the member and where it is.
    /// </summary>
    public static string DescribePath(string? path)
    {
        path ??= "$";
        if (path.EndsWith("']", StringComparison.Ordinal) && path.LastIndexOf("['", StringComparison.Ordinal) is > 0 and var bracket)
        {
            return Describe(path[(bracket + 2)..^2], path[..bracket]);
        }

        return path.LastIndexOf('.') is > 0 and var dot && dot < path.Length - 1
            ? Describe(path[(dot + 1)..], path[..dot])
            : $"A member of {path} appears more than once; each member may appear once.";
    }

    private static string Describe(string name, string where) =>
        $"The member '{(name.Length > 100 ? name[..100] + "…" : name)}' appears more than once in {where}; each member may appear once.";
}
