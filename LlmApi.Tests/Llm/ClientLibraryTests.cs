using System.ClientModel;
using System.Net.Http.Headers;
using LlmApi.Tests.Infrastructure;
using OllamaSharp;
using OllamaSharp.Models;
using OllamaSharp.Models.Chat;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;

namespace LlmApi.Tests.Llm;

/// <summary>The official OpenAI .NET SDK and OllamaSharp, pointed at the gateway as their users would point them.</summary>
[Collection(SharedApi.Name)]
public class ClientLibraryTests(ApiFixture fixture)
{
    private static OpenAIClientOptions At(HttpClient gateway) => new() { Endpoint = new Uri(gateway.BaseAddress!, "/v1") };

    private static OllamaApiClient Ollama(HttpClient gateway, string credential)
    {
        var http = new HttpClient { BaseAddress = gateway.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        return new OllamaApiClient(http);
    }

    [Theory]
    [InlineData(false, "llama3")]
    [InlineData(true, "mistral")]
    public async Task The_openai_sdk_chats_streams_and_embeds_through_the_gateway(bool openAiUpstream, string model)
    {
        using var gateway = openAiUpstream ? fixture.CreateOpenAiBackedClient() : fixture.CreateClient();
        var admin = await gateway.RegisterAsync();
        var (_, key) = await gateway.CreateKeyAsync(admin.Token);
        var chat = new ChatClient(model, new ApiKeyCredential(key), At(gateway));

        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage("hi")]);
        Assert.Equal("Hello from the model!", whole.Content[0].Text);
        Assert.Equal(FakeUpstream.PromptTokens, whole.Usage.InputTokenCount);
        // A same-format answer keeps the upstream's id; a translated one gets its own, in OpenAI's shape.
        Assert.Matches(openAiUpstream ? "^chatcmpl-test$" : "^chatcmpl-[0-9a-f]{32}$", whole.Id);

        var streamed = new List<string>();
        var streamIds = new HashSet<string>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            streamed.AddRange(update.ContentUpdate.Select(c => c.Text));
            streamIds.Add(update.CompletionId);
        }

        Assert.Equal("Hello from the model!", string.Concat(streamed));
        Assert.Matches(openAiUpstream ? "^chatcmpl-test$" : "^chatcmpl-[0-9a-f]{32}$", Assert.Single(streamIds));
        if (!openAiUpstream)
        {
            Assert.NotEqual(whole.Id, streamIds.Single()); // each translated answer has its own
        }

        // The SDK asks for base64 vectors by default.
        var embeddings = new EmbeddingClient("embedder", new ApiKeyCredential(key), At(gateway));
        OpenAIEmbedding embedding = await embeddings.GenerateEmbeddingAsync("hi");
        Assert.Equal([0.5f, -0.25f, 0f], embedding.ToFloats().ToArray());
    }

    [Theory]
    [InlineData(false, "llama3")]
    [InlineData(true, "mistral")]
    public async Task The_openai_sdk_calls_tools_and_reads_typed_errors(bool openAiUpstream, string model)
    {
        using var gateway = openAiUpstream ? fixture.CreateOpenAiBackedClient() : fixture.CreateClient();
        var admin = await gateway.RegisterAsync();
        var chat = new ChatClient(model, new ApiKeyCredential(admin.Token), At(gateway));
        var weather = ChatTool.CreateFunctionTool("get_weather", "The weather in a city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}"""));

        ChatCompletion call = await chat.CompleteChatAsync([new UserChatMessage("Weather in Paris?")], new ChatCompletionOptions { Tools = { weather } });
        Assert.Equal(ChatFinishReason.ToolCalls, call.FinishReason);
        var toolCall = Assert.Single(call.ToolCalls);
        Assert.Equal("get_weather", toolCall.FunctionName);
        Assert.Matches(openAiUpstream ? "^call_abc$" : "^call_[0-9a-f]{24}$", toolCall.Id); // Ollama names no calls: the gateway does
        Assert.Equal("Paris", System.Text.Json.JsonDocument.Parse(toolCall.FunctionArguments).RootElement.GetProperty("city").GetString());

        ChatCompletion answer = await chat.CompleteChatAsync(
            [new UserChatMessage("Weather in Paris?"), new AssistantChatMessage(call.ToolCalls), new ToolChatMessage(toolCall.Id, "sunny")],
            new ChatCompletionOptions { Tools = { weather } });
        Assert.Equal("The tool said: sunny", answer.Content[0].Text);

        var unknown = new ChatClient("no-such-model", new ApiKeyCredential(admin.Token), At(gateway));
        var error = await Assert.ThrowsAsync<ClientResultException>(() => unknown.CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, error.Status);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);

        // OpenAI's own API refuses a temperature above 2; so does the gateway, whatever the model server would take.
        var hot = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Temperature = 9 }));
        Assert.Equal(400, hot.Status);
        Assert.Contains("temperature must be a number from 0 to 2", hot.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "llama3")]
    [InlineData(true, "mistral")]
    public async Task Ollamasharp_chats_generates_embeds_and_lists_models_with_a_key_or_a_token(bool openAiUpstream, string model)
    {
        using var gateway = openAiUpstream ? fixture.CreateOpenAiBackedClient() : fixture.CreateClient();
        var admin = await gateway.RegisterAsync();
        var (_, key) = await gateway.CreateKeyAsync(admin.Token);

        foreach (var credential in new[] { key, admin.Token })
        {
            using var ollama = Ollama(gateway, credential);
            var chunks = new List<string>();
            await foreach (var chunk in ollama.ChatAsync(new ChatRequest { Model = model, Messages = [new Message(ChatRole.User, "hi")] }))
            {
                chunks.Add(chunk?.Message.Content ?? string.Empty);
            }

            Assert.Equal("Hello from the model!", string.Concat(chunks));

            var generated = new List<string>();
            await foreach (var piece in ollama.GenerateAsync(new GenerateRequest { Model = model, Prompt = "hi" }))
            {
                generated.Add(piece?.Response ?? string.Empty);
            }

            Assert.Equal("Hello from the model!", string.Concat(generated));

            var embedded = await ollama.EmbedAsync(new EmbedRequest { Model = "embedder", Input = ["a", "b"] });
            Assert.Equal(2, embedded.Embeddings.Count);
            Assert.Equal(4, embedded.PromptEvalCount);

            var models = (await ollama.ListLocalModelsAsync()).Select(m => m.Name).ToList();
            Assert.Contains(openAiUpstream ? "mistral" : "llama3:latest", models);
        }
    }

    [Fact]
    public async Task Ollamasharp_gets_tool_calls_from_an_openai_format_upstream_whole_even_when_streamed_in_fragments()
    {
        using var gateway = fixture.CreateOpenAiBackedClient();
        var admin = await gateway.RegisterAsync();
        using var ollama = Ollama(gateway, admin.Token);
        var tool = new Tool { Function = new Function { Name = "get_weather", Description = "weather", Parameters = new Parameters { Properties = new Dictionary<string, Property> { ["city"] = new() { Type = "string" } } } } };

        var calls = new List<Message.ToolCall>();
        await foreach (var chunk in ollama.ChatAsync(new ChatRequest { Model = "mistral", Messages = [new Message(ChatRole.User, "Weather?")], Tools = [tool] }))
        {
            calls.AddRange(chunk?.Message.ToolCalls ?? []);
        }

        var call = Assert.Single(calls);
        Assert.Equal("get_weather", call.Function!.Name);
        Assert.Equal("Paris", call.Function.Arguments!["city"]?.ToString());
    }
}
