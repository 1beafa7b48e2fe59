namespace LlmApi.Tests.Infrastructure;

/// <summary>A clock that says what a test sets: the gateway's time-dependent work (windows, timestamps) on chosen dates.</summary>
public sealed class SettableClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
