namespace LlmApi.Web.Api;

/// <summary>What the API said when it refused: its own message, and the message of each field it named.</summary>
public sealed record ApiError(string Message, IReadOnlyDictionary<string, string[]> Fields)
{
    public static readonly ApiError Unreachable = new("The API cannot be reached right now. Try again in a moment.", Empty);

    private static IReadOnlyDictionary<string, string[]> Empty => new Dictionary<string, string[]>();

    public static ApiError Of(string message) => new(message, Empty);

    /// <summary>The message of one field (camelCase, as the API names it), if the API named it.</summary>
    public string? For(string field) =>
        Fields.FirstOrDefault(f => string.Equals(f.Key, field, StringComparison.OrdinalIgnoreCase)).Value is { Length: > 0 } messages
            ? string.Join(" ", messages)
            : null;
}

/// <summary>An API answer: its value, or the error to show in place.</summary>
public readonly record struct ApiResult<T>(T? Value, ApiError? Error)
{
    public bool Succeeded => Error is null;

    public static implicit operator ApiResult<T>(ApiError error) => new(default, error);
}
