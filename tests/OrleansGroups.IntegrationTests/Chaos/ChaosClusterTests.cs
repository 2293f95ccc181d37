using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.IntegrationTests.Deployment;
using OrleansGroups.TestKit;
using Xunit.Abstractions;

namespace OrleansGroups.IntegrationTests.Chaos;

/// <summary>
/// Issue 7, reliability: a consumer group under repeated crashes. Azurite, three silo processes (Azure Table
/// clustering, fast membership), an in-process producer, and three <c>og consume --json</c> processes in one group.
/// Each round kills one random silo and one random consumer with SIGKILL at once, restarts both, and waits until the
/// group settles again (three stable members own every partition and have committed everything acknowledged before the
/// kill). After the last round producing stops, the consumers stop, and a fresh consumer of the group drains the rest.
/// <see cref="GroupChaosChecker"/> then checks, from the producer's acknowledgements, every line the consumers printed
/// and the group polled throughout: every acknowledged record was delivered; committed offsets and epochs never went
/// backwards; no partition had two owners (in one snapshot, or at one member epoch); records were delivered twice only
/// while uncommitted.
/// </summary>
/// <remarks>
/// Three rounds by default (about two minutes). <c>ORLEANSGROUPS_CHAOS_ROUNDS</c> sets the number of rounds for a long
/// run (for example 50); <c>ORLEANSGROUPS_CHAOS_SEED</c> replays a run's choice of victims and pauses (the seed is
/// printed first). Consumers ask for a <see cref="SessionTimeoutMs"/> session, so a killed consumer's partitions move
/// on within seconds rather than after the 45 s default; that is shorter than og's 10 s call timeout plus the time to declare a silo dead, so a consumer
/// whose calls hang on a dead silo is evicted too, and must hold its records back meanwhile.
/// </remarks>
[Trait("Category", "Chaos")]
public sealed class ChaosClusterTests(AzuriteFixture azurite, ITestOutputHelper output) : IClassFixture<AzuriteFixture>
{
    private const int SiloCount = 3;
    private const int ConsumerCount = 3;
    private const int Partitions = 6;
    private const int DefaultRounds = 3;
    private const int ProducerTasks = 2;
    private const int RecordsPerCall = 10;
    private const int AcksPerRound = 300;
    private const int SessionTimeoutMs = 5_000;
    private const string Topic = "chaos-orders";
    private const string Group = "chaos-billing";

    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PauseBetweenCalls = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan SnapshotInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan OutputInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    // A killed silo may host the group: members' calls in flight to it wait out the client's response timeout (10 s in og)
    // before they retry on the reactivated group, and the killed consumer is evicted after the session timeout.
    private static readonly TimeSpan SettleDeadline = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan DrainIdle = TimeSpan.FromSeconds(10);

    private static string OgDll => RepositoryPaths.ProjectOutput("OrleansGroups.Cli", "og");

    [Fact]
    public Task SilosAndConsumersKilled_EveryAcknowledgedRecordIsDelivered_CommitsNeverGoBack_OneOwnerPerPartition_DuplicatesOnlyUncommitted() =>
        RunAsync("kill", DefaultRounds, async (run, random, round) =>
        {
            var silo = random.Next(SiloCount);
            var consumer = random.Next(ConsumerCount);
            await Task.WhenAll(run.KillSiloAsync(silo), run.KillConsumerAsync(consumer));
            await Task.WhenAll(run.RestartSiloAsync(silo), Task.Run(() => run.StartConsumer(consumer)));
            return $"killed silo {silo} and consumer {consumer}, restarted both";
        });

    /// <summary>
    /// Issue 12, split brain under a consumer group: each round freezes one silo (SIGSTOP) until the cluster declares it
    /// dead, waits until the group has settled without it (its groups and partitions moved on), then thaws it (SIGCONT):
    /// for a moment the thawed silo still holds a group activation and member sessions that believe they are current.
    /// It stops itself, is started again, and the checker shows no partition owned by two members in one epoch and no
    /// commit accepted from a member that no longer owned the partition (commits never go back, duplicates only uncommitted).
    /// </summary>
    [Fact]
    public Task SplitBrain_SiloFrozenUntilDeclaredDeadThenThawed_OneOwnerPerPartitionPerEpoch_NoZombieCommit() =>
        RunAsync("freeze", defaultRounds: 2, async (run, random, round) =>
        {
            var silo = random.Next(SiloCount);
            var frozen = Stopwatch.StartNew();
            run.PauseSilo(silo);
            await Wait.UntilAsync(async () => await run.MembershipStatusAsync(silo) == "Dead", SettleDeadline, $"round {round}: the cluster declares silo {silo} dead");
            var declared = frozen.Elapsed;
            try
            {
                await run.WaitSettledAsync(AckedEnds(run.Ledger), $"round {round}: the group settles with silo {silo} frozen and declared dead");
            }
            catch (TimeoutException e)
            {
                // Tell a lost record from a stuck consumer: audit the logs against the acknowledgements now.
                var logs = new Dictionary<int, (long, IReadOnlyList<StoredRecord>)>();
                for (var p = 0; p < Partitions; p++)
                {
                    logs[p] = await PartitionReader.ReadAllAsync(run.Grains!, new OrleansGroups.Core.Topics.TopicPartition(Topic, p));
                }
                var audit = run.Ledger.Audit(logs);
                throw new TimeoutException($"{e.Message}{Environment.NewLine}Log audit at the timeout: {audit}; {string.Join("; ", audit.Problems.Take(10))}", e);
            }
            var settled = frozen.Elapsed;
            var stoppedItself = await run.ResumeUntilItExitsAsync(silo, TimeSpan.FromSeconds(30));
            Assert.True(stoppedItself, $"round {round}: silo {silo}, thawed after it was declared dead, did not stop itself");
            await run.RestartSiloAsync(silo);
            return $"froze silo {silo}: declared dead after {declared.TotalSeconds:0.0} s, the group settled without it after {settled.TotalSeconds:0.0} s; " +
                $"thawed, it stopped itself; restarted";
        });

    /// <summary>The chaos run: <paramref name="fault"/> strikes once per round and says what it did.</summary>
    private async Task RunAsync(string kind, int defaultRounds, Func<ChaosRun, Random, int, Task<string>> fault)
    {
        var rounds = EnvironmentInt("ORLEANSGROUPS_CHAOS_ROUNDS") ?? defaultRounds;
        var seed = EnvironmentInt("ORLEANSGROUPS_CHAOS_SEED") ?? Random.Shared.Next();
        var random = new Random(seed);
        var clock = Stopwatch.StartNew();
        await using var run = new ChaosRun(azurite.ConnectionString, clock, Say);
        Say($"seed {seed} (replay: ORLEANSGROUPS_CHAOS_SEED={seed}), {rounds} rounds, {SiloCount} silos, {ConsumerCount} consumers, " +
            $"{Partitions} partitions, session timeout {SessionTimeoutMs} ms, storage {azurite.Mode}");

        await run.StartSilosAsync();
        // A frozen silo's gateway keeps its connections open: the test's own client must find the gateways in the
        // membership table (as og does) to leave it; a static list would keep routing some grains through it.
        var client = kind == "freeze"
            ? await SiloHost.ConnectThroughTableAsync(azurite.ConnectionString, run.ClusterId, run.ServiceId, ResponseTimeout)
            : await SiloHost.ConnectAsync(run.ClusterId, run.ServiceId, ResponseTimeout, run.GatewayPorts);
        using var stop = new CancellationTokenSource();
        try
        {
            var groups = client.Groups();
            await groups.Admin.CreateTopicAsync(Topic, Partitions);
            var grains = client.Services.GetRequiredService<IGrainFactory>();
            run.Grains = grains;
            var poller = Task.Run(() => run.PollGroupAsync(grains.GetGrain<IConsumerGroupGrain>(Group), stop.Token));
            var collector = Task.Run(() => run.CollectOutputAsync(stop.Token));
            for (var i = 0; i < ConsumerCount; i++)
            {
                run.StartConsumer(i);
            }

            using var stopProducing = new CancellationTokenSource();
            var producer = groups.CreateProducer();
            var producing = Enumerable.Range(0, ProducerTasks)
                .Select(id => Task.Run(() => run.ProduceAsync(producer, id, random.Next(), stopProducing.Token)))
                .ToList();
            var settleTimes = new List<TimeSpan>();
            try
            {
                await run.WaitSettledAsync(AckedEnds(run.Ledger), "the group forms and consumes");
                for (var round = 1; round <= rounds; round++)
                {
                    // 1. Let records flow, then crash one silo and one consumer at the same moment.
                    var ackedBefore = run.Ledger.Acknowledged;
                    await Wait.UntilAsync(() => run.Ledger.Acknowledged >= ackedBefore + AcksPerRound || producing.Any(t => t.IsCompleted),
                        SettleDeadline, $"round {round}: {AcksPerRound} more records are acknowledged (last produce error: {run.LastProduceError})");
                    ThrowIfFaulted(producing);
                    await Task.Delay(random.Next(0, 1500));
                    var kill = clock.Elapsed;
                    var ackedAtKill = AckedEnds(run.Ledger);
                    var ackedCountAtKill = run.Ledger.Acknowledged;
                    var what = await fault(run, random, round);

                    // 2. Then wait until the group has caught up with everything acknowledged before the fault.
                    var restarted = clock.Elapsed;
                    await run.WaitSettledAsync(ackedAtKill, $"round {round}: the group settles after the {kind} ({what})");
                    var settled = clock.Elapsed - kill;
                    settleTimes.Add(settled);
                    Say($"round {round} at {kill.TotalSeconds:0.0} s: {what} in {(restarted - kill).TotalSeconds:0.0} s; " +
                        $"settled in {settled.TotalSeconds:0.0} s; {ackedCountAtKill} acknowledged at the {kind}, {run.Ledger.Acknowledged} now");
                }
            }
            finally
            {
                await stopProducing.CancelAsync();
                await Task.WhenAll(producing).WaitAsync(SettleDeadline);
            }

            // 3. Chaos over: consumers leave (committing what they printed); a fresh member of the group drains the rest.
            var logEnd = (await groups.Admin.DescribeTopicAsync(Topic)).Partitions.ToDictionary(p => p.Partition, p => p.LogEndOffset);
            await run.StopConsumersAsync();
            await run.DrainAsync(DrainIdle);
            await stop.CancelAsync();
            await Task.WhenAll(poller, collector);
            var finalGroup = await grains.GetGrain<IConsumerGroupGrain>(Group).Describe();
            var finalCommitted = finalGroup.CommittedOffsets.Where(c => c.Key.Topic == Topic).ToDictionary(c => c.Key.Partition, c => c.Value.Offset);

            // 4. The verdict.
            var report = GroupChaosChecker.Check(new ChaosObservations(
                run.Ledger.Acks.ToDictionary(a => (a.Value.Partition, a.Value.Offset), a => a.Key),
                [.. run.Deliveries], run.KilledConsumers, [.. run.Snapshots], logEnd, finalCommitted));
            var maxSettle = settleTimes.Count == 0 ? TimeSpan.Zero : settleTimes.Max();
            Say($"SUMMARY {kind} seed {seed}: rounds {settleTimes.Count}, acked {report.Acknowledged}, delivered {report.Delivered} " +
                $"({report.DistinctDelivered} distinct), duplicates {report.Duplicates} ({report.DuplicatesAfterKill} after a kill, " +
                $"{report.DuplicatesAfterHandOver} after a live hand-over), max settle {maxSettle.TotalSeconds:0.0} s, " +
                $"longest wait for an acknowledgement {run.LongestAckGap.TotalSeconds:0.0} s, {run.ProduceFailures} failed produce calls (resent), " +
                $"{run.SnapshotFailures} failed group polls, drained {run.Drained} records; " +
                $"{report}; {clock.Elapsed.TotalSeconds:0.0} s");
            if (!report.Passed)
            {
                Assert.Fail($"seed {seed}: {report}. First problems:{Environment.NewLine}{string.Join(Environment.NewLine, report.Problems.Take(25))}" +
                    $"{Environment.NewLine}{run.ConsumerDiagnostics()}");
            }
        }
        finally
        {
            // The poller and the output collector stop here too when the run failed half way.
            await stop.CancelAsync();
            await client.StopQuietlyAsync();
        }
    }

    /// <summary>Per partition, one past the highest acknowledged offset: what the group must have committed to have caught up.</summary>
    private static Dictionary<int, long> AckedEnds(ProduceLedger ledger) =>
        ledger.Acks.Values.GroupBy(a => a.Partition).ToDictionary(g => g.Key, g => g.Max(a => a.Offset) + 1);

    private static void ThrowIfFaulted(IEnumerable<Task> tasks)
    {
        if (tasks.FirstOrDefault(t => t.IsFaulted) is { } faulted)
        {
            faulted.GetAwaiter().GetResult();
        }
    }

    private static int? EnvironmentInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private void Say(string line)
    {
        output.WriteLine(line);
        Console.WriteLine($"[chaos-cluster] {line}");
    }

    /// <summary>The processes of one run and everything observed about them.</summary>
    private sealed class ChaosRun(string connectionString, Stopwatch clock, Action<string> say) : IAsyncDisposable
    {
        private readonly string[][] _siloArguments = new string[SiloCount][];
        private readonly int[] _siloPorts = new int[SiloCount];
        private readonly ChildProcess?[] _silos = new ChildProcess?[SiloCount];
        private readonly ConsumerProcess?[] _consumers = new ConsumerProcess?[ConsumerCount];
        private readonly List<ConsumerProcess> _allConsumers = [];
        private readonly HashSet<string> _killed = new(StringComparer.Ordinal);
        private volatile GroupDescription? _latest;
        private int _incarnations;
        private long _produceFailures;
        private long _snapshotFailures;
        private long _lastAckTicks;
        private long _longestAckGapTicks;

        public string ClusterId { get; } = $"chaos-{Guid.NewGuid():N}"[..14];

        public string ServiceId { get; } = $"chaos-{Guid.NewGuid():N}"[..16];

        public int[] GatewayPorts { get; } = new int[SiloCount];

        public ProduceLedger Ledger { get; } = new();

        /// <summary>The test's own client, for diagnostics.</summary>
        public IGrainFactory? Grains { get; set; }

        public ConcurrentQueue<Delivery> Deliveries { get; } = new();

        public ConcurrentQueue<OwnershipSnapshot> Snapshots { get; } = new();

        public IReadOnlySet<string> KilledConsumers
        {
            get
            {
                lock (_killed)
                {
                    return _killed.ToHashSet(StringComparer.Ordinal);
                }
            }
        }

        public long ProduceFailures => Interlocked.Read(ref _produceFailures);

        public long SnapshotFailures => Interlocked.Read(ref _snapshotFailures);

        /// <summary>The longest the producer went without any acknowledgement (silo kills stall calls to the partitions it hosted).</summary>
        public TimeSpan LongestAckGap => TimeSpan.FromTicks(Interlocked.Read(ref _longestAckGapTicks));

        public string LastProduceError { get; private set; } = "none";

        public int Drained { get; private set; }

        public async Task StartSilosAsync()
        {
            var ports = FreePorts.Get(2 * SiloCount);
            for (var i = 0; i < SiloCount; i++)
            {
                GatewayPorts[i] = ports[2 * i + 1];
                _siloPorts[i] = ports[2 * i];
                _siloArguments[i] = SiloHost.ClusterArguments(connectionString, ClusterId, ServiceId, ports[2 * i], ports[2 * i + 1], healthPort: 0);
            }
            await Task.WhenAll(Enumerable.Range(0, SiloCount).Select(RestartSiloAsync));
        }

        public async Task KillSiloAsync(int index) => await _silos[index]!.KillAsync();

        /// <summary>SIGSTOP: the silo hangs with its ports open.</summary>
        public void PauseSilo(int index) => _silos[index]!.Pause();

        /// <summary>SIGCONT, then waits until the silo stops itself (one declared dead does); kills it after <paramref name="timeout"/>.</summary>
        public async Task<bool> ResumeUntilItExitsAsync(int index, TimeSpan timeout)
        {
            var silo = _silos[index]!;
            silo.Resume();
            try
            {
                await silo.WaitForExitAsync(timeout);
                return true;
            }
            catch (TimeoutException)
            {
                await silo.KillAsync();
                return false;
            }
        }

        /// <summary>The membership table's status of silo <paramref name="index"/>'s newest generation ("Active", "Dead", ...).</summary>
        public Task<string?> MembershipStatusAsync(int index) => SplitBrain.MembershipTable.StatusAsync(connectionString, ClusterId, _siloPorts[index]);

        /// <summary>Starts silo <paramref name="index"/> (again) with its arguments and waits until it is ready.</summary>
        public async Task RestartSiloAsync(int index)
        {
            if (_silos[index] is { } old)
            {
                await old.DisposeAsync();
            }
            var silo = ChildProcess.StartDotnet(SiloProcess.SiloDll, _siloArguments[index]);
            _silos[index] = silo;
            try
            {
                await silo.WaitForOutputAsync(SiloHost.ReadyLine, StartDeadline);
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                throw new TimeoutException($"silo {index} did not become ready:{Environment.NewLine}{silo.OutputText}", e);
            }
        }

        /// <summary>
        /// <c>og consume</c> as one member of the group, finding the gateways through the cluster table so it outlives any
        /// one silo, with a short session so a killed member's partitions move on in seconds.
        /// </summary>
        private string[] ConsumeArguments(int idleTimeoutMs) =>
        [
            "consume", Topic, "--group", Group, "--from-beginning", "--json",
            "--timeout-ms", idleTimeoutMs.ToString(CultureInfo.InvariantCulture),
            "--session-timeout-ms", SessionTimeoutMs.ToString(CultureInfo.InvariantCulture),
            "--clustering", "azure", "--connection-string", connectionString, "--cluster-id", ClusterId, "--service-id", ServiceId,
        ];

        /// <summary>Starts a new <c>og consume</c> process in consumer slot <paramref name="slot"/>.</summary>
        public void StartConsumer(int slot)
        {
            var name = $"c{slot}.{Interlocked.Increment(ref _incarnations)}";
            var process = ChildProcess.StartDotnet(OgDll, ConsumeArguments(idleTimeoutMs: 0));
            var consumer = new ConsumerProcess(name, process);
            lock (_allConsumers)
            {
                _allConsumers.Add(consumer);
            }
            _consumers[slot] = consumer;
        }

        public async Task KillConsumerAsync(int slot)
        {
            var consumer = _consumers[slot]!;
            lock (_killed)
            {
                _killed.Add(consumer.Name);
            }
            await consumer.Process.KillAsync();
        }

        /// <summary>SIGTERM: og consume commits what it printed and leaves the group.</summary>
        public async Task StopConsumersAsync()
        {
            var codes = await Task.WhenAll(_consumers.Select(c => c!.Process.StopAsync(TimeSpan.FromSeconds(30))));
            say($"consumers stopped with exit codes {string.Join(", ", codes)}");
            Assert.True(codes.All(code => code == 0), $"every consumer that lived through the chaos leaves cleanly on SIGTERM:{Environment.NewLine}{ConsumerDiagnostics()}");
        }

        /// <summary>A fresh member of the group reads whatever is left, until it has seen nothing new for <paramref name="idle"/>.</summary>
        public async Task DrainAsync(TimeSpan idle)
        {
            var started = clock.Elapsed;
            var result = await ChildProcess.RunAsync(ChildProcess.DotnetHost, [OgDll, .. ConsumeArguments((int)idle.TotalMilliseconds)],
                stdin: null, timeout: SettleDeadline);
            Assert.True(result.ExitCode == 0, $"the drain failed with {result.ExitCode}: {result.StandardError}");
            foreach (var line in result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Deliveries.Enqueue(Parse("drain", line, clock.Elapsed));
                Drained++;
            }
            say($"the drain read {Drained} records in {(clock.Elapsed - started).TotalSeconds:0.0} s ({result.StandardError.Trim()})");
        }

        /// <summary>
        /// Waits until the latest snapshot shows every consumer slot's member stable, every partition owned, and commits at
        /// or past <paramref name="ends"/>.
        /// </summary>
        public async Task WaitSettledAsync(IReadOnlyDictionary<int, long> ends, string what)
        {
            var reason = "no snapshot yet";
            try
            {
                await Wait.UntilAsync(() =>
                {
                    ThrowIfConsumerExited();
                    reason = Unsettled(_latest, ends);
                    return reason is null;
                }, SettleDeadline, what);
            }
            catch (TimeoutException e)
            {
                throw new TimeoutException($"{e.Message} Last state: {reason}.{Environment.NewLine}{ConsumerDiagnostics()}", e);
            }
        }

        private static string? Unsettled(GroupDescription? group, IReadOnlyDictionary<int, long> ends)
        {
            if (group is null)
            {
                return "no snapshot yet";
            }
            if (group.State != GroupState.Stable || group.Members.Count != ConsumerCount || group.Members.Any(m => m.State != MemberState.Stable))
            {
                return $"group {group.State} at epoch {group.GroupEpoch} with members {string.Join(", ", group.Members.Select(m => $"{m.MemberId[..6]}:{m.State}@{m.MemberEpoch}[{m.AssignedPartitions.Count}]"))}";
            }
            var owned = group.Members.SelectMany(m => m.AssignedPartitions).Count(p => p.Topic == Topic);
            if (owned != Partitions)
            {
                return $"{owned} of {Partitions} partitions owned";
            }
            var behind = ends.Where(e => !group.CommittedOffsets.TryGetValue(new(Topic, e.Key), out var c) || c.Offset < e.Value).ToList();
            return behind.Count == 0 ? null
                : "behind: " + string.Join(", ", behind.Select(b => $"p{b.Key} committed {(group.CommittedOffsets.TryGetValue(new(Topic, b.Key), out var c) ? c.Offset : -1)} < {b.Value}"));
        }

        private void ThrowIfConsumerExited()
        {
            foreach (var consumer in _consumers)
            {
                if (consumer is { Process.HasExited: true } && !KilledConsumers.Contains(consumer.Name))
                {
                    throw new InvalidOperationException($"consumer {consumer.Name} exited with {consumer.Process.ExitCode}:{Environment.NewLine}{consumer.Process.OutputText[^Math.Min(2000, consumer.Process.OutputText.Length)..]}");
                }
            }
        }

        /// <summary>Produces batches of <see cref="RecordsPerCall"/> to random partitions, noting every acknowledgement; resends failed calls.</summary>
        public async Task ProduceAsync(Producer producer, int id, int seed, CancellationToken stop)
        {
            var random = new Random(seed);
            Interlocked.CompareExchange(ref _lastAckTicks, clock.Elapsed.Ticks, 0);
            long sequence = 0;
            long issue = 0;
            while (!stop.IsCancellationRequested)
            {
                var payloads = Enumerable.Range(0, RecordsPerCall).Select(_ => ProduceLedger.Payload(id, sequence++, ChaosProducer.PayloadLength)).ToList();
                var partition = random.Next(Partitions);
                Ledger.Sending(payloads);
                // The same payloads until acknowledged (or the run ends): a payload names one record.
                while (true)
                {
                    try
                    {
                        var delivered = await producer.ProduceBatchAsync(Topic, payloads.Select(p => new Message(null, Encoding.UTF8.GetBytes(p))).ToList(), partition);
                        issue++;
                        for (var i = 0; i < payloads.Count; i++)
                        {
                            Ledger.Acknowledge(payloads[i], new Ack(delivered[i].Partition, delivered[i].Offset, id, issue, Generation: 1));
                        }
                        NoteAcknowledgement();
                        break;
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        Interlocked.Increment(ref _produceFailures);
                        Ledger.Failed(payloads);
                        LastProduceError = $"{e.GetType().Name}: {e.Message}";
                        if (stop.IsCancellationRequested)
                        {
                            return;
                        }
                        await Task.Delay(200, CancellationToken.None);
                    }
                }
                try
                {
                    await Task.Delay(PauseBetweenCalls, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        private void NoteAcknowledgement()
        {
            var now = clock.Elapsed.Ticks;
            var gap = now - Interlocked.Exchange(ref _lastAckTicks, now);
            long longest;
            while (gap > (longest = Interlocked.Read(ref _longestAckGapTicks)) && Interlocked.CompareExchange(ref _longestAckGapTicks, gap, longest) != longest)
            {
            }
        }

        /// <summary>Describes the group again and again; a call that fails (a silo just died) is counted and retried.</summary>
        public async Task PollGroupAsync(IConsumerGroupGrain group, CancellationToken stop)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var description = await group.Describe();
                    _latest = description;
                    Snapshots.Enqueue(new OwnershipSnapshot(clock.Elapsed, description.GroupEpoch,
                        description.Members.Select(m => new MemberOwnership(m.MemberId, m.MemberEpoch,
                            m.AssignedPartitions.Concat(m.PartitionsPendingRevocation).Where(p => p.Topic == Topic).Select(p => p.Partition).ToList())).ToList(),
                        description.CommittedOffsets.Where(c => c.Key.Topic == Topic).ToDictionary(c => c.Key.Partition, c => c.Value.Offset)));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Interlocked.Increment(ref _snapshotFailures);
                }
                try
                {
                    await Task.Delay(SnapshotInterval, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        /// <summary>Reads the consumers' new lines every <see cref="OutputInterval"/>, stamping each with the time it was read.</summary>
        public async Task CollectOutputAsync(CancellationToken stop)
        {
            while (true)
            {
                List<ConsumerProcess> consumers;
                lock (_allConsumers)
                {
                    consumers = [.. _allConsumers];
                }
                foreach (var consumer in consumers)
                {
                    var lines = consumer.Process.Output;
                    var now = clock.Elapsed;
                    for (; consumer.LinesRead < lines.Count; consumer.LinesRead++)
                    {
                        var line = lines[consumer.LinesRead];
                        if (line.StartsWith('{'))
                        {
                            Deliveries.Enqueue(Parse(consumer.Name, line, now));
                            consumer.Printed++;
                        }
                    }
                }
                if (stop.IsCancellationRequested)
                {
                    return;
                }
                try
                {
                    await Task.Delay(OutputInterval, stop);
                }
                catch (OperationCanceledException)
                {
                    // One last pass above picks up what arrived meanwhile.
                }
            }
        }

        public string ConsumerDiagnostics()
        {
            List<ConsumerProcess> consumers;
            lock (_allConsumers)
            {
                consumers = [.. _allConsumers];
            }
            return string.Join(Environment.NewLine, consumers.Select(c =>
                $"{c.Name}: {(KilledConsumers.Contains(c.Name) ? "killed" : c.Process.HasExited ? $"exited {c.Process.ExitCode}" : "running")}, " +
                $"printed {c.Printed}; other output: {string.Join(" | ", c.Process.Output.Where(l => !l.StartsWith('{')).TakeLast(5))}"));
        }

        private static Delivery Parse(string consumer, string line, TimeSpan receivedAt)
        {
            using var json = JsonDocument.Parse(line);
            var record = json.RootElement;
            return new Delivery(consumer, record.GetProperty("partition").GetInt32(), record.GetProperty("offset").GetInt64(),
                record.GetProperty("value").GetString() ?? "", receivedAt);
        }

        public async ValueTask DisposeAsync()
        {
            List<ConsumerProcess> consumers;
            lock (_allConsumers)
            {
                consumers = [.. _allConsumers];
            }
            foreach (var consumer in consumers)
            {
                await consumer.Process.DisposeAsync();
            }
            foreach (var silo in _silos)
            {
                if (silo is not null)
                {
                    silo.Resume();
                    await silo.DisposeAsync();
                }
            }
        }
    }

    /// <summary>One <c>og consume</c> process and how far the test has read its output.</summary>
    private sealed class ConsumerProcess(string name, ChildProcess process)
    {
        public string Name { get; } = name;

        public ChildProcess Process { get; } = process;

        public int LinesRead { get; set; }

        public int Printed { get; set; }
    }
}
