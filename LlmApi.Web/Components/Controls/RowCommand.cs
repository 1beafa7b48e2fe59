namespace LlmApi.Web.Components.Controls;

/// <summary>
/// The button a row's form was submitted with: <c>verb:id</c>. One form per table, its buttons naming the action and
/// the row, so a page has one antiforgery token and one handler however many rows it shows.
/// </summary>
internal static class RowCommand
{
    public static (string Verb, Guid Id) Parse(string? command)
    {
        var split = command?.IndexOf(':') ?? -1;
        return split > 0 && Guid.TryParse(command.AsSpan(split + 1), out var id)
            ? (command![..split], id)
            : (command ?? string.Empty, Guid.Empty);
    }
}
