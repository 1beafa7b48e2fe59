using System.ComponentModel.DataAnnotations;

namespace LlmApi.Web;

/// <summary>The console's settings (<c>Console:*</c>).</summary>
public sealed class ConsoleOptions
{
    public const string Section = "Console";

    /// <summary>Where the API answers, from the console's side (the AppHost sets it; in Kubernetes, the API's Service).</summary>
    [Required]
    public Uri? Api { get; set; }

    /// <summary>The path the console is served under behind a shared Ingress (<c>/console</c>), or empty at the root.</summary>
    [RegularExpression("^(/[A-Za-z0-9._~-]+)*$", ErrorMessage = "Console:PathBase must be empty or a path such as /console.")]
    public string? PathBase { get; set; }

    /// <summary>How long one API call may take before the page says the API cannot be reached.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:02:00")]
    public TimeSpan ApiTimeout { get; set; } = TimeSpan.FromSeconds(15);
}
