#:sdk Microsoft.NET.Sdk.Web
// A model upstream that answers at once, for measuring what the gateway adds (bench/gateway.sh). It speaks Ollama's
// /api/chat: a fixed answer, or with "stream": true a stream of chunks; the model name "big" streams about 1 MB.
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

app.Run();
