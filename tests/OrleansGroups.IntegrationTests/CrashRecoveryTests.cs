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

namespace OrleansGroups.IntegrationTests;

/// <summary>
/// Issue 3, recovery: producers write continuously while the silo process is killed with SIGKILL at random
/// moments and restarted on the same storage. Afterwards every acknowledged record must be in the log exactly
/// where it was acknowledged, and the log must have no holes. Records that landed but whose acknowledgement
/// was lost are allowed (the producer resent them) and counted.
/// Two modes: the plain producer (no retries inside the client: every failure reaches the test, which resends
/// the same payloads) tests the log alone; the idempotent producer (the default) retries inside the client
/// across the restart, and then no record may be written twice, which tests that the partition rebuilds its
/// producer state from storage.
/// </summary>
/// <remarks>
/// <c>ORLEANSGROUPS_CHAOS_ROUNDS</c> sets the number of kills (default 5, about 40 s);
/// <c>ORLEANSGROUPS_CHAOS_SEED</c> replays a run's schedule (the seed is printed first).
/// </remarks>
[Trait("Category", "Chaos")]
public sealed class CrashRecoveryTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    private const int Partitions = 3;
    private const int Producers = 4;
    private const int DefaultRounds = 5;
    private const int AcksBeforeKill = 100;
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    // Calls of a replaced client settle by timing out (plain producer) or by a retry through the reconnected
    // client (idempotent producer); give both time before the client is stopped under them.
    private static readonly TimeSpan SettleDeadline = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EveryAcknowledgedRecordSurvivesRepeatedSiloKills_AtItsOffset_WithoutGaps(bool idempotent)
    {
        var rounds = EnvironmentInt("ORLEANSGROUPS_CHAOS_ROUNDS") ?? DefaultRounds;
        var seed = EnvironmentInt("ORLEANSGROUPS_CHAOS_SEED") ?? Random.Shared.Next();
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        Say($"seed {seed} (replay: ORLEANSGROUPS_CHAOS_SEED={seed}), {rounds} kills, {Producers} producers x {ChaosProducer.Window} calls in flight, {Partitions} partitions, idempotent producer {idempotent}, storage {azurite.Mode}");
        var options = new ProducerOptions { EnableIdempotence = idempotent };

        var ledger = new ProduceLedger();
        const string topic = "chaos";
        await using var silo = await SiloProcess.StartAsync(azurite.ConnectionString);
        var generation = await ConnectAsync(silo, 1, options);
        await Client(generation).Admin.CreateTopicAsync(topic, Partitions);
        var generations = new List<ClientGeneration> { generation };
        var retiring = new List<Task>();
        var kills = 0;

        using var stop = new CancellationTokenSource();
        var producers = Enumerable.Range(0, Producers)
            .Select(id => new ChaosProducer(id, topic, Partitions, ledger, () => Volatile.Read(ref generation), random.Next()))
            .ToList();
        var running = producers.Select(p => Task.Run(() => p.RunAsync(stop.Token))).ToList();
        try
        {
            for (var round = 1; round <= rounds; round++)
            {
                // 1. Let this incarnation take real load, then kill it at a random moment of it.
                var current = generation;
                await Wait.UntilAsync(() => current.Acknowledged >= AcksBeforeKill || running.Any(t => t.IsFaulted), Deadline,
                    $"generation {current.Number} acknowledged {AcksBeforeKill} records (seed {seed}; last error: {LastError(producers)})");
                ThrowIfProducerFaulted(running);
                var delay = random.Next(50, 1200);
                await Task.Delay(delay);
                var acknowledgedBefore = ledger.Acknowledged;
                var inFlight = current.InFlight;
                await silo.KillAsync();
                kills++;

                // 2. Same ports, service and storage; a new client, since the old one's gateway died.
                var restart = Stopwatch.StartNew();
                await silo.RestartAsync();
                var next = await ConnectAsync(silo, current.Number + 1, options);
                generations.Add(next);
                Volatile.Write(ref generation, next);
                current.MarkReplaced();
                retiring.Add(RetireAsync(current));
                Say($"kill {kills} at {clock.Elapsed.TotalSeconds:0.0} s: {delay} ms into the round, {inFlight} calls in flight, " +
                    $"{acknowledgedBefore} acknowledged so far; back with a new client in {restart.Elapsed.TotalSeconds:0.0} s");
            }

            // 3. The last incarnation must accept appends after its recovery too.
            var last = generation;
            await Wait.UntilAsync(() => last.Acknowledged >= AcksBeforeKill || running.Any(t => t.IsFaulted), Deadline,
                $"generation {last.Number} acknowledged {AcksBeforeKill} records after the last restart (seed {seed}; last error: {LastError(producers)})");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(running).WaitAsync(Deadline);
            await Task.WhenAll(retiring).WaitAsync(Deadline);
        }
        Say($"producing stopped at {clock.Elapsed.TotalSeconds:0.0} s: {ledger.Acknowledged} acknowledged of {ledger.Sent} sent; " +
            $"{ledger.FailedCalls} failed calls ({ledger.FailedRecords} records) were resent by the test; " +
            $"{generations.Sum(g => g.LateCalls)} calls were acknowledged after their silo was killed (client retries); " +
            $"slowest call {generations.Max(g => g.SlowestCallMs)} ms; last error: {LastError(producers)}");

        // 4. A final crash at rest: the audit reads only what recovery rebuilds from storage.
        await RetireAsync(generation);
        await silo.KillAsync();
        await silo.RestartAsync();
        var reader = await ConnectAsync(silo, generation.Number + 1, options);
        var logs = new Dictionary<int, (long, IReadOnlyList<StoredRecord>)>();
        for (var partition = 0; partition < Partitions; partition++)
        {
            logs[partition] = await ReadAllAsync(reader, new TopicPartition(topic, partition));
        }
        await RetireAsync(reader);

        var audit = ledger.Audit(logs);
        var perPartition = string.Join(", ", logs.Select(l => $"p{l.Key}: {l.Value.Item2.Count}"));
        Say($"SUMMARY seed {seed}: kills {kills} (+1 at rest), {audit}; records per partition {perPartition}; {clock.Elapsed.TotalSeconds:0.0} s");
        if (!audit.Passed)
        {
            Assert.Fail($"seed {seed}: {audit}. First problems:{Environment.NewLine}" +
                string.Join(Environment.NewLine, audit.Problems.Take(25)));
        }
        if (idempotent)
        {
            // The client retries a batch until it is acknowledged, so a batch that landed without an ack must have been
            // recognised as a retry after the restart, not written again. Only calls that failed back to the test (a
            // retired client's) may have been resent as new calls, and only their payloads may appear twice.
            Assert.True(audit.UnexplainedDuplicates == 0 && audit.UnexplainedUnacknowledged == 0,
                $"seed {seed}: the idempotent producer's retries were written twice: {audit}");
        }
        Assert.Equal(rounds, kills);
        Assert.True(audit.Acknowledged >= (rounds + 1) * AcksBeforeKill, $"only {audit.Acknowledged} records were acknowledged");
    }

    private static async Task<(long, IReadOnlyList<StoredRecord>)> ReadAllAsync(ClientGeneration reader, TopicPartition partition) =>
        await PartitionReader.ReadAllAsync(reader.Host.Services.GetRequiredService<IGrainFactory>(), partition);

    private static async Task<ClientGeneration> ConnectAsync(SiloProcess silo, int number, ProducerOptions options)
    {
        var host = await silo.ConnectAsync(ResponseTimeout);
        return new ClientGeneration(number, host, host.Services.GetRequiredService<OrleansGroupsClient>().CreateProducer(options));
    }

    private static OrleansGroupsClient Client(ClientGeneration generation) =>
        generation.Host.Services.GetRequiredService<OrleansGroupsClient>();

    /// <summary>Waits for the generation's calls to settle (acknowledged or failed), then stops its client.</summary>
    private static async Task RetireAsync(ClientGeneration generation)
    {
        try
        {
            await Wait.UntilAsync(() => generation.InFlight == 0, SettleDeadline, $"generation {generation.Number}'s calls settle");
        }
        finally
        {
            using var shutdown = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await generation.Host.StopAsync(shutdown.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or OrleansException or ObjectDisposedException)
            {
                // A client whose gateway is gone may not stop cleanly; it is disposed either way.
            }
            generation.Host.Dispose();
        }
    }

    private static void ThrowIfProducerFaulted(List<Task> running)
    {
        if (running.FirstOrDefault(t => t.IsFaulted) is { } faulted)
        {
            faulted.GetAwaiter().GetResult();
        }
    }

    private static string LastError(IEnumerable<ChaosProducer> producers) =>
        producers.Select(p => p.LastError).LastOrDefault(e => e is not null) is { } e ? $"{e.GetType().Name}: {e.Message}" : "none";

    private static int? EnvironmentInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private void Say(string line)
    {
        output.WriteLine(line);
        Console.WriteLine($"[chaos] {line}");
    }
}
