using System.Collections.Concurrent;
using System.Diagnostics;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

/// <summary>
/// What a model call puts in a sampled trace. The gateway records its span's attributes only when the trace is
/// sampled (unsampled calls still carry the trace context, with nothing recorded), so this checks that a sampled
/// call still gets all of them: a caller that sends a sampled <c>traceparent</c> finds the call in its trace.
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
}
