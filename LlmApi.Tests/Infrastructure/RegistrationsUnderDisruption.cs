using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace LlmApi.Tests.Infrastructure;

/// <summary>
/// How the failover tests load the API: four writers register tenants without pause; after 2 s a disruption of the
/// data store runs. Writing goes on until registrations are acknowledged again, which must happen within a given time
/// of the disruption's end; then every acknowledged tenant must sign in, and no answer may have been a 500.
/// </summary>
internal static class RegistrationsUnderDisruption
{
    /// <param name="lossPossible">
    /// The data store acknowledges writes before its replicas have them and the disruption kills a primary: what it
    /// acknowledged last may be gone, so acknowledged tenants that cannot sign in are reported, not failed.
    /// </param>
    public static async Task RunAsync(ApiFactory api, Func<Task> disrupt, TimeSpan recoveryWithin, ITestOutputHelper output, bool lossPossible = false)
    {
        using var client = api.CreateClient();
        var acknowledged = new ConcurrentBag<string>();
        var statuses = new ConcurrentDictionary<HttpStatusCode, int>();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var errorTimes = new ConcurrentBag<double>();
        string? firstError = null;
        var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var domain = ApiCalls.UniqueDomain("fo");
                using var response = await client.PostAsJsonAsync("/api/auth/register", new
                {
                    tenantName = "Failover", domain, username = "admin", email = $"admin@{domain}", password = ApiCalls.Password,
                });
                statuses.AddOrUpdate(response.StatusCode, 1, (_, n) => n + 1);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    acknowledged.Add(domain);
                }
                else
                {
                    errorTimes.Add(clock.Elapsed.TotalSeconds);
                    firstError ??= $"{(int)response.StatusCode} Retry-After: {response.Headers.RetryAfter} {await response.Content.ReadAsStringAsync()}";
                }
            }
        })).ToList();

        await Task.Delay(TimeSpan.FromSeconds(2));
        var before = acknowledged.Count;
        var disruptedAt = clock.Elapsed.TotalSeconds;
        var recovered = "no";
        try
        {
            await disrupt();
            var afterDisruption = acknowledged.Count;
            // Registrations acknowledged again show that the API follows the new primary.
            await Eventually.MatchAsync(() => Task.FromResult(acknowledged.Count), n => n > afterDisruption + 2, recoveryWithin,
                "writes acknowledged after the failover");
            recovered = $"{clock.Elapsed.TotalSeconds - disruptedAt:0.0} s after the disruption began";
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
            output.WriteLine($"registrations acknowledged: {acknowledged.Count} ({before} before the disruption); acknowledged again: {recovered}");
            output.WriteLine("statuses: " + string.Join(", ", statuses.Select(s => $"{(int)s.Key} x{s.Value}")));
            output.WriteLine(errorTimes.IsEmpty ? "no errors" : $"errors from {errorTimes.Min() - disruptedAt:0.00} s to {errorTimes.Max() - disruptedAt:0.00} s after the disruption began");
            ReportLoggedExceptions(api, statuses, output);
            output.WriteLine("first error: " + firstError);
        }

        var lost = new List<string>();
        foreach (var domain in acknowledged)
        {
            // Signing in writes a session, so it too waits out the end of the failover; only a 401 means the tenant is gone.
            var status = await Eventually.MatchAsync(async () => (await client.LoginAsync($"admin@{domain}", ApiCalls.Password, domain)).StatusCode,
                s => s != HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20), "the data store to take writes again");
            if (status != HttpStatusCode.OK)
            {
                lost.Add($"{domain}: {(int)status}");
            }
        }

        output.WriteLine($"acknowledged but lost: {lost.Count}");
        if (!lossPossible)
        {
            Assert.Empty(lost);
        }

        Assert.DoesNotContain(statuses.Keys, s => (int)s >= 500 && s != HttpStatusCode.ServiceUnavailable);
    }

    /// <summary>Every kind of exception the handler logged, once each with its count, and whole when an answer was a 500.</summary>
    private static void ReportLoggedExceptions(ApiFactory api, ConcurrentDictionary<HttpStatusCode, int> statuses, ITestOutputHelper output)
    {
        var handled = api.Logs.Lines.Where(l => l.Contains("ProblemExceptionHandler", StringComparison.Ordinal)).ToList();
        foreach (var kind in handled.Select(l => Regex.Match(l, @"[A-Za-z.]+Exception: [^\n]{0,160}").Value)
            .Select(m => Regex.Replace(m, "script: [0-9a-f]+", "script: ...")).GroupBy(m => m).OrderByDescending(g => g.Count()))
        {
            output.WriteLine($"logged x{kind.Count()}: {kind.Key}");
        }

        if (statuses.Keys.Any(s => (int)s >= 500 && s != HttpStatusCode.ServiceUnavailable))
        {
            // A 500 is a defect to find: each kind of logged exception once, whole, with its stack.
            foreach (var line in handled.DistinctBy(l => Regex.Match(l, @"[A-Za-z.]+Exception: [^\n]{0,60}").Value))
            {
                output.WriteLine(line);
            }
        }
    }
}
