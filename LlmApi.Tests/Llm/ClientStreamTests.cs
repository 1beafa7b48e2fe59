using System.Buffers;
using System.Text;
using LlmApi.Api.Llm.Formats;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

/// <summary>
/// Stream pieces translated from the other format, byte for byte as the client's own kind of server writes them: the
/// writers emit them field by field, so the order and the escaping are pinned here.
/// </summary>
public class ClientStreamTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 21, 45, 1, 250, TimeSpan.Zero);

    [Fact]
    public void OpenAI_chat_pieces_from_an_Ollama_stream_are_written_as_OpenAI_writes_them()
    {
        // Ollama sends tool calls whole, each with the id the reader gave it.
        var written = Written(new OpenAiTranslatingStream(chat: true, "chatcmpl-1", 1795811136, "llama3", includeUsage: true),
            new() { Text = "Hel" },
            new() { Thinking = "hmm \"quoted\" <b> é\n" },
            new() { Text = "lo", Thinking = "and" },
            new() { ToolCalls = [new ToolCallDelta(0, "call_1", "lookup", "{\"q\":1}"), new ToolCallDelta(1, "call_2", null, null)] },
            new() { End = true, FinishReason = FinishReasons.Stop, Usage = new TokenUsage(7, 3) });

        Assert.Equal("""
            data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1795811136,"model":"llama3","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"logprobs":null,"finish_reason":null}]}

            data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1795811136,"model":"llama3","choices":[{"index":0,"delta":{"reasoning_content":"hmm \"quoted\" <b> é\n"},"logprobs":null,"finish_reason":null}]}

            data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1795811136,"model":"llama3","choices":[{"index":0,"delta":{"content":"lo","reasoning_content":"and"},"logprobs":null,"finish_reason":null}]}

            data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1795811136,"model":"llama3","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"q\":1}"}},{"index":1,"id":"call_2","type":"function","function":{"name":null,"arguments":"{}"}}]},"logprobs":null,"finish_reason":null}]}

            data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1795811136,"model":"llama3","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}

            data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1795811136,"model":"llama3","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}

            data: [DONE]


            """.ReplaceLineEndings("\n"), written);
    }

    [Fact]
    public void OpenAI_text_completion_pieces_from_an_Ollama_stream_are_written_as_OpenAI_writes_them()
    {
        var written = Written(new OpenAiTranslatingStream(chat: false, "cmpl-1", 1795811136, "llama3", includeUsage: false),
            new() { Text = "Hel" },
            new() { Text = "lo" },
            new() { End = true, FinishReason = FinishReasons.Length, Usage = new TokenUsage(7, 2) });

        Assert.Equal("""
            data: {"id":"cmpl-1","object":"text_completion","created":1795811136,"model":"llama3","choices":[{"text":"Hel","index":0,"logprobs":null,"finish_reason":null}]}

            data: {"id":"cmpl-1","object":"text_completion","created":1795811136,"model":"llama3","choices":[{"text":"lo","index":0,"logprobs":null,"finish_reason":null}]}

            data: {"id":"cmpl-1","object":"text_completion","created":1795811136,"model":"llama3","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}]}

            data: [DONE]


            """.ReplaceLineEndings("\n"), written);
    }

    [Fact]
    public void Ollama_chat_and_generate_pieces_from_an_OpenAI_stream_are_written_as_Ollama_writes_them()
    {
        // OpenAI streams a tool call's arguments in fragments; Ollama gets it whole, once the call is finished.
        Delta[] pieces =
        [
            new() { Text = "Hel" },
            new() { Thinking = "hmm \"quoted\" <b> é\n" },
            new() { Text = "lo", Thinking = "and" },
            new() { ToolCalls = [new ToolCallDelta(0, "call_1", "lookup", "{\"q\":")] },
            new() { ToolCalls = [new ToolCallDelta(0, null, null, "1}")] },
            new() { FinishReason = FinishReasons.ToolCalls, Usage = new TokenUsage(7, 3) },
            new() { End = true },
        ];

        Assert.Equal("""
            {"model":"llama3","created_at":"2026-11-27T21:45:01.25+00:00","message":{"role":"assistant","content":"Hel"},"done":false}
            {"model":"llama3","created_at":"2026-11-27T21:45:01.25+00:00","message":{"role":"assistant","content":"","thinking":"hmm \"quoted\" <b> é\n"},"done":false}
            {"model":"llama3","created_at":"2026-11-27T21:45:01.25+00:00","message":{"role":"assistant","content":"lo","thinking":"and"},"done":false}
            {"model":"llama3","created_at":"2026-11-27T21:45:01.25+00:00","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"lookup","arguments":{"q":1}}}]},"done":false}
            {"model":"llama3","created_at":"2026-11-27T21:45:01.25+00:00","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":7,"eval_count":3}

            """.ReplaceLineEndings("\n"), Written(new OllamaTranslatingStream(chat: true, "llama3", new SettableClock(Now), annotate: null), pieces));
        Assert.Equal("""
            {"model":"llama3","created_at":"2026-11-27T21:45:01.25+00:00","response":"Hel","done":false}
            {"model":"llama3","created_at":"2026-11-27T21:45:01.25+00:00","response":"","thinking":"hmm \"quoted\" <b> é\n","done":false}
            {"model":"llama3","created_at":"2026-11-27T21:45:01.25+00:00","response":"lo","thinking":"and","done":false}
            {"model":"llama3","created_at":"2026-11-27T21:45:01.25+00:00","response":"","done":false}
            {"model":"llama3","created_at":"2026-11-27T21:45:01.25+00:00","response":"","done":true,"done_reason":"stop","prompt_eval_count":7,"eval_count":3}

            """.ReplaceLineEndings("\n"), Written(new OllamaTranslatingStream(chat: false, "llama3", new SettableClock(Now), annotate: null), pieces));
    }

    private static string Written(ClientStream stream, params Delta[] pieces)
    {
        var output = new ArrayBufferWriter<byte>();
        using (stream)
        {
            foreach (var piece in pieces)
            {
                stream.Write(piece, default, output);
            }
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }
}
