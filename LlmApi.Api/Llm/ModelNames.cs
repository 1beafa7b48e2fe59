namespace LlmApi.Api.Llm;

/// <summary>Ollama's naming rule, which its clients rely on: a model name without a tag means its <c>:latest</c>.</summary>
internal static class ModelNames
{
    private const string LatestTag = ":latest";

    /// <summary>The name with Ollama's default tag made explicit.</summary>
    public static string WithDefaultTag(string name) => name.Contains(':', StringComparison.Ordinal) ? name : name + LatestTag;

    /// <summary>The untagged form of a <c>:latest</c> name, or null for any other name.</summary>
    public static string? Untagged(string name) => name.EndsWith(LatestTag, StringComparison.Ordinal) ? name[..^LatestTag.Length] : null;

    /// <summary>True when both names mean the same model (<c>llama3</c> and <c>llama3:latest</c>).</summary>
    public static bool AreSame(string a, string b) => string.Equals(WithDefaultTag(a), WithDefaultTag(b), StringComparison.Ordinal);
}
