using System.Text;
using System.Text.Json;
using LlmApi.Api.Llm.Formats;

namespace LlmApi.Tests.Llm;

/// <summary>
/// One line of an Ollama-format upstream stream read into the shared piece: what is taken from where, what a value of
/// the wrong type reads as, and what is refused. The reader runs once per piece of every stream from an Ollama server.
/// </summary>
public class StreamChunkTests
{
    [Fact]
    public void A_chat_piece_gives_its_text_and_reasoning()
    {
        var piece = Read("""{"model":"llama3","created_at":"2026-11-27T21:45:01Z","message":{"role":"assistant","content":"Hel \"lo\" é","thinking":"hmm"},"done":false}""");

        Assert.Equal("Hel \"lo\" é", piece.Text);
        Assert.Equal("hmm", piece.Thinking);
        Assert.False(piece.End);
        Assert.Null(piece.FinishReason);
        Assert.Null(piece.Usage);
        Assert.Null(piece.ToolCalls);
        Assert.True(piece.HasContent);
    }

    [Fact]
    public void A_generate_piece_gives_its_response_and_reasoning()
    {
        var piece = Read("""{"model":"llama3","response":"Hel","thinking":"hmm","done":false}""");

        Assert.Equal("Hel", piece.Text);
        Assert.Equal("hmm", piece.Thinking);
        Assert.False(piece.End);
    }

    [Theory]
    [InlineData("""{"done":true,"done_reason":"stop","prompt_eval_count":7,"eval_count":3}""", "stop", 7, 3)]
    [InlineData("""{"done":true,"done_reason":"length","prompt_eval_count":7,"eval_count":3}""", "length", 7, 3)]
    [InlineData("""{"done":true,"done_reason":"load"}""", "stop", 0, 0)]
    [InlineData("""{"done":true,"prompt_eval_count":7.5,"eval_count":"3"}""", "stop", 0, 0)]
    public void The_last_line_ends_the_stream_with_why_and_the_counts(string line, string finish, int prompt, int completion)
    {
        var piece = Read(line);

        Assert.True(piece.End);
        Assert.Equal(finish, piece.FinishReason);
        Assert.Equal(new TokenUsage(prompt, completion), piece.Usage);
        Assert.False(piece.HasContent);
    }

    [Fact]
    public void Tool_calls_get_ids_and_their_arguments_as_compact_JSON_text()
    {
        var piece = Read("""
            {"message":{"role":"assistant","content":"","tool_calls":[
              {"function":{"name":"lookup","arguments":{ "q" : "é <b>", "n" : 1.50, "list" : [ 1, null ] }}},
              {"function":{"name":"now"}},
              {"function":{"name":"text","arguments":"as text"}}]},"done":false}
            """.ReplaceLineEndings(" "));

        Assert.Collection(piece.ToolCalls!,
            call =>
            {
                Assert.Equal(0, call.Index);
                Assert.Equal("lookup", call.Name);
                Assert.Equal("""{"q":"\u00E9 \u003Cb\u003E","n":1.50,"list":[1,null]}""", call.Arguments);
            },
            call =>
            {
                Assert.Equal(1, call.Index);
                Assert.Equal("now", call.Name);
                Assert.Equal("{}", call.Arguments);
            },
            call =>
            {
                Assert.Equal(2, call.Index);
                Assert.Equal("\"as text\"", call.Arguments);
            });
        Assert.All(piece.ToolCalls!, call => Assert.StartsWith("call_", call.Id));
        Assert.Equal(3, piece.ToolCalls!.Select(c => c.Id).Distinct().Count());
        Assert.True(piece.HasContent);
    }

    [Theory]
    [InlineData("""{"message":{"content":5,"thinking":["x"]},"done":"true"}""")]
    [InlineData("""{"message":"text","response":null,"done":1}""")]
    [InlineData("""{"message":{"tool_calls":{"function":{}}}}""")]
    [InlineData("""{"message":{"tool_calls":[]}}""")]
    [InlineData("""{}""")]
    public void Values_of_the_wrong_type_read_as_absent(string line)
    {
        var piece = Read(line);

        Assert.Null(piece.Text);
        Assert.Null(piece.Thinking);
        Assert.Null(piece.ToolCalls);
        Assert.False(piece.End);
        Assert.False(piece.HasContent);
    }

    [Theory]
    [InlineData("""[{"done":true}]""")]
    [InlineData("\"done\"")]
    [InlineData("null")]
    [InlineData("""{"done":true""")]
    [InlineData("""{"done":true} {"done":true}""")]
    [InlineData("data: {}")]
    public void A_line_that_is_not_one_JSON_object_is_refused(string line)
    {
        Assert.ThrowsAny<JsonException>(() => Read(line));
    }

    /// <summary>
    /// An OpenAI stream passed through unchanged is read without copying its text out; it must count the same pieces as
    /// content (time to first token, and what a stream cut short is charged) and read the same usage as the full reader.
    /// </summary>
    [Theory]
    [InlineData("""data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"delta":{"content":"\n"}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"delta":{"content":null,"reasoning_content":"hmm"}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"delta":{"reasoning_content":""}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{"}}]}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"delta":{"tool_calls":[]}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"delta":{"tool_calls":[1,"x"]}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"text":"lo","finish_reason":null}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"text":"","delta":{"content":"x"}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"text":"x","delta":{"content":""}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"text":"x","delta":{"content":5}}]}""")]
    [InlineData("""data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}""")]
    [InlineData("""data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}""")]
    [InlineData("""data: {"choices":[{"index":0,"delta":{"content":"!"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}""")]
    [InlineData("""data: {"choices":"x","delta":{"content":"x"}}""")]
    [InlineData("""data: [DONE]""")]
    [InlineData(""": keep-alive""")]
    public void A_passed_through_openai_chunk_counts_as_the_full_reader_counts(string line)
    {
        var utf8 = Encoding.UTF8.GetBytes(line);
        var full = OpenAiWire.ReadChunk(utf8);
        var passed = OpenAiWire.ReadPassedChunk(utf8);

        Assert.Equal(full is null, passed is null);
        Assert.Equal(full?.HasContent, passed?.HasContent);
        Assert.Equal(full?.Usage, passed?.Usage);
        Assert.Equal(full?.UsageOnly, passed?.UsageOnly);
        Assert.Equal(full?.End, passed?.End);
        Assert.Null(passed?.Text);
    }

    /// <summary>
    /// JSON may escape half a surrogate pair, which no .NET string can hold: such a piece is refused (the stream ends
    /// there), in a value or in a member name, while a whole pair, or a backslash that only looks like the start of
    /// one, reads as text.
    /// </summary>
    [Theory]
    [InlineData("""{"message":{"content":"Hel\ud800"},"done":false}""", null)]
    [InlineData("""{"message":{"content":"Hel\uDC00lo"},"done":false}""", null)]
    [InlineData("""{"message":{"content\ud83d":"Hel"},"done":false}""", null)]
    [InlineData("""{"message":{"content":"Hel\ud83d\ude00"},"done":false}""", "Hel\U0001F600")]
    [InlineData("""{"message":{"content":"Hel\\ud800"},"done":false}""", "Hel\\ud800")]
    public void A_piece_with_a_lone_surrogate_is_refused_and_a_pair_is_read(string line, string? text)
    {
        if (text is null)
        {
            Assert.ThrowsAny<JsonException>(() => Read(line));
            Assert.ThrowsAny<JsonException>(() => OpenAiWire.ReadPassedChunk(Encoding.UTF8.GetBytes("data: " + line)));
        }
        else
        {
            Assert.Equal(text, Read(line).Text);
        }
    }

    private static Delta Read(string line) => OllamaWire.ReadChunk(Encoding.UTF8.GetBytes(line));
}
