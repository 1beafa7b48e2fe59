namespace LlmApi.Tests.Infrastructure;

/// <summary>Polls a condition until it holds or a deadline passes: tests wait for effects, never sleep.</summary>
public static class Eventually
{
    public static async Task<T> MatchAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan within, string because)
    {
        var deadline = DateTime.UtcNow + within;
        T last;
        do
        {
            last = await probe();
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);

        throw new Xunit.Sdk.XunitException($"Not reached within {within.TotalSeconds:0.#} s: {because}. Last value: {last}");
    }
}
