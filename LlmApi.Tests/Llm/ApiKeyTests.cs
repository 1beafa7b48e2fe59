using System.Text.Json;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Llm;

[Collection(SharedApi.Name)]
public class ApiKeyTests(ApiFixture fixture)
{
    [Fact]
    public async Task A_key_is_shown_once_listed_without_its_secret_and_works_in_both_formats()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (keyId, key) = await client.CreateKeyAsync(admin.Token, new { name = "batch jobs", models = new[] { "llama3" }, requestsPerMinute = 100 });

        using var list = await client.SendAsync(HttpMethod.Get, "/api/keys", admin.Token);
        var raw = await list.Content.ReadAsStringAsync();
        Assert.Contains(keyId.ToString(), raw, StringComparison.Ordinal);
        Assert.DoesNotContain(key, raw, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Split('_')[^1], raw, StringComparison.Ordinal);
        Assert.DoesNotContain("hash", raw, StringComparison.OrdinalIgnoreCase);

        using var openAi = await client.SendAsync(LlmCalls.OpenAiChat(key));
        Assert.Equal(HttpStatusCode.OK, openAi.StatusCode);
        using var ollama = await client.SendAsync(LlmCalls.OllamaChat(key, admin.TenantId));
        var body = await ollama.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(admin.TenantId, body.GetProperty("tenant_id").GetGuid());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("user_id").ValueKind);
    }

    [Fact]
    public async Task A_key_may_use_only_the_models_on_its_list()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, key) = await client.CreateKeyAsync(admin.Token, new { name = "only llama", models = new[] { "llama3" } });

        using var other = await client.SendAsync(LlmCalls.OpenAiChat(key, model: "mistral"));
        await other.AssertOpenAiErrorAsync(HttpStatusCode.Forbidden, "model_not_allowed");
        using var models = await client.SendAsync(HttpMethod.Get, "/v1/models", key);
        var ids = (await models.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString());
        Assert.Equal(["llama3:latest"], ids); // the untagged name is the same model as its :latest
    }

    [Fact]
    public async Task A_deleted_key_stops_working_at_once_on_every_replica()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var admin = await client.RegisterAsync();
        var (keyId, key) = await client.CreateKeyAsync(admin.Token);
        Assert.Equal(HttpStatusCode.OK, await replica.StatusAsync(HttpMethod.Get, "/v1/models", key));

        Assert.Equal(HttpStatusCode.NoContent, await client.StatusAsync(HttpMethod.Delete, $"/api/keys/{keyId}", admin.Token));

        using var after = await replica.SendAsync(LlmCalls.OpenAiChat(key));
        await after.AssertOpenAiErrorAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        Assert.Equal(HttpStatusCode.NotFound, await client.StatusAsync(HttpMethod.Delete, $"/api/keys/{keyId}", admin.Token));
    }

    [Fact]
    public async Task A_key_a_replica_remembers_still_stops_at_once_when_deleted_and_learns_nothing_from_a_refusal()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var admin = await client.RegisterAsync();
        var (keyId, key) = await client.CreateKeyAsync(admin.Token);
        // Model calls on the replica: the key is remembered there, and its admission checks it.
        Assert.Equal(HttpStatusCode.OK, (await replica.SendAsync(LlmCalls.OpenAiChat(key))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await replica.SendAsync(LlmCalls.OllamaChat(key, admin.TenantId))).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, await client.StatusAsync(HttpMethod.Delete, $"/api/keys/{keyId}", admin.Token));

        // The original route's tenant-header rule is not answered to it (403 would tell it the key's tenant).
        Assert.Equal(HttpStatusCode.Unauthorized, (await replica.SendAsync(LlmCalls.OllamaChat(key, Guid.NewGuid()))).StatusCode);
        using var call = await replica.SendAsync(LlmCalls.OpenAiChat(key));
        await call.AssertOpenAiErrorAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        // Refusals that come before admission (an unknown model, a bad field) are not told to a deleted key either.
        var (againId, again) = await client.CreateKeyAsync(admin.Token);
        Assert.Equal(HttpStatusCode.OK, (await replica.SendAsync(LlmCalls.OpenAiChat(again))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, await client.StatusAsync(HttpMethod.Delete, $"/api/keys/{againId}", admin.Token));
        using var unknownModel = await replica.SendAsync(LlmCalls.OpenAiChat(again, model: "no-such-model"));
        await unknownModel.AssertOpenAiErrorAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        using var badField = ApiCalls.Request(HttpMethod.Post, "/v1/chat/completions", again, new { model = "llama3", messages = "not a list" });
        using var badFieldAnswer = await replica.SendAsync(badField);
        await badFieldAnswer.AssertOpenAiErrorAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
    }

    [Fact]
    public async Task A_remembered_key_follows_its_tenants_suspension_and_limits_at_once()
    {
        using var client = fixture.CreateClient();
        using var replica = fixture.CreateReplicaClient();
        var admin = await client.RegisterAsync();
        var (_, key) = await client.CreateKeyAsync(admin.Token);
        Assert.Equal(HttpStatusCode.OK, (await replica.SendAsync(LlmCalls.OpenAiChat(key))).StatusCode);

        await SetStatusAsync(client, admin.TenantId, "suspended");
        using var suspended = await replica.SendAsync(LlmCalls.OpenAiChat(key));
        await suspended.AssertOpenAiErrorAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
        await SetStatusAsync(client, admin.TenantId, "active");
        Assert.Equal(HttpStatusCode.OK, (await replica.SendAsync(LlmCalls.OpenAiChat(key))).StatusCode);

        // Limits set now apply to the next call, whatever the replica remembers of the tenant.
        await client.SetTenantLimitsAsync(fixture, admin.TenantId, new { requestsPerMinute = 1 });
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 2; i++)
        {
            using var response = await replica.SendAsync(LlmCalls.OpenAiChat(key));
            statuses.Add(response.StatusCode);
        }

        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
    }

    private async Task SetStatusAsync(HttpClient client, Guid tenantId, string status)
    {
        using var request = ApiCalls.Request(HttpMethod.Patch, $"/api/admin/tenants/{tenantId}", null, new { status });
        request.Headers.Add("X-Operator-Key", fixture.OperatorKey);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Forged_keys_and_keys_of_other_tenants_are_refused()
    {
        using var client = fixture.CreateClient();
        var a = await client.RegisterAsync();
        var b = await client.RegisterAsync();
        var (_, key) = await client.CreateKeyAsync(a.Token);
        var parts = key.Split('_');
        var wrongSecret = $"{parts[0]}_{parts[1]}_{parts[2]}_{new string('0', 64)}";
        var otherTenant = $"{parts[0]}_{b.TenantId:N}_{parts[2]}_{parts[3]}";

        // Also malformed shapes: a fifth part, a secret too short to be one, and one far longer than any (hashed off the stack).
        var extraPart = key + "_" + parts[3];
        var shortSecret = $"{parts[0]}_{parts[1]}_{parts[2]}_{parts[3][..31]}";
        var longSecret = key + new string('a', 400);

        // Twice: before the key has been used, and once the replica remembers it with the secret that verified it.
        for (var round = 0; round < 2; round++)
        {
            foreach (var forged in new[] { wrongSecret, otherTenant, "llmk_garbage", extraPart, shortSecret, longSecret })
            {
                using var response = await client.SendAsync(LlmCalls.OpenAiChat(forged));
                await response.AssertOpenAiErrorAsync(HttpStatusCode.Unauthorized, "invalid_api_key");
            }

            using var real = await client.SendAsync(LlmCalls.OpenAiChat(key));
            Assert.Equal(HttpStatusCode.OK, real.StatusCode);
        }

        // A key is for model routes only: it does not open the user API.
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/auth/me", key));
        Assert.Equal(HttpStatusCode.Unauthorized, await client.StatusAsync(HttpMethod.Get, "/api/keys", key));
    }

    [Fact]
    public async Task Only_admins_manage_keys_and_a_keys_limits_stay_within_the_tenants()
    {
        using var client = fixture.CreateClient();
        var admin = await client.RegisterAsync();
        var (_, _, member) = await client.CreateMemberAsync(admin);
        await client.SetTenantLimitsAsync(fixture, admin.TenantId, new { requestsPerMinute = 10 });

        Assert.Equal(HttpStatusCode.Forbidden, await client.StatusAsync(HttpMethod.Post, "/api/keys", member, new { name = "mine" }));
        using var tooMuch = await client.SendAsync(HttpMethod.Post, "/api/keys", admin.Token, new { name = "greedy", requestsPerMinute = 11 });
        var problem = await tooMuch.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("requestsPerMinute", out _));
    }
}
