#:package BCrypt.Net-Next
// The version comes from Directory.Packages.props, like every other package of the repository.
// Measures this machine's bcrypt limit: cost-10 verifications per second on one core, and on all cores at once.
using System.Diagnostics;

var hash = BCrypt.Net.BCrypt.HashPassword("benchmark password", 10);
var seconds = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5;

double Rate(int threads)
{
    var count = 0L;
    var clock = Stopwatch.StartNew();
    var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
    {
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            BCrypt.Net.BCrypt.Verify("benchmark password", hash);
            Interlocked.Increment(ref count);
        }
    })).ToList();
    workers.ForEach(w => w.Start());
    workers.ForEach(w => w.Join());
    return count / clock.Elapsed.TotalSeconds;
}

var one = Rate(1);
var all = Rate(Environment.ProcessorCount);
Console.WriteLine($"bcrypt cost 10: {one:F1}/s on one core; {all:F1}/s on {Environment.ProcessorCount} cores; limit (cores x one-core rate) {one * Environment.ProcessorCount:F1}/s");
