using System.Text.Json.Nodes;

namespace LlmApi.Api.Llm;

/// <summary>
/// A deliberately high estimate of a prompt's tokens, made before the upstream counts them: one token per three
/// characters (tokenizers average about four for English) plus a few per message for the chat template. Budgets
/// reserve it, so the estimate erring high is what keeps parallel requests from overshooting a budget.
/// </summary>
internal static class TokenEstimate
{
    public static int ForMessages(JsonArray messages) =>
        3 + messages.Sum(m => 4 + (ChatTranslation.TextOf(m?["content"]).Length + 2) / 3);
}
