using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmApi.Api.ApiKeys;
using LlmApi.Api.Auth;
using LlmApi.Api.Infrastructure;
using LlmApi.Api.Llm.Formats;
using LlmApi.Api.Llm.Routing;
using LlmApi.Api.Llm.Upstreams;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Llm.Pipeline;

/// <summary>
/// The one call pipeline every model route shares: admit (route the model, check the key, translate for the candidate
/// upstreams, reserve the worst case against the limits), pick and call (least loaded upstream, the next one on
/// failure, then the fallback model), relay (the whole answer, or the stream piece by piece, in the client's format),
/// settle (real usage replaces the reservation; the call is metered and measured). The client going away, or
/// <see cref="LlmOptions.Timeout"/>, cancels the upstream call.
/// </summary>
internal sealed partial class ModelGateway(
    UpstreamPool pool, ModelRouter router, UpstreamCaller upstreams, UsageLimiter limiter, GatewayTelemetry telemetry,
    ApiKeyVerifier keys, ApiKeyCache keyCache, IOptions<LlmOptions> options, TimeProvider clock, ILogger<ModelGateway> logger)
{
    /// <summary>(key, user, model) triples whose metering dimensions one replica remembers at most.</summary>
    private const int DimensionsCapacity = 4_096;

    private readonly ConcurrentDictionary<(Guid Key, Guid User, string Model), string[]> _dimensions = new();

    public async Task<IResult> CallAsync(HttpContext http, Caller caller, ModelRequest request, Action<JsonObject>? annotate = null)
    {
        // The call's duration and time to first token count from here, so they include the gateway's own admission.
        var startedAt = Stopwatch.GetTimestamp();
        if (!pool.IsConfigured)
        {
            return await RefuseAsync(http, caller, GatewayResults.NoUpstream());
        }

        if (caller.Key is { } key && !key.Allows(request.Model))
        {
            return await RefuseAsync(http, caller, GatewayResults.ModelNotAllowed(request.Model));
        }

        if (await router.ResolveAsync(request.Model, http.RequestAborted) is not { } route)
        {
            return await RefuseAsync(http, caller, GatewayResults.ModelNotFound(request.Model));
        }

        var plan = CallPlan.Create(request, route);
        if (plan.Refusal is { } refusal)
        {
            return await RefuseAsync(http, caller, GatewayResults.Untranslatable(refusal));
        }

        var admitting = Stopwatch.GetTimestamp();
        var admission = await limiter.AdmitAsync(caller, request.ReservedTokens);
        telemetry.Admission.Record(Stopwatch.GetElapsedTime(admitting).TotalSeconds,
            new KeyValuePair<string, object?>("tenant.id", caller.TenantIdText),
            new KeyValuePair<string, object?>("llmapi.admission.result", admission switch
            {
                { KeyRefusal: not null } => "key",
                { Refusal: not null } => "limit",
                _ => "admitted",
            }));
        if (admission.KeyRefusal is { } keyRefusal)
        {
            keyCache.Remove(caller.Key!.KeyId);
            return GatewayResults.KeyRefused(http, keyRefusal == KeyRefusal.KeyInvalid ? ApiKeyVerifier.InvalidKey : ApiKeyVerifier.InactiveTenant);
        }

        caller.KeyChecked();
        if (admission.Refusal is { } limitRefusal)
        {
            return GatewayResults.TooManyRequests(http, limitRefusal);
        }

        var lease = admission.Lease!;

        var exchange = new Exchange(http, caller, request, clock.GetUtcNow(), startedAt);
        // No activity in a trace that is not being recorded (OpenTelemetry's parent-based sampler builds none under an
        // unrecorded parent); one that only carries the context for some listener gets no attributes either.
        using var activity = GatewayTelemetry.Source.StartActivity($"{request.Operation} {request.Model}");
        var recorded = activity is { IsAllDataRequested: true };
        if (recorded)
        {
            activity!.SetTag("gen_ai.operation.name", request.Operation);
            activity.SetTag("gen_ai.request.model", request.Model);
            activity.SetTag("tenant.id", caller.TenantIdText);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        deadline.CancelAfter(options.Value.Timeout);
        try
        {
            return await RunAsync(exchange, plan, annotate, deadline.Token);
        }
        catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested && !exchange.Started)
        {
            exchange.ErrorType = "timeout";
            return GatewayResults.Timeout(options.Value.Timeout);
        }
        catch (JsonException) when (!exchange.Started)
        {
            exchange.ErrorType = "upstream_invalid_response";
            return GatewayResults.InvalidAnswer();
        }
        catch (Exception e) when (!exchange.Started && e is HttpRequestException or IOException)
        {
            exchange.ErrorType = "upstream_error";
            return GatewayResults.Unreachable();
        }
        catch (Exception e) when (exchange.Started && e is OperationCanceledException or HttpRequestException or IOException or JsonException)
        {
            // The stream had begun, so its status is sent; the client sees it end early.
            exchange.ErrorType = http.RequestAborted.IsCancellationRequested ? "client_cancelled" : "stream_interrupted";
            LogStreamEnded(logger, request.Model, exchange.ErrorType);
            return TypedResults.Empty;
        }
        finally
        {
            exchange.Target?.Upstream.Exit();
            await SettleAsync(lease, exchange);
            if (recorded)
            {
                activity!.SetTag("gen_ai.response.model", exchange.Target?.ServedModel);
                activity.SetTag("gen_ai.usage.input_tokens", exchange.Usage.PromptTokens);
                activity.SetTag("gen_ai.usage.output_tokens", exchange.Usage.CompletionTokens);
                if (exchange.ErrorType is { } error)
                {
                    activity.SetStatus(ActivityStatusCode.Error, error);
                }
            }
        }
    }

    /// <summary>
    /// Answers <paramref name="refusal"/>, unless the caller's key came unchecked from the cache and no longer works:
    /// then, as authentication would have, 401. So the holder of a deleted key learns nothing else from a refusal.
    /// </summary>
    public async Task<IResult> RefuseAsync(HttpContext http, Caller caller, IResult refusal)
    {
        if (caller.KeyCheckPending && caller.Key is { } cached)
        {
            var (_, _, failure) = await keys.VerifyAsync(caller.TenantId, cached.KeyId, stored => stored.SecretHash == cached.SecretHash);
            if (failure is not null)
            {
                return GatewayResults.KeyRefused(http, failure);
            }

            caller.KeyChecked();
        }

        return refusal;
    }

    private async Task<IResult> RunAsync(Exchange exchange, CallPlan plan, Action<JsonObject>? annotate, CancellationToken cancellationToken)
    {
        var outcome = await upstreams.CallAsync(plan.Targets, cancellationToken);
        if (outcome.Result is AttemptResult.Failed or AttemptResult.NoneAvailable && FallbackPlan(exchange, plan.Model) is { } fallback)
        {
            LogFallback(logger, plan.Model, fallback.Model);
            exchange.Model = fallback.Model;
            outcome = await upstreams.CallAsync(fallback.Targets, cancellationToken);
        }

        switch (outcome.Result)
        {
            case AttemptResult.Failed or AttemptResult.NoneAvailable:
                exchange.ErrorType = outcome.Failure;
                return GatewayResults.Unavailable(exchange.Http, exchange.Model, outcome);
            case AttemptResult.Refused:
                using (var refused = outcome.Response!)
                {
                    exchange.ErrorType = ((int)refused.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return GatewayResults.Refused((int)refused.StatusCode, await ErrorMessageAsync(refused.Content, cancellationToken));
                }
        }

        exchange.Target = outcome.Target;
        using var response = outcome.Response!;
        if (!exchange.Request.Stream && Translation.PassesThrough(exchange.Request, exchange.Target!.Call))
        {
            // Same format both sides: checked and metered, but never parsed into a tree and written again.
            var bytes = await UpstreamJson.ReadUtf8Async(response.Content, cancellationToken);
            exchange.Usage = OpenAiWire.CheckPassedThrough(bytes, chat: exchange.Target.Call.Api == UpstreamApi.OpenAiChat);
            exchange.Completed = true;
            return TypedResults.Bytes(bytes, "application/json; charset=utf-8");
        }

        var context = new AnswerContext(exchange.Request.Api == ClientApi.OpenAiCompletion ? "cmpl-" : "chatcmpl-", exchange.Created, exchange.Model, clock, annotate);
        if (!exchange.Request.Stream)
        {
            var answer = await UpstreamJson.ReadObjectAsync(response.Content, cancellationToken);
            var (body, usage) = Translation.Answer(exchange.Request, exchange.Target!.Call, answer, context);
            exchange.Usage = usage;
            exchange.Completed = true;
            return TypedResults.Json(body, WireJson.Options);
        }

        await RelayAsync(exchange, response, context, cancellationToken);
        return TypedResults.Empty;
    }

    /// <summary>The fallback model's plan, when one is configured, routable, allowed for the key and expressible.</summary>
    private CallPlan? FallbackPlan(Exchange exchange, string model)
    {
        if (router.FallbackOf(model) is not { } fallback || exchange.Caller.Key?.Allows(fallback) == false || router.Resolve(fallback) is not { } route)
        {
            return null;
        }

        var plan = CallPlan.Create(exchange.Request, route);
        return plan.Targets.Count > 0 ? plan : null;
    }

    /// <summary>
    /// Forwards the upstream's stream line by line in the client's format. Whatever has arrived is written, then
    /// flushed at once: a piece is never held back waiting for the next, but pieces that came together leave together.
    /// Lines stay UTF-8 throughout: read from the upstream's buffer, written into the response's.
    /// </summary>
    private async Task RelayAsync(Exchange exchange, HttpResponseMessage response, AnswerContext context, CancellationToken cancellationToken)
    {
        var http = exchange.Http;
        http.Response.ContentType = exchange.Request.IsOpenAi ? "text/event-stream" : "application/x-ndjson";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no"; // proxies that honour it (ingress-nginx) pass each piece on at once
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        exchange.Started = true;

        var (read, write) = Translation.Stream(exchange.Request, exchange.Target!.Call, context);
        var output = http.Response.BodyWriter;
        var upstream = PipeReader.Create(await response.Content.ReadAsStreamAsync(cancellationToken));
        var timed = false;
        try
        {
            while (true)
            {
                // The client's status and headers never wait on the upstream: they are sent before any read that has to
                // wait, so a client has them while the model server reads a long prompt. When the upstream's first piece
                // came with its headers (already read), they leave with that piece in one write.
                var reading = upstream.ReadAsync(cancellationToken);
                var result = reading.IsCompleted || http.Response.HasStarted
                    ? await reading
                    : await StartWhileReadingAsync(http.Response, upstream, reading.AsTask(), cancellationToken);
                var buffer = result.Buffer;
                Delta? end = null;
                var endLine = ReadOnlyMemory<byte>.Empty;
                var lines = 0;
                while (end is null && NextLine(ref buffer, result.IsCompleted) is { } line)
                {
                    end = Relay(exchange, read, write, line, output);
                    endLine = line;
                    lines++;
                }

                // The stream's end goes out only once the call is settled (as the response completes, after settlement):
                // a client that sends its next call the moment it reads the end finds this one's concurrency slot and
                // reservation already given back. So the read that holds the end is not flushed, unless it also holds the
                // stream's first content, which is never held back (the end itself still waits).
                if (lines > 0 && (end is null || !timed) && (!output.CanGetUnflushedBytes || output.UnflushedBytes > 0))
                {
                    await output.FlushAsync(cancellationToken);
                }

                if (end is not null)
                {
                    write.Write(end, endLine.Span, output);
                }

                upstream.AdvanceTo(buffer.Start, buffer.End);

                // Timed once the first content has gone out: the measure is what the client waits for, and recording
                // it is not in the way of the piece itself.
                if (!timed && exchange.Chunks > 0)
                {
                    timed = true;
                    telemetry.TimeToFirstToken.Record(Stopwatch.GetElapsedTime(exchange.StartedAt).TotalSeconds, exchange.Tags());
                }

                if (end is not null)
                {
                    exchange.Completed = true;
                    return;
                }

                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        finally
        {
            write.Dispose();
            await upstream.CompleteAsync();
        }

        exchange.ErrorType = "stream_interrupted"; // the upstream closed its stream before saying it was done
    }

    /// <summary>
    /// Starts the response while <paramref name="reading"/>, a read of the upstream, is out, then waits for that read.
    /// Should starting fail (the client has gone), the read is cancelled and has ended before the failure goes on: the
    /// upstream's reader is then completed, and its buffers given back, with no read still writing into them.
    /// </summary>
    private static async Task<ReadResult> StartWhileReadingAsync(HttpResponse response, PipeReader upstream, Task<ReadResult> reading, CancellationToken cancellationToken)
    {
        try
        {
            // Kestrel's StartAsync only writes the headers into the response's buffer; the flush sends them.
            await response.StartAsync(cancellationToken);
            await response.BodyWriter.FlushAsync(cancellationToken);
        }
        catch
        {
            upstream.CancelPendingRead();
            try
            {
                await reading;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
            {
                // how a cancelled read of a dropped upstream ends; starting's failure is the one that goes on
            }

            throw;
        }

        return await reading;
    }

    /// <summary>
    /// Reads one upstream line and writes the client's bytes for it, unless the upstream said the stream is done: that
    /// last piece is returned unwritten, for the caller to write when it may go.
    /// </summary>
    private static Delta? Relay(Exchange exchange, Func<ReadOnlyMemory<byte>, Delta?> read, ClientStream write, ReadOnlyMemory<byte> line, PipeWriter output)
    {
        if (read(line) is not { } delta)
        {
            return null;
        }

        if (delta.HasContent)
        {
            exchange.Chunks++;
        }

        exchange.Usage = delta.Usage ?? exchange.Usage;
        if (delta.End)
        {
            return delta;
        }

        write.Write(delta, line.Span, output);
        return null;
    }

    /// <summary>
    /// The next line of <paramref name="buffer"/> (without its <c>\n</c> or <c>\r\n</c>), moving past it; at the end of the
    /// stream also a last line that has no newline. Null when no whole line is buffered yet. The line is the buffer's
    /// own memory (valid until the reader is advanced) unless it spans segments; bytes that are not UTF-8 become U+FFFD,
    /// as decoding them would.
    /// </summary>
    private static ReadOnlyMemory<byte>? NextLine(ref ReadOnlySequence<byte> buffer, bool completed)
    {
        ReadOnlySequence<byte> found;
        if (buffer.PositionOf((byte)'\n') is { } newline)
        {
            found = buffer.Slice(0, newline);
            buffer = buffer.Slice(buffer.GetPosition(1, newline));
        }
        else if (completed && !buffer.IsEmpty)
        {
            found = buffer;
            buffer = buffer.Slice(buffer.End);
        }
        else
        {
            return null;
        }

        var line = found.IsSingleSegment ? found.First : found.ToArray();
        if (line.Span.EndsWith((byte)'\r'))
        {
            line = line[..^1];
        }

        return System.Text.Unicode.Utf8.IsValid(line.Span) ? line : Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(line.Span));
    }

    private async Task SettleAsync(UsageLease lease, Exchange exchange)
    {
        // A call that never started produced nothing; one cut short mid-stream is charged what it may have cost:
        // the estimated prompt and one token per piece that went out.
        exchange.Usage = exchange.Completed ? exchange.Usage
            : !exchange.Started ? TokenUsage.None
            : new TokenUsage(exchange.Request.PromptEstimate, exchange.Chunks);

        try
        {
            await limiter.SettleAsync(lease, exchange.Usage, exchange.Completed ? MeteringDimensions(exchange) : null);
        }
        catch (Exception e) when (RedisFailure.Is(e))
        {
            // Settlement comes after the call: the model has been asked, and what the client is about to get (the
            // answer, or why there is none) is what happened. A data-store error instead would have the client retry,
            // and pay for, a call that was made, and would cut short a stream that has already ended. What the failed
            // script left errs on the safe side: at worst the reservation stays counted until its windows end and its
            // lease expires, and the call goes unmetered, which the log records for the operator.
            LogSettlementFailed(logger, exchange.Model, lease.ReservedTokens, exchange.Usage.PromptTokens, exchange.Usage.CompletionTokens, e);
        }

        var tags = exchange.Tags();
        telemetry.Duration.Record(Stopwatch.GetElapsedTime(exchange.StartedAt).TotalSeconds, tags);
        if (exchange.Completed)
        {
            var input = tags;
            input.Add("gen_ai.token.type", "input");
            telemetry.TokenUsage.Record(exchange.Usage.PromptTokens, input);
            if (!exchange.Request.IsEmbedding)
            {
                var output = tags;
                output.Add("gen_ai.token.type", "output");
                telemetry.TokenUsage.Record(exchange.Usage.CompletionTokens, output);
            }
        }
    }

    /// <summary>
    /// The usage counters a call adds to (see <see cref="Usage.UsageStore"/>): totals, model, key or user. The same for
    /// every call of one key or user to one model, so they are made once and remembered (a bounded table, started
    /// afresh past <see cref="DimensionsCapacity"/> entries).
    /// </summary>
    private string[] MeteringDimensions(Exchange exchange)
    {
        var keyId = exchange.Caller.Key?.KeyId ?? Guid.Empty;
        var userId = exchange.Caller.UserOrNull?.UserId ?? Guid.Empty;
        var caller = (keyId, userId, exchange.Model);
        if (_dimensions.TryGetValue(caller, out var known))
        {
            return known;
        }

        var model = exchange.Model;
        var dimensions = new List<string>(6) { "t", "m:" + model };
        if (keyId != Guid.Empty)
        {
            dimensions.Add("k:" + keyId.ToString("D"));
            dimensions.Add($"k:{keyId:D}:m:{model}");
        }

        if (userId != Guid.Empty)
        {
            dimensions.Add("u:" + userId.ToString("D"));
            dimensions.Add($"u:{userId:D}:m:{model}");
        }

        return _dimensions.Remember(caller, [.. dimensions], DimensionsCapacity);
    }

    /// <summary>The message of an upstream's error body: OpenAI's <c>error.message</c> or Ollama's <c>error</c>; null when it has none.</summary>
    private static async Task<string?> ErrorMessageAsync(HttpContent content, CancellationToken cancellationToken)
    {
        try
        {
            var node = UpstreamJson.ParseTree(await UpstreamJson.ReadUtf8Async(content, cancellationToken));
            return JsonRead.String(node.Get("error").Get("message")) ?? JsonRead.String(node.Get("error"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stream for model {Model} ended early: {Reason}")]
    private static partial void LogStreamEnded(ILogger logger, string model, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Settling a call to model {Model} failed: its reservation of {ReservedTokens} tokens may stay "
        + "counted until its windows end, and its usage ({PromptTokens} prompt, {CompletionTokens} completion tokens) may not be metered")]
    private static partial void LogSettlementFailed(ILogger logger, string model, int reservedTokens, int promptTokens, int completionTokens, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Every upstream of model {Model} failed; trying its fallback {Fallback}")]
    private static partial void LogFallback(ILogger logger, string model, string fallback);
}
