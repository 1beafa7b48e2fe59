using System.Text;
using LlmApi.Tests.Infrastructure;

namespace LlmApi.Tests.Foundation;

/// <summary>Bad input is answered with the right 4xx as problem+json, never a 500.</summary>
[Collection(SharedApi.Name)]
public class InputHandlingTests(ApiFixture fixture)
{
    [Fact]
    public async Task A_body_over_64_KB_is_413()
    {
        using var client = fixture.CreateClient();
        var huge = "{\"email\":\"" + new string('a', 70 * 1024) + "\"}";

        using var response = await client.PostAsync("/api/auth/login", new StringContent(huge, Encoding.UTF8, "application/json"));

        await response.AssertProblemAsync(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Malformed_json_is_400_naming_the_problem()
    {
        using var client = fixture.CreateClient();

        using var response = await client.PostAsync("/api/auth/login", new StringContent("{\"email\": ", Encoding.UTF8, "application/json"));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_415()
    {
        using var client = fixture.CreateClient();

        using var response = await client.PostAsync("/api/auth/login", new StringContent("email=a", Encoding.UTF8, "application/x-www-form-urlencoded"));

        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task A_missing_body_and_a_wrong_field_type_are_400()
    {
        using var client = fixture.CreateClient();

        using var empty = await client.PostAsync("/api/auth/login", new StringContent("", Encoding.UTF8, "application/json"));
        await empty.AssertProblemAsync(HttpStatusCode.BadRequest);
        using var wrongType = await client.PostAsync("/api/auth/login", new StringContent("{\"email\": 42}", Encoding.UTF8, "application/json"));
        await wrongType.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Unknown_routes_are_404_problem_json()
    {
        using var client = fixture.CreateClient();

        using var response = await client.GetAsync("/api/nothing-here");

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }
}
