using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace LlmApi.Api.Auth;

/// <summary>
/// bcrypt on dedicated threads, one per core, fed by a bounded queue. bcrypt costs ~80 ms of CPU per call; run on the
/// request thread pool, a login flood would occupy every pool thread and stall cheap requests such as
/// <c>/api/auth/me</c>. Here a flood only lengthens the queue, and past <see cref="PasswordOptions.QueueLimit"/> it is
/// refused with 503 instead of growing without bound.
/// </summary>
internal sealed class PasswordHasher : IDisposable
{
    private readonly BlockingCollection<Job> _queue;
    private readonly Thread[] _workers;
    private readonly int _workFactor;
    private readonly Lazy<string> _dummyHash;

    public PasswordHasher(IOptions<PasswordOptions> options)
    {
        _workFactor = options.Value.WorkFactor;
        _queue = new BlockingCollection<Job>(options.Value.QueueLimit);
        // A hash of a random password at the same cost: verifying against it for unknown emails takes as long as a
        // real verification, so response times do not reveal which emails exist.
        _dummyHash = new(() => BCrypt.Net.BCrypt.HashPassword(Guid.NewGuid().ToString("N"), _workFactor));
        _workers = Enumerable.Range(0, Environment.ProcessorCount)
            .Select(i => new Thread(Work) { IsBackground = true, Name = $"bcrypt-{i}" })
            .ToArray();
        foreach (var worker in _workers)
        {
            worker.Start();
        }
    }

    public Task<string> HashAsync(string password, CancellationToken cancellationToken) =>
        Enqueue(() => BCrypt.Net.BCrypt.HashPassword(password, _workFactor), cancellationToken);

    /// <summary>Verifies <paramref name="password"/>; with no hash (unknown user) it spends the same time and fails.</summary>
    public async Task<bool> VerifyAsync(string password, string? hash, CancellationToken cancellationToken)
    {
        var matches = await Enqueue(() => BCrypt.Net.BCrypt.Verify(password, hash ?? _dummyHash.Value), cancellationToken);
        return matches && hash is not null;
    }

    private Task<T> Enqueue<T>(Func<T> work, CancellationToken cancellationToken)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var job = new Job(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                completion.TrySetCanceled(cancellationToken);
                return;
            }

            try
            {
                completion.TrySetResult(work());
            }
            catch (Exception e) when (e is ArgumentException or BCrypt.Net.SaltParseException)
            {
                completion.TrySetException(e);
            }
        });

        if (!_queue.TryAdd(job))
        {
            throw new ServiceOverloadedException("Too many sign-ins are waiting; retry in a moment.");
        }

        return completion.Task;
    }

    private void Work()
    {
        foreach (var job in _queue.GetConsumingEnumerable())
        {
            job.Run();
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        foreach (var worker in _workers)
        {
            worker.Join(TimeSpan.FromSeconds(2));
        }

        _queue.Dispose();
    }

    private sealed record Job(Action Run);
}

/// <summary>The service refuses work it cannot do in reasonable time; the caller should retry (503, Retry-After).</summary>
internal sealed class ServiceOverloadedException(string message) : Exception(message);
