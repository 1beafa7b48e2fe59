using System.ComponentModel.DataAnnotations;
using System.Data.Common;

namespace LlmApi.Api.Llm;

public enum LlmProvider
{
    /// <summary>Ollama's native API (<c>/api/chat</c>, <c>/api/tags</c>).</summary>
    Ollama,

    /// <summary>Any server speaking the OpenAI wire format (<c>/v1/chat/completions</c>, <c>/v1/models</c>).</summary>
    OpenAI,
}

/// <summary>Settings of the <c>Llm</c> section; the upstream itself is the connection string <c>llm</c>.</summary>
internal sealed class LlmOptions
{
    public const string Section = "Llm";
    public const string ConnectionName = "llm";

    /// <summary>How long one upstream call may take before the caller gets 504 (the original's 120 s).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Completion tokens reserved (and asked of the upstream) when a request names no maximum.</summary>
    [Range(1, 1_000_000)]
    public int DefaultMaxTokens { get; set; } = 1024;

    /// <summary>Upper bound of a request's maximum completion tokens.</summary>
    [Range(1, 10_000_000)]
    public int MaxTokensLimit { get; set; } = 32_768;
}

/// <summary>
/// The upstream named by <c>Endpoint=http://host:port;Provider=Ollama|OpenAI[;Key=...]</c>, or null when the
/// connection string is absent (then the model routes answer 503 and say so).
/// </summary>
internal sealed record LlmUpstream(Uri Endpoint, LlmProvider Provider, string? Key)
{
    public static LlmUpstream? FromConnectionString(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return null;
        }

        var parts = new DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!parts.TryGetValue("Endpoint", out var endpoint) || !Uri.TryCreate(endpoint?.ToString(), UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException("ConnectionStrings:llm needs Endpoint=http(s)://host:port.");
        }

        var provider = LlmProvider.Ollama;
        if (parts.TryGetValue("Provider", out var name) && !Enum.TryParse(name?.ToString(), ignoreCase: true, out provider))
        {
            throw new InvalidOperationException($"ConnectionStrings:llm has Provider={name}; use Ollama or OpenAI.");
        }

        var key = parts.TryGetValue("Key", out var k) ? k?.ToString() : null;
        return new LlmUpstream(new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/"), provider, string.IsNullOrEmpty(key) ? null : key);
    }
}
