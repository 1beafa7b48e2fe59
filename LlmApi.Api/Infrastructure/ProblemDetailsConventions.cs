using System.Text.Json;

namespace LlmApi.Api.Infrastructure;

/// <summary>Makes every problem+json answer look alike, whichever part of the framework produced it.</summary>
internal static class ProblemDetailsConventions
{
    public static void Apply(ProblemDetailsContext context)
    {
        // Ollama's clients read a failure's message from "error"; on Ollama's own routes a problem carries it too.
        if (context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<Llm.Surfaces.OllamaSurface>() is not null)
        {
            context.ProblemDetails.Extensions["error"] = context.ProblemDetails.Detail ?? context.ProblemDetails.Title;
        }

        if (context.ProblemDetails is not HttpValidationProblemDetails validation)
        {
            return;
        }

        validation.Detail ??= "One or more fields are invalid; see errors.";
        // The validator names fields after C# members; clients know them by their JSON (camelCase) names.
        var renamed = validation.Errors.ToDictionary(
            e => string.Join('.', e.Key.Split('.').Select(JsonNamingPolicy.CamelCase.ConvertName)),
            e => e.Value);
        validation.Errors.Clear();
        foreach (var (field, messages) in renamed)
        {
            validation.Errors[field] = messages;
        }
    }
}
