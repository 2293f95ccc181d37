using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;
using OrleansGroups.Cli.Commands.Demo;
using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;
using OrleansGroups.Hosting;

namespace OrleansGroups.Cli.Commands;

/// <summary>
/// <c>og demo</c>: a narrated tour for a newcomer. Starts storage and a silo in this process, then walks one topic and
/// two consumer groups through joins, a rebalance and a crash, and ends with counts that prove each group read every
/// record exactly once.
/// </summary>
internal static class DemoCommand
{
    private const string Topic = "demo-orders";
    private const int Partitions = 4;
    private const int Customers = 100;

    // Fast protocol timings so the whole story fits in well under a minute; production keeps the
    // defaults (1 s heartbeat, 45 s session). Session 2 s = 10 heartbeats, far above the "3 x heartbeat" rule.
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(2);
    private static readonly GroupCoordinatorOptions FastTimings = new()
    {
        HeartbeatIntervalMs = 200,
        ReconcilingHeartbeatIntervalMs = 50,
        MinSessionTimeoutMs = 500,
    };
    private static readonly TimeSpan ExpiryCheckInterval = TimeSpan.FromMilliseconds(200);

    // Any single wait for the group; far above what each step needs (about a second, or the session timeout).
    private static readonly TimeSpan StepDeadline = TimeSpan.FromSeconds(20);

    public static Command Create()
    {
        var storage = new Option<string?>("--storage")
        {
            Description = "memory, or azure (Azurite on 127.0.0.1:10000, else a private Azurite started from scripts/azurite). " +
                "Default: azure when possible, else memory; the demo says which it uses",
        }.AcceptOnlyFromAmong("memory", "azure");
        var records = new Option<int>("--records")
        {
            Description = "Records produced at the start; half as many more arrive while a consumer crashes",
            DefaultValueFactory = _ => 2000,
        };
        var command = new Command("demo",
            "A self-contained, narrated demo: starts storage and a silo in this process, creates topic demo-orders, " +
            "runs consumer groups through joins, a rebalance and a crash, and checks that every record was read exactly " +
            "once per group (exit 0 when it was, 1 otherwise). Needs no running cluster")
        {
            storage, records, ClusterConnection.Verbose,
        };
        command.SetAction(async (parse, ct) =>
        {
            var count = parse.GetValue(records);
            if (count is < 1 or > 1_000_000)
            {
                Console.Error.WriteLine("error: --records must be between 1 and 1000000.");
                return ExitCodes.Failed;
            }
            var narrator = new Narrator(Console.Out);
            try
            {
                return await RunAsync(narrator, parse.GetValue(storage), count, parse.GetValue(ClusterConnection.Verbose), ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                narrator.Line("Interrupted.");
                return ExitCodes.Interrupted;
            }
            catch (Exception e)
            {
                Console.Out.Flush();
                var (message, code) = ClusterConnection.Explain(e, "the demo's silo", connected: true);
                Console.Error.WriteLine($"error: {message}");
                return code;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(Narrator say, string? requestedStorage, int recordCount, bool verbose, CancellationToken ct)
    {
        say.Title("og demo: Kafka-style topics and consumer groups on Orleans, all in this one process");

        await using var storage = await DemoStorage.ChooseAsync(requestedStorage, progress => say.Fact("Storage", progress), ct);
        say.Fact("Storage", storage.Description);

        var siloStarted = Stopwatch.StartNew();
        var (host, settings) = await StartSiloAsync(storage, verbose, ct);
        var consumers = new List<DemoConsumer>();
        try
        {
            say.Fact("Silo", $"started in {siloStarted.Elapsed.TotalSeconds:0.0} s (gateway {settings.GatewayEndpoint}, " +
                $"service id {settings.ServiceId}: this run's own namespace, so runs never see each other's data)");
            say.Fact("Timings", $"heartbeat every {FastTimings.HeartbeatIntervalMs} ms; a consumer silent for " +
                $"{SessionTimeout.TotalSeconds:0} s is evicted (defaults: 1 s and 45 s)");
            var client = new OrleansGroupsClient(host.Services.GetRequiredService<IGrainFactory>());
            var script = new DemoScript(say, client, recordCount);
            var ok = await script.RunAsync(consumers, ct);
            say.Blank();
            say.Fact("Done", $"in {say.Elapsed.TotalSeconds:0.0} s; stopping the silo" +
                (storage.StartedAzurite ? " and the private Azurite." : storage.Kind == StorageKind.Azure ? " and removing this run's containers from Azurite." : "."));
            return ok ? ExitCodes.Ok : ExitCodes.Failed;
        }
        finally
        {
            foreach (var consumer in consumers.Where(c => c.Running))
            {
                try
                {
                    await consumer.LeaveAsync();
                }
                catch (Exception)
                {
                    // Shutting down anyway.
                }
            }
            try
            {
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await host.StopAsync(stop.Token);
            }
            catch (Exception)
            {
                // The process exits next; nothing is left to protect.
            }
            host.Dispose();
            await storage.RemoveRunDataAsync();
        }
    }

    private static async Task<(IHost Host, SiloSettings Settings)> StartSiloAsync(DemoStorage storage, bool verbose, CancellationToken ct)
    {
        var ports = FreeLoopbackPorts(2);
        var runId = $"demo-{Guid.NewGuid().ToString("N")[..8]}";
        var settings = new SiloSettings
        {
            Storage = storage.Kind,
            ConnectionString = storage.ConnectionString,
            Clustering = ClusteringKind.Localhost,
            ClusterId = "demo",
            ServiceId = runId,
            SiloPort = ports[0],
            GatewayPort = ports[1],
        };
        settings.Options.Groups.Coordinator = FastTimings;
        settings.Options.Groups.ExpiryCheckInterval = ExpiryCheckInterval;
        storage.IsolateRun(settings, runId);
        var errors = settings.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", errors));
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
        ClusterConnection.ConfigureLogging(builder.Logging, verbose);
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.UseOrleans(settings.Apply);
        var host = builder.Build();
        try
        {
            await host.StartAsync(ct);
        }
        catch
        {
            host.Dispose();
            throw;
        }
        return (host, settings);
    }

    /// <summary>Ports free a moment ago: bound together on port 0 (so they differ), then released for the silo.</summary>
    private static int[] FreeLoopbackPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }

    /// <summary>The story itself, step by step.</summary>
    private sealed class DemoScript(Narrator say, OrleansGroupsClient client, int recordCount)
    {
        private readonly HashSet<(int Partition, long Offset)> _produced = [];
        private readonly Producer _producer = client.CreateProducer();
        private readonly List<string> _problems = [];
        private int _nextOrder;

        // Slow the consumers down just enough that joins and the crash happen mid-stream: about 8 s of "work" for the
        // initial records at one consumer, and no slowdown at all for large --records.
        private TimeSpan WorkPerRecord => TimeSpan.FromMilliseconds(Math.Min(4.0, 8000.0 / recordCount));

        public async Task<bool> RunAsync(List<DemoConsumer> consumers, CancellationToken ct)
        {
            // 1. The topic.
            say.Step($"Create topic \"{Topic}\" with {Partitions} partitions: a partition is the unit of order and of parallelism.");
            await client.Admin.CreateTopicAsync(Topic, Partitions);

            // 2. The first records.
            say.Step($"Produce {recordCount:N0} orders keyed by customer (customer-000..customer-{Customers - 1:D3}): " +
                "one customer's orders always land in the same partition, in order.");
            await ProduceAsync(recordCount, pause: TimeSpan.Zero, ct);
            say.Table(ProducedTable());

            // 3. Two consumers share the partitions.
            var billing = new GroupLedger("billing");
            say.Step("Group \"billing\": consumer-1 and consumer-2 join. The group coordinator (a grain) splits the partitions.");
            consumers.Add(StartConsumer("consumer-1", billing));
            consumers.Add(StartConsumer("consumer-2", billing));
            var owners = await ShowStableAsync(billing, consumers, expectedMembers: 2, previous: null, ct);

            // 4. Work for a while.
            await WaitUntilAsync(() => billing.Read >= recordCount * 3 / 10, ct);
            say.Step($"They work through the backlog and commit after each batch: billing has processed {billing.Read:N0} of {_produced.Count:N0}.");

            // 5. A third consumer joins mid-stream.
            say.Step("consumer-3 joins. A partition moves only after its owner commits and releases it, so no record is read twice.");
            consumers.Add(StartConsumer("consumer-3", billing));
            owners = await ShowStableAsync(billing, consumers, expectedMembers: 3, owners, ct);
            await WaitUntilAsync(() => billing.Read >= recordCount * 55 / 100, ct);

            // 6. A consumer crashes while new orders keep arriving.
            var victim = consumers.Single(c => c.Name == "consumer-2");
            var victimPartitions = victim.Consumer.Assignment;
            await victim.CrashAsync();
            var crashedAt = Stopwatch.StartNew();
            say.Step($"consumer-2 crashes right after a commit (it held {GroupCommands.Partitions(victimPartitions)}): " +
                "no goodbye, its heartbeats just stop. " +
                $"Until the group notices (session timeout {SessionTimeout.TotalSeconds:0} s) nobody reads those partitions.");
            var more = recordCount / 2;
            say.Line($"Meanwhile {more:N0} more orders arrive.");
            var producing = ProduceAsync(more, pause: TimeSpan.FromMilliseconds(100), ct);
            await Task.Delay(SessionTimeout / 2, ct);
            say.Line($"{crashedAt.Elapsed.TotalSeconds:0.0} s later the group still lists consumer-2 as the owner; its lag grows:");
            await ShowPositionsAsync("billing", consumers);
            await WaitUntilAsync(async () => (await client.Admin.DescribeGroupAsync("billing")).Group.Members.Count == 2, ct);
            say.Line($"The group evicted consumer-2 {crashedAt.Elapsed.TotalSeconds:0.0} s after its last heartbeat and gave its partitions to the survivors, " +
                "who resume from its last commit.");
            owners = await ShowStableAsync(billing, consumers.Where(c => c.Running).ToList(), expectedMembers: 2, owners, ct);
            await producing;
            say.Line($"All {_produced.Count:N0} orders are in the log.");

            // 7. Drain.
            say.Step("The survivors drain the rest.");
            await WaitUntilAsync(() => billing.Distinct >= _produced.Count, ct);
            await WaitUntilAsync(async () => (await client.Admin.DescribeGroupAsync("billing")).Partitions.All(p => p.Lag == 0), ct);
            await ShowPositionsAsync("billing", consumers);
            foreach (var consumer in consumers.Where(c => c.Running))
            {
                await consumer.LeaveAsync();
            }
            say.Line("consumer-1 and consumer-3 leave the group cleanly.");

            // 8. An independent group.
            var analytics = new GroupLedger("analytics");
            say.Step("Group \"analytics\" has its own offsets: one consumer reads the whole topic again, independently of billing.");
            var reader = new DemoConsumer("analytics-1",
                client.CreateConsumer(new ConsumerOptions("analytics") { ClientId = "analytics-1", AutoOffsetReset = AutoOffsetReset.Earliest, SessionTimeout = SessionTimeout }),
                analytics, TimeSpan.Zero);
            consumers.Add(reader);
            reader.Start(Topic);
            await WaitUntilAsync(() => analytics.Distinct >= _produced.Count, ct);
            await WaitUntilAsync(async () => (await TryDescribeAsync("analytics"))?.Partitions.All(p => p.Lag == 0) == true, ct);
            await reader.LeaveAsync();
            say.Line($"analytics-1 read {analytics.Read:N0} records and left.");

            // 9. The proof.
            return Verdict([billing, analytics]);
        }

        private DemoConsumer StartConsumer(string name, GroupLedger ledger)
        {
            var consumer = new DemoConsumer(name, client.CreateConsumer(new ConsumerOptions(ledger.GroupId)
            {
                ClientId = name,
                AutoOffsetReset = AutoOffsetReset.Earliest,
                SessionTimeout = SessionTimeout,
            }), ledger, WorkPerRecord);
            consumer.Start(Topic);
            return consumer;
        }

        private async Task ProduceAsync(int count, TimeSpan pause, CancellationToken ct)
        {
            const int batchSize = 200;
            for (var sent = 0; sent < count; sent += batchSize)
            {
                var batch = Enumerable.Range(0, Math.Min(batchSize, count - sent)).Select(_ =>
                {
                    var order = ++_nextOrder;
                    var customer = $"customer-{order * 37 % Customers:D3}";
                    return Message.FromStrings(customer, $"order-{order:D6} for {customer}: {order % 9 + 1} items");
                }).ToList();
                var results = await _producer.ProduceBatchAsync(Topic, batch, cancellationToken: ct);
                lock (_produced)
                {
                    foreach (var result in results)
                    {
                        _produced.Add((result.Partition, result.Offset));
                    }
                }
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, ct);
                }
            }
        }

        private TableWriter ProducedTable()
        {
            var table = new TableWriter("PARTITION>", "RECORDS>");
            lock (_produced)
            {
                foreach (var partition in _produced.GroupBy(p => p.Partition).OrderBy(g => g.Key))
                {
                    table.AddRow(partition.Key, partition.Count());
                }
            }
            return table;
        }

        /// <summary>
        /// Waits until the group is stable with the expected members, every partition owned, and each consumer
        /// actually holding what the group says; then prints who owns what and what moved.
        /// </summary>
        private async Task<Dictionary<int, string>> ShowStableAsync(GroupLedger ledger, IReadOnlyList<DemoConsumer> consumers,
            int expectedMembers, Dictionary<int, string>? previous, CancellationToken ct)
        {
            var waited = Stopwatch.StartNew();
            var names = consumers.ToDictionary(c => c.Consumer.MemberId, c => c.Name);
            GroupDetails? details = null;
            var settled = await WaitUntilAsync(async () =>
            {
                details = await TryDescribeAsync(ledger.GroupId) ?? details;
                if (details is null)
                {
                    return false;
                }
                var group = details.Group;
                return group.State == GroupState.Stable
                    && group.Members.Count == expectedMembers
                    && group.Members.All(m => m.State == MemberState.Stable && m.PartitionsPendingRevocation.Count == 0)
                    && details.Partitions.All(p => p.Owner is not null)
                    && consumers.All(c => group.Members.Any(m => m.MemberId == c.Consumer.MemberId
                        && m.AssignedPartitions.Order().SequenceEqual(c.Consumer.Assignment)));
            }, ct, throwOnTimeout: false);
            details ??= await client.Admin.DescribeGroupAsync(ledger.GroupId);
            if (!settled)
            {
                _problems.Add($"group {ledger.GroupId} did not settle with {expectedMembers} members within {StepDeadline.TotalSeconds:0} s");
                say.Line($"The group did not settle within {StepDeadline.TotalSeconds:0} s; this is what it looks like now:");
            }
            var owners = details!.Partitions.Where(p => p.Owner is not null)
                .ToDictionary(p => p.TopicPartition.Partition, p => names.GetValueOrDefault(p.Owner!, p.Owner!));
            if (settled)
            {
                var after = waited.Elapsed >= TimeSpan.FromMilliseconds(100) ? $" after {waited.Elapsed.TotalSeconds:0.0} s" : "";
                say.Line($"Stable{after} at group epoch {details.Group.GroupEpoch}: " +
                    string.Join(", ", owners.GroupBy(o => o.Value).OrderBy(g => g.Key, StringComparer.Ordinal)
                        .Select(g => $"{g.Key} owns {g.Count()}")) + ".");
            }
            say.Table(PositionTable(details, names));
            if (previous is not null)
            {
                var moved = owners.Where(o => previous.GetValueOrDefault(o.Key) != o.Value).OrderBy(o => o.Key)
                    .Select(o => $"{Topic}/{o.Key} {previous.GetValueOrDefault(o.Key) ?? "nobody"} -> {o.Value}").ToList();
                say.Line(moved.Count == 0 ? "No partition moved." : $"Moved: {string.Join("; ", moved)}.");
            }
            return owners;
        }

        /// <summary>The group, or null while it does not exist yet (it is created by its first member's first heartbeat).</summary>
        private async Task<GroupDetails?> TryDescribeAsync(string groupId)
        {
            try
            {
                return await client.Admin.DescribeGroupAsync(groupId);
            }
            catch (GroupIdNotFoundException)
            {
                return null;
            }
        }

        private async Task ShowPositionsAsync(string groupId, IReadOnlyList<DemoConsumer> consumers)
        {
            var names = consumers.ToDictionary(c => c.Consumer.MemberId, c => c.Name);
            say.Table(PositionTable(await client.Admin.DescribeGroupAsync(groupId), names));
        }

        private static TableWriter PositionTable(GroupDetails details, IReadOnlyDictionary<string, string> names)
        {
            var table = new TableWriter("PARTITION", "OWNER", "COMMITTED>", "LOG-END>", "LAG>");
            foreach (var p in details.Partitions)
            {
                table.AddRow(p.TopicPartition, p.Owner is null ? null : names.GetValueOrDefault(p.Owner, p.Owner),
                    p.CommittedOffset, p.LogEndOffset, p.Lag);
            }
            return table;
        }

        private bool Verdict(IReadOnlyList<GroupLedger> ledgers)
        {
            say.Step("Results, counted per (partition, offset) as each consumer processed it:");
            var table = new TableWriter("GROUP", "PRODUCED>", "READ>", "DISTINCT OFFSETS>", "READ TWICE WITHIN THE GROUP>", "NEVER READ>");
            var ok = _problems.Count == 0;
            foreach (var ledger in ledgers)
            {
                var missing = ledger.CountMissing(_produced);
                var unexpected = ledger.CountUnexpected(_produced);
                table.AddRow(ledger.GroupId, _produced.Count, ledger.Read, ledger.Distinct, ledger.Duplicates.Count, missing);
                ok &= ledger.Duplicates.Count == 0 && missing == 0 && unexpected == 0 && ledger.Read == _produced.Count;
                if (unexpected > 0)
                {
                    _problems.Add($"{ledger.GroupId} read {unexpected} offsets that were never produced");
                }
            }
            say.Table(table);
            foreach (var ledger in ledgers)
            {
                say.Line($"{ledger.GroupId} per consumer: " + string.Join(", ",
                    ledger.ReadBy.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => $"{r.Key} {r.Value:N0}")));
                foreach (var (partition, offset, first, again) in ledger.Duplicates.Take(10))
                {
                    say.Line($"  read twice: {Topic}/{partition} offset {offset}, by {first} and again by {again}");
                }
            }
            foreach (var problem in _problems)
            {
                say.Line($"Problem: {problem}.");
            }
            say.Line(ok
                ? "Every record was read exactly once by each group, through two joins, a crash and an eviction."
                : "The exactly-once-per-group check FAILED (see above).");
            return ok;
        }

        private Task<bool> WaitUntilAsync(Func<bool> condition, CancellationToken ct) =>
            WaitUntilAsync(() => Task.FromResult(condition()), ct);

        /// <summary>Polls a condition every 100 ms until it holds or <see cref="StepDeadline"/> passes.</summary>
        private async Task<bool> WaitUntilAsync(Func<Task<bool>> condition, CancellationToken ct, bool throwOnTimeout = true)
        {
            var deadline = Stopwatch.StartNew();
            while (!await condition())
            {
                if (deadline.Elapsed > StepDeadline)
                {
                    if (throwOnTimeout)
                    {
                        throw new CliException($"the demo waited {StepDeadline.TotalSeconds:0} s for a step that takes about a second");
                    }
                    return false;
                }
                await Task.Delay(100, ct);
            }
            return true;
        }
    }

    /// <summary>Narration with the elapsed time on each step, so the watcher sees how long each thing takes.</summary>
    private sealed class Narrator(TextWriter output)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _step;

        public void Title(string text)
        {
            output.WriteLine(text);
            output.WriteLine();
        }

        public void Fact(string label, string text) => output.WriteLine($"{label,-8} {text}");

        public void Step(string text)
        {
            output.WriteLine();
            output.WriteLine($"[{_clock.Elapsed.TotalSeconds,5:0.0}s] {++_step}. {text}");
        }

        public TimeSpan Elapsed => _clock.Elapsed;

        public void Line(string text) => output.WriteLine($"{"",9}{text}");

        public void Blank() => output.WriteLine();

        public void Table(TableWriter table)
        {
            table.WriteTo(output, new string(' ', 9));
        }
    }
}
