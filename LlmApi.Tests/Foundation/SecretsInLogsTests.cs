using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Foundation;

[Collection(SharedApi.Name)]
public class SecretsInLogsTests(ApiFixture fixture)
{
    [Fact]
    public async Task Passwords_hashes_tokens_keys_and_prompts_never_reach_the_logs_while_tenant_and_user_scopes_do()
    {
        using var client = fixture.CreateClient();
        const string password = "very secret passphrase";
        const string newPassword = "another secret phrase";
        var account = await client.RegisterAsync(password: password);
        var token = await client.LoginTokenAsync(account.Email, password, account.Domain);
        (await client.LoginAsync(account.Email, "a wrong guess here", account.Domain)).Dispose();
        (await client.SendAsync(HttpMethod.Post, "/api/auth/password", token, new { currentPassword = password, newPassword })).Dispose();
        (await client.SendAsync(HttpMethod.Get, "/api/auth/me", account.Token)).Dispose(); // now revoked: logs a failure
        (await client.SendAsync(HttpMethod.Post, "/api/auth/logout", token)).Dispose();
        var fresh = await client.LoginTokenAsync(account.Email, newPassword, account.Domain);
        using var keyResponse = await client.SendAsync(HttpMethod.Post, "/api/keys", fresh, new { name = "logged?" });
        var apiKey = (await keyResponse.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("key").GetString()!;
        (await client.SendAsync(HttpMethod.Post, "/v1/chat/completions", apiKey, new { model = "llama3", messages = new[] { new { role = "user", content = "a private prompt" } } })).Dispose();
        (await client.SendAsync(HttpMethod.Post, "/v1/chat/completions", apiKey + "x", new { model = "llama3", messages = new[] { new { role = "user", content = "hi" } } })).Dispose();
        var storedHash = (string?)await fixture.Redis.Database.HashGetAsync($"tenant:{{{account.TenantId}}}:user:{{{account.UserId}}}", "passwordHash");

        var logs = fixture.Api.Logs.Lines.ToList();

        Assert.NotEmpty(logs);
        Assert.NotNull(storedHash);
        foreach (var secret in new[] { password, newPassword, "a wrong guess here", account.Token, token, storedHash!, fixture.JwtSigningKey, fixture.OperatorKey, fresh, apiKey, apiKey.Split('_')[^1], "a private prompt", "Hello from the model" })
        {
            Assert.DoesNotContain(logs, line => line.Contains(secret, StringComparison.Ordinal));
        }

        Assert.DoesNotContain(logs, line => line.Contains("$2a$", StringComparison.Ordinal) || line.Contains("$2b$", StringComparison.Ordinal));
        Assert.Contains(logs, line => line.Contains("Logout", StringComparison.Ordinal)
            && line.Contains($"TenantId:{account.TenantId}", StringComparison.Ordinal)
            && line.Contains($"UserId:{account.UserId}", StringComparison.Ordinal));
    }
}
