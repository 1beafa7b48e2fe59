using System.Diagnostics;
using LlmApi.Api.Auth;
using LlmApi.Api.Llm.Formats;

namespace LlmApi.Api.Llm.Pipeline;

/// <summary>The state of one model call while it runs, from admission to settlement.</summary>
/// <param name="startedAt">When the gateway took the call (<see cref="Stopwatch.GetTimestamp"/>): its durations include admission.</param>
internal sealed class Exchange(HttpContext http, Caller caller, ModelRequest request, DateTimeOffset now, long startedAt)
{
    public HttpContext Http { get; } = http;

    public Caller Caller { get; } = caller;

    public ModelRequest Request { get; } = request;

    /// <summary>The public model name the call is answered under: the one asked for, or its fallback.</summary>
    public string Model { get; set; } = request.Model;

    /// <summary>The upstream answering, once one has (its slot is held until the call ends).</summary>
    public PlannedTarget? Target { get; set; }

    public long Created { get; } = now.ToUnixTimeSeconds();

    public long StartedAt { get; } = startedAt;

    /// <summary>Response headers have gone to the client: from here on, failures end the stream instead of answering an error.</summary>
    public bool Started { get; set; }

    public bool Completed { get; set; }

    /// <summary>Stream pieces that carried generated content.</summary>
    public int Chunks { get; set; }

    public TokenUsage Usage { get; set; }

    public string? ErrorType { get; set; }

    public TagList Tags()
    {
        var tags = new TagList
        {
            { "gen_ai.operation.name", Request.Operation },
            { "gen_ai.request.model", Request.Model }, // what was asked for; after a fallback the answer's model differs
            { "tenant.id", Caller.TenantIdText },
        };
        if (Target is { } target)
        {
            tags.Add("gen_ai.provider.name", target.Upstream.Provider == LlmProvider.Ollama ? "ollama" : "openai");
            tags.Add("gen_ai.response.model", target.ServedModel);
            tags.Add("llm.upstream", target.Upstream.Name);
        }

        if (ErrorType is { } error)
        {
            tags.Add("error.type", error);
        }

        return tags;
    }
}
