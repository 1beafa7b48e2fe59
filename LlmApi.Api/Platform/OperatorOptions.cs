namespace LlmApi.Api.Platform;

/// <summary>Settings of the <c>Operator</c> section: the platform operator's key. Without one, operator routes do not exist.</summary>
internal sealed class OperatorOptions
{
    public const string Section = "Operator";

    public const int MinimumKeyLength = 24;

    public string? Key { get; set; }
}
