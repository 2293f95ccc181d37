using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansGroups.Client;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.IntegrationTests.Chaos;
using OrleansGroups.TestKit;
using Xunit.Abstractions;

namespace OrleansGroups.IntegrationTests.SplitBrain;

/// <summary>
/// Issue 12, item 8: integrity under split brain, with real processes. Three silo processes on Azurite (Azure Table
/// clustering, fast membership), partition segments rolling every <see cref="SegmentMaxBlocks"/> appends, and producers
/// running through a client that finds the gateways in the membership table. Each round freezes (SIGSTOP) the silo
/// hosting the most partitions until the cluster declares it dead, keeps producing while its partitions move to the
/// others, then thaws it (SIGCONT): for a moment two activations of those partitions exist, the thawed one holding
/// appends it had accepted before the freeze. It must be fenced (it stops itself once it learns it was declared dead) and
/// is started again for the next round. Finally every partition is read from offset 0 and audited against the producers'
/// acknowledgements (<see cref="ProduceLedger"/>): every acknowledged record present exactly once at its offset, offsets
/// contiguous, no producer call given up.
/// </summary>
/// <remarks>
/// Two rounds by default (about a minute); <c>ORLEANSGROUPS_CHAOS_ROUNDS</c> sets more for a long run and
/// <c>ORLEANSGROUPS_CHAOS_SEED</c> replays one (the seed is printed first).
/// </remarks>
[Trait("Category", "Chaos")]
public sealed class SplitBrainProduceTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    private const int Silos = 3;
    private const int Partitions = 6;
    private const int Producers = 3;
    private const int DefaultRounds = 2;
    private const int SegmentMaxBlocks = 4;
    private const int AcksPerPhase = 150;
    private const string Topic = "split-orders";

    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    // Fast membership declares a frozen silo dead in about 9 s; Orleans' defaults would take about a minute.
    private static readonly TimeSpan DeathDeadline = TimeSpan.FromSeconds(45);

    // A thawed silo reads the table within a second or two and stops itself.
    private static readonly TimeSpan SuicideDeadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task SiloFrozenUntilDeclaredDead_ThenThawed_EveryAcknowledgedRecordOnceAtItsOffset_NoProducerGivesUp()
    {
        var rounds = EnvironmentInt("ORLEANSGROUPS_CHAOS_ROUNDS") ?? DefaultRounds;
        var seed = EnvironmentInt("ORLEANSGROUPS_CHAOS_SEED") ?? Random.Shared.Next();
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        Say($"seed {seed} (replay: ORLEANSGROUPS_CHAOS_SEED={seed}), {rounds} rounds, {Silos} silos, {Partitions} partitions, " +
            $"segments roll every {SegmentMaxBlocks} appends, {Producers} producers x {ChaosProducer.Window} calls in flight, storage {azurite.Mode}");

        await using var cluster = await PausableCluster.StartAsync(azurite.ConnectionString, Silos, new Dictionary<string, string?>
        {
            ["OrleansGroups__Options__Log__SegmentMaxBlocks"] = SegmentMaxBlocks.ToString(CultureInfo.InvariantCulture),
        });
        var client = await cluster.ConnectAsync();
        var groups = client.Services.GetRequiredService<OrleansGroupsClient>();
        var grains = client.Services.GetRequiredService<IGrainFactory>();
        await groups.Admin.CreateTopicAsync(Topic, Partitions);

        // One client for the whole run: it must ride through every freeze on its own (gateway failover, producer retries).
        var generation = new ClientGeneration(1, client, groups.CreateProducer());
        var ledger = new ProduceLedger();
        var producers = Enumerable.Range(0, Producers)
            .Select(id => new ChaosProducer(id, Topic, Partitions, ledger, () => generation, random.Next()))
            .ToList();
        using var stop = new CancellationTokenSource();
        var running = producers.Select(p => Task.Run(() => p.RunAsync(stop.Token))).ToList();
        var selfStopped = 0;
        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                // 1. Records flow; every partition has an activation somewhere.
                await AcknowledgedAsync(ledger, running, producers, $"round {round}: records flow before the freeze");
                await Task.Delay(random.Next(0, 1000));

                // 2. Freeze the silo hosting the most partitions, in the middle of its appends.
                var victim = await cluster.BusiestPartitionHostAsync(grains, Topic, Partitions) ?? random.Next(Silos);
                var ackedAtFreeze = ledger.Acknowledged;
                cluster.Pause(victim);
                var frozen = clock.Elapsed;

                // 3. The cluster declares it dead; producing carries on through the others meanwhile and after.
                await cluster.WaitDeclaredDeadAsync(victim, DeathDeadline);
                var declared = clock.Elapsed;
                await AcknowledgedAsync(ledger, running, producers, $"round {round}: producing continues with silo {victim} frozen and declared dead");
                var recovered = clock.Elapsed;

                // 4. Thaw it: for a moment it still believes it owns its partitions (split brain); it must stop itself.
                var stoppedItself = await cluster.ResumeUntilItExitsAsync(victim, SuicideDeadline);
                selfStopped += stoppedItself ? 1 : 0;
                var thawed = clock.Elapsed;

                // 5. Start it again for the next round.
                await cluster.StartSiloAsync(victim);
                Say($"round {round}: froze silo {victim} at {frozen.TotalSeconds:0.0} s ({ackedAtFreeze} acknowledged); declared dead after " +
                    $"{(declared - frozen).TotalSeconds:0.0} s; {AcksPerPhase} more acknowledged {(recovered - declared).TotalSeconds:0.0} s later; " +
                    $"thawed, it {(stoppedItself ? "stopped itself" : "did NOT stop itself and was killed")} in {(thawed - recovered).TotalSeconds:0.0} s; " +
                    $"restarted at {clock.Elapsed.TotalSeconds:0.0} s");
            }

            // 6. The restarted silo takes load too.
            await AcknowledgedAsync(ledger, running, producers, "records flow after the last round");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(running).WaitAsync(Deadline);
        }
        Say($"producing stopped at {clock.Elapsed.TotalSeconds:0.0} s: {ledger.Acknowledged} acknowledged of {ledger.Sent} sent; " +
            $"{ledger.FailedCalls} calls gave up ({ledger.FailedRecords} records, resent by the test); slowest call {generation.SlowestCallMs} ms; " +
            $"last error: {LastError(producers)}");

        // 7. The audit reads every partition from offset 0 through the cluster as it is now.
        var logs = new Dictionary<int, (long, IReadOnlyList<StoredRecord>)>();
        for (var partition = 0; partition < Partitions; partition++)
        {
            logs[partition] = await PartitionReader.ReadAllAsync(grains, new TopicPartition(Topic, partition));
        }
        var audit = ledger.Audit(logs);
        Say($"SUMMARY seed {seed}: rounds {rounds}, thawed silos that stopped themselves {selfStopped}/{rounds}; {audit}; " +
            $"records per partition {string.Join(", ", logs.Select(l => $"p{l.Key}: {l.Value.Item2.Count}"))}; {clock.Elapsed.TotalSeconds:0.0} s");
        if (!audit.Passed)
        {
            Assert.Fail($"seed {seed}: {audit}. First problems:{Environment.NewLine}{string.Join(Environment.NewLine, audit.Problems.Take(25))}");
        }
        Assert.True(ledger.FailedCalls == 0, $"seed {seed}: {ledger.FailedCalls} produce calls gave up; last error: {LastError(producers)}");
        // Every call was retried inside the producer until acknowledged, so a batch written before an acknowledgement was
        // lost must have been recognised on retry: nothing is in a log twice, nothing unacknowledged.
        Assert.True(audit.DuplicatedPayloads == 0 && audit.UnacknowledgedPresent == 0, $"seed {seed}: records written twice or without acknowledgement: {audit}");
        Assert.Equal(rounds, selfStopped);
    }

    private static async Task AcknowledgedAsync(ProduceLedger ledger, List<Task> running, List<ChaosProducer> producers, string what)
    {
        var target = ledger.Acknowledged + AcksPerPhase;
        await Wait.UntilAsync(() => ledger.Acknowledged >= target || running.Any(t => t.IsFaulted), Deadline,
            $"{what}: {AcksPerPhase} more records are acknowledged (last error: {LastError(producers)})");
        if (running.FirstOrDefault(t => t.IsFaulted) is { } faulted)
        {
            await faulted;
        }
    }

    private static string LastError(IEnumerable<ChaosProducer> producers) =>
        producers.Select(p => p.LastError).LastOrDefault(e => e is not null) is { } e ? $"{e.GetType().Name}: {e.Message}" : "none";

    private static int? EnvironmentInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private void Say(string line)
    {
        output.WriteLine(line);
        Console.WriteLine($"[split-brain] {line}");
    }
}
