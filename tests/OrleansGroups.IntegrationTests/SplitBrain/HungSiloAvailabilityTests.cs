using System.Diagnostics;
using OrleansGroups.TestKit;
using Xunit.Abstractions;

namespace OrleansGroups.IntegrationTests.SplitBrain;

/// <summary>
/// Issue 12, item 6: availability while a silo hangs. Two silo processes on Azure Table clustering with fast membership;
/// one is frozen with SIGSTOP, so its gateway still accepts TCP connections but never answers. <c>og produce --clustering
/// azure</c>, which finds the gateways in the membership table (the hung one is listed as active until the cluster
/// declares it dead), must reach the cluster through the other gateway and succeed every time, the first run starting
/// at the moment of the freeze. Before the fix og gave up with "no answer within 10 s" when it asked the hung gateway first.
/// </summary>
[Trait("Category", "Chaos")]
public sealed class HungSiloAvailabilityTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    private const string Topic = "hung-orders";
    private const int Runs = 6;
    private const int FirstWave = 3;

    // A run started at the freeze waits for the cluster to declare the silo dead (about 9 s with fast membership) if its
    // topic's grains lived there; later runs take a second or two.
    private static readonly TimeSpan RunBound = TimeSpan.FromSeconds(25);

    private static string OgDll => RepositoryPaths.ProjectOutput("OrleansGroups.Cli", "og");

    [Fact]
    public async Task OneSiloFrozen_OgProduceThroughAzureClustering_SucceedsEveryTimeThroughTheOtherGateway()
    {
        await using var cluster = await PausableCluster.StartAsync(azurite.ConnectionString, 2);
        var created = await Og(cluster, ["topic", "create", Topic, "--partitions", "4"], stdin: null);
        Assert.True(created.ExitCode == 0, created.StandardError);

        cluster.Pause(1);
        var frozen = Stopwatch.StartNew();
        var durations = new List<double>();
        try
        {
            // 1. A first wave at the moment of the freeze, while the table still lists the hung gateway as active: each
            //    og picks a gateway at random, so some ask the hung one first.
            var wave = await Task.WhenAll(Enumerable.Range(0, FirstWave).Select(run => ProduceAsync(cluster, run, frozen)));
            durations.AddRange(wave);

            // 2. More runs one after the other, once the cluster has moved on.
            for (var run = FirstWave; run < Runs; run++)
            {
                durations.Add(await ProduceAsync(cluster, run, frozen));
            }
        }
        finally
        {
            cluster.Silo(1).Resume();
        }
        Say($"SUMMARY {Runs} runs with one silo frozen ({FirstWave} at once at the freeze): all succeeded; " +
            $"seconds per run {string.Join(", ", durations.Select(d => d.ToString("0.0")))}");
    }

    /// <summary>One <c>og produce</c> of three keyed records; asserts that it succeeded within the bound and returns its duration.</summary>
    private async Task<double> ProduceAsync(PausableCluster cluster, int run, Stopwatch frozen)
    {
        var started = Stopwatch.StartNew();
        var result = await Og(cluster, ["produce", Topic, "--key-separator", ":"], $"k{run}a:v{run}a\nk{run}b:v{run}b\nk{run}c:v{run}c\n");
        var took = started.Elapsed;
        Say($"run {run} ended {frozen.Elapsed.TotalSeconds:0.0} s after the freeze: exit {result.ExitCode} in {took.TotalSeconds:0.0} s " +
            $"(silo 1 is {await cluster.MembershipStatusAsync(1)}): {result.StandardOutput.Trim()} {result.StandardError.Trim()}");
        Assert.True(result.ExitCode == 0, $"run {run} failed: {result.StandardError}");
        Assert.True(took < RunBound, $"run {run} took {took.TotalSeconds:0.0} s");
        return took.TotalSeconds;
    }

    private static Task<ProcessResult> Og(PausableCluster cluster, string[] args, string? stdin) =>
        ChildProcess.RunAsync(ChildProcess.DotnetHost, [OgDll, .. args, .. cluster.OgClusterArguments], stdin, RunBound + TimeSpan.FromSeconds(10));

    private void Say(string line)
    {
        output.WriteLine(line);
        Console.WriteLine($"[hung-silo] {line}");
    }
}
