#:sdk Microsoft.NET.Sdk.Web
#:package Aspire.StackExchange.Redis
// The least a gateway of this design does for a streamed chat call, as a floor to measure the real one against: one
// Redis script before the model server is asked (a trivial one where the gateway's checks the key and the limits),
// the upstream's stream copied through as it comes, one script after. No authentication, parsing, limits, translation,
// resilience or telemetry. OpenAI's /v1/chat/completions only, for bench/first-token.py (docs/benchmarks.md, issue
// 11, eighteenth pass), with the runtime settings the API is measured with (bench/common.sh's `deployed`):
//
//     source bench/common.sh; env "${deployed[@]}" dotnet run -c Release bench/floor.cs -- --urls http://127.0.0.1:5097 \
//         --Floor:Redis 127.0.0.1:6399 --Floor:Upstream http://127.0.0.1:5199
using StackExchange.Redis;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();

var redisOptions = ConfigurationOptions.Parse(app.Configuration["Floor:Redis"] ?? "127.0.0.1:6399");
redisOptions.SocketManager = SocketManager.ThreadPool; // as the API connects
var redis = await ConnectionMultiplexer.ConnectAsync(redisOptions);
var database = redis.GetDatabase();
var script = await LuaScript.Prepare("return redis.call('INCR', @key)").LoadAsync(redis.GetServer(redis.GetEndPoints()[0]));
var upstream = new Uri(new Uri(app.Configuration["Floor:Upstream"] ?? "http://127.0.0.1:5199"), "/v1/chat/completions");
using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false });

app.MapPost("/v1/chat/completions", async (HttpContext context) =>
{
    using var body = new MemoryStream();
    await context.Request.Body.CopyToAsync(body, context.RequestAborted);
    await script.EvaluateAsync(database, new { key = (RedisKey)"floor:admitted" });

    using var request = new HttpRequestMessage(HttpMethod.Post, upstream)
    {
        Content = new ByteArrayContent(body.ToArray()) { Headers = { ContentType = new("application/json") } },
    };
    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
    context.Response.StatusCode = (int)response.StatusCode;
    context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
    await using var stream = await response.Content.ReadAsStreamAsync(context.RequestAborted);
    var buffer = new byte[16 * 1024];
    int read;
    while ((read = await stream.ReadAsync(buffer, context.RequestAborted)) > 0)
    {
        await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    await script.EvaluateAsync(database, new { key = (RedisKey)"floor:settled" });
});

app.Run();
