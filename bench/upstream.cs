#:sdk Microsoft.NET.Sdk.Web
// A model upstream that answers at once, for measuring what gateways add (bench/gateway.sh, bench/sidebyside.sh). It
// speaks Ollama's /api/chat and OpenAI's /v1/chat/completions: a fixed answer, or with "stream": true a stream of
// chunks; on /api/chat the model name "big" streams about 1 MB.
using System.Text;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

var answer = Encoding.UTF8.GetBytes(
    """{"model":"bench","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"Hello from the model!"},"done":true,"done_reason":"stop","prompt_eval_count":10,"eval_count":5}""");
var chunk = Encoding.UTF8.GetBytes("""{"model":"bench","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"Hello"},"done":false}""" + "\n");
var bigChunk = Encoding.UTF8.GetBytes("""{"model":"big","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":" """ + new string('x', 1000) + "\"},\"done\":false}\n");
var final = Encoding.UTF8.GetBytes("""{"model":"bench","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":10,"eval_count":5}""" + "\n");

// The gateway routes only models an upstream lists.
app.MapGet("/api/tags", () => Results.Text("""{"models":[{"name":"bench","model":"bench"},{"name":"big","model":"big"}]}""", "application/json"));
app.MapPost("/api/chat", async (HttpContext http) =>
{
    var body = await new StreamReader(http.Request.Body).ReadToEndAsync();
    var big = body.Contains("\"big\"", StringComparison.Ordinal);
    if (!body.Contains("\"stream\":true", StringComparison.Ordinal))
    {
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(answer);
        return;
    }

    http.Response.ContentType = "application/x-ndjson";
    for (var i = 0; i < (big ? 1000 : 5); i++)
    {
        await http.Response.Body.WriteAsync(big ? bigChunk : chunk);
        await http.Response.Body.FlushAsync();
    }

    await http.Response.Body.WriteAsync(final);
});

var openAiAnswer = Encoding.UTF8.GetBytes(
    """{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the model!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}""");
var openAiChunk = Encoding.UTF8.GetBytes(
    """data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"bench","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]}""" + "\n\n");
var openAiEnd = Encoding.UTF8.GetBytes(
    """data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"bench","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""" + "\n\n"
    + """data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"bench","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}""" + "\n\ndata: [DONE]\n\n");

app.MapGet("/v1/models", () => Results.Text("""{"object":"list","data":[{"id":"bench","object":"model","created":1,"owned_by":"bench"}]}""", "application/json"));
app.MapPost("/v1/chat/completions", async (HttpContext http) =>
{
    var body = await new StreamReader(http.Request.Body).ReadToEndAsync();
    if (!body.Contains("\"stream\":true", StringComparison.Ordinal))
    {
        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(openAiAnswer);
        return;
    }

    http.Response.ContentType = "text/event-stream";
    for (var i = 0; i < 5; i++)
    {
        await http.Response.Body.WriteAsync(openAiChunk);
        await http.Response.Body.FlushAsync();
    }

    await http.Response.Body.WriteAsync(openAiEnd);
});

app.Run();
