using System.Diagnostics;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

/// <summary>
/// What the API's own tracing pipeline records of a model call (the spans its exporter would send, as configured in
/// every environment). A caller that sends a sampled <c>traceparent</c> finds the call in its trace: the call's span
/// with the GenAI attributes, its two Redis scripts, and the request to the model server, each under its parent.
/// One that sends an unsampled one gets nothing recorded, and the model server still receives the caller's trace.
/// </summary>
[Collection(SharedApi.Name)]
public class TracingTests(ApiFixture fixture)
{
    [Fact]
    public async Task A_sampled_model_call_records_its_span_its_two_redis_scripts_and_the_upstream_request()
    {
        var (account, traceId, spans) = await CallInTraceAsync(ActivityTraceFlags.Recorded);

        var call = Assert.Single(spans, a => a.Source.Name == "LlmApi.Gateway" && a.Kind == ActivityKind.Internal);
        Assert.Equal("chat llama3", call.DisplayName);
        Assert.Equal("chat", call.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("llama3", call.GetTagItem("gen_ai.request.model"));
        Assert.Equal(account.TenantId.ToString("D"), call.GetTagItem("tenant.id"));
        Assert.NotNull(call.GetTagItem("gen_ai.response.model"));
        Assert.Equal(FakeUpstream.PromptTokens, call.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.True(call.GetTagItem("gen_ai.usage.output_tokens") is int output && output > 0);
        Assert.Equal(ActivityStatusCode.Unset, call.Status);

        // Admission comes before the call's span starts (a refused call has none); settlement ends inside it.
        var admit = Assert.Single(spans, a => a.DisplayName == "EVALSHA admit");
        var settle = Assert.Single(spans, a => a.DisplayName == "EVALSHA settle");
        Assert.Equal(call.ParentSpanId, admit.ParentSpanId);
        Assert.Equal(call.SpanId, settle.ParentSpanId);
        Assert.All([admit, settle], script =>
        {
            Assert.Equal(ActivityKind.Client, script.Kind);
            Assert.Equal("redis", script.GetTagItem("db.system.name"));
            Assert.Equal("EVALSHA", script.GetTagItem("db.operation.name"));
        });

        // The request to the model server, inside the call's span, with HTTP's semantic conventions.
        var upstream = Assert.Single(spans, a => a.Source.Name == "System.Net.Http" && a.ParentSpanId == call.SpanId);
        Assert.Equal(ActivityKind.Client, upstream.Kind);
        Assert.Equal("POST", upstream.GetTagItem("http.request.method"));
        Assert.Equal(fixture.Upstream.Url + "/api/chat", upstream.GetTagItem("url.full"));
        Assert.Equal(200, upstream.GetTagItem("http.response.status_code"));
        Assert.Contains(fixture.Upstream.TraceParents, parent => parent == $"00-{traceId}-{upstream.SpanId}-01");
    }

    [Fact]
    public async Task An_unsampled_model_call_records_nothing_and_still_passes_the_trace_to_the_upstream()
    {
        var (_, traceId, spans) = await CallInTraceAsync(ActivityTraceFlags.None);

        // The call's span and the upstream request's end before the answer is sent: had either been recorded, it would be here.
        Assert.Empty(spans);
        Assert.Contains(fixture.Upstream.TraceParents, parent => parent.StartsWith($"00-{traceId}-", StringComparison.Ordinal) && parent.EndsWith("-00", StringComparison.Ordinal));
    }

    /// <summary>
    /// A chat call with an API key made inside a span of the caller's, sampled or not as <paramref name="flags"/> say
    /// (the client sends it on as traceparent); the spans the API's pipeline records of that trace.
    /// </summary>
    private async Task<(TenantAccount Account, ActivityTraceId TraceId, IReadOnlyCollection<Activity> Spans)> CallInTraceAsync(ActivityTraceFlags flags)
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        var (_, key) = await client.CreateKeyAsync(account.Token);
        var traceId = ActivityTraceId.CreateRandom();
        var spans = fixture.Api.Spans.Watch(traceId);
        using (new Activity("caller").SetParentId(traceId, ActivitySpanId.CreateRandom(), flags).Start())
        {
            using var request = LlmCalls.OpenAiChat(key);
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsByteArrayAsync();
        }

        return (account, traceId, spans);
    }
}
