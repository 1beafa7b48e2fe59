using System.Collections.Concurrent;
using System.Diagnostics;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

/// <summary>
/// What a model call puts in a trace. A caller that sends a sampled <c>traceparent</c> finds the call in its trace
/// with all its attributes (the gateway records them only in sampled traces). One that sends an unsampled one costs
/// the gateway no spans (OpenTelemetry's parent-based sampler builds no child of a span it does not record), and the
/// upstream still receives the caller's trace, carried by the request's own span.
/// </summary>
[Collection(SharedApi.Name)]
public class TracingTests(ApiFixture fixture)
{
    [Fact]
    public async Task A_sampled_model_call_records_its_span_with_the_genai_attributes_and_its_two_redis_scripts()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        var (_, key) = await client.CreateKeyAsync(account.Token);
        var traceId = ActivityTraceId.CreateRandom();
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "LlmApi.Gateway" or "Microsoft.AspNetCore" or "System.Net.Http",
            // This trace only (the test's client, the API, the upstream); every other test's calls are left to the API's own sampling.
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                options.TraceId == traceId ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == traceId)
                {
                    stopped.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        // The caller's own sampled span: the client sends it on as traceparent.
        using (new Activity("caller").SetParentId(traceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded).Start())
        {
            using var request = LlmCalls.OpenAiChat(key);
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsByteArrayAsync();
        }

        var call = Assert.Single(stopped, a => a.Source.Name == "LlmApi.Gateway" && a.Kind == ActivityKind.Internal);
        Assert.Equal("chat llama3", call.DisplayName);
        Assert.Equal("chat", call.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("llama3", call.GetTagItem("gen_ai.request.model"));
        Assert.Equal(account.TenantId.ToString("D"), call.GetTagItem("tenant.id"));
        Assert.NotNull(call.GetTagItem("gen_ai.response.model"));
        Assert.Equal(FakeUpstream.PromptTokens, call.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.True(call.GetTagItem("gen_ai.usage.output_tokens") is int output && output > 0);
        Assert.Equal(ActivityStatusCode.Unset, call.Status);

        // Admission comes before the call's span starts (a refused call has none); settlement ends inside it.
        var admit = Assert.Single(stopped, a => a.DisplayName == "EVALSHA admit");
        var settle = Assert.Single(stopped, a => a.DisplayName == "EVALSHA settle");
        Assert.Equal(call.ParentSpanId, admit.ParentSpanId);
        Assert.Equal(call.SpanId, settle.ParentSpanId);
        Assert.All([admit, settle], script =>
        {
            Assert.Equal(ActivityKind.Client, script.Kind);
            Assert.Equal("redis", script.GetTagItem("db.system.name"));
            Assert.Equal("EVALSHA", script.GetTagItem("db.operation.name"));
        });
    }

    [Fact]
    public async Task An_unsampled_model_call_starts_none_of_the_gateways_spans_and_still_passes_the_trace_to_the_upstream()
    {
        using var client = fixture.CreateClient();
        var account = await client.RegisterAsync();
        var (_, key) = await client.CreateKeyAsync(account.Token);
        var traceId = ActivityTraceId.CreateRandom();
        var started = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "LlmApi.Gateway" or "Microsoft.AspNetCore" or "System.Net.Http",
            // Asks for nothing itself: what the API's own sampler builds in this trace is what gets started.
            Sample = (ref ActivityCreationOptions<ActivityContext> options) => ActivitySamplingResult.None,
            ActivityStarted = activity =>
            {
                if (activity.TraceId == traceId)
                {
                    started.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        // The caller's own span, not sampled: the client sends it on as traceparent with the sampled flag clear.
        using (new Activity("caller").SetParentId(traceId, ActivitySpanId.CreateRandom(), ActivityTraceFlags.None).Start())
        {
            using var request = LlmCalls.OpenAiChat(key);
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsByteArrayAsync();
        }

        // The API did take part in the trace (its request span), but started nothing of the gateway's in it.
        Assert.Contains(started, a => a.Source.Name == "Microsoft.AspNetCore");
        Assert.DoesNotContain(started, a => a.Source.Name == "LlmApi.Gateway");
        Assert.Contains(fixture.Upstream.TraceParents, parent => parent.StartsWith($"00-{traceId}-", StringComparison.Ordinal) && parent.EndsWith("-00", StringComparison.Ordinal));
    }
}
