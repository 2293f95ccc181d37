using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using OrleansGroups.Bench.Peer;
using OrleansGroups.Client;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Bench;

/// <summary>One repetition of one consume scenario, for one system.</summary>
internal sealed record ConsumeRun(
    int Repetition,
    long Records,
    double Seconds,
    double RecordsPerSecond,
    double? RecordsPerSecondAfterFirst,
    double? FirstRecordSeconds,
    double? AckP50Ms,
    double? AckP99Ms,
    double? P50Ms,
    double? P99Ms,
    double? MaxMs,
    long Duplicates,
    long Missing,
    long? LagAfterClose,
    double ProcessCpuPercentOfMachine,
    double RedisCpuPercentOfMachine);

/// <summary>A consume scenario with its runs per system ("redis", "memory", "azurite").</summary>
internal sealed record ConsumeScenario(string Name, string Kind, long RecordsPerRun, Dictionary<string, List<ConsumeRun>> Runs);

/// <summary>
/// <c>OrleansGroups.Bench consume</c> (issue 5, item 5): consumer latency at a low rate and group throughput, OrleansGroups
/// (memory, Azurite) next to Redis Streams consumer groups in the same run. The OrleansGroups side uses only the public
/// client API (<c>CreateProducer</c>, <c>CreateConsumer</c>, <c>Subscribe</c>, <c>ConsumeAsync</c>, <c>CloseAsync</c>, the
/// admin client), so the benchmark runs unchanged when the consumer's internals change. Writes
/// <c>consume-&lt;yyyy-MM-dd&gt;.json</c> and <c>.md</c>.
/// </summary>
internal static class ConsumeBench
{
    private const string Usage = """
        Usage: OrleansGroups.Bench consume [options]
          --storage memory|azure|both   OrleansGroups storage(s) to run next to Redis (default both)
          --repetitions N               repetitions of each scenario (default 3)
          --records N                   records pre-produced for each throughput run (default 200000)
          --consumers LIST              group sizes of the throughput runs (default 1,2,4)
          --partitions N                partitions of the throughput topic (default 8)
          --latency-rate N              records/s of the latency runs (default 200)
          --latency-samples N           measured records per latency run, after the warm-up (default 2000)
          --latency-warmup N            records sent first and not measured (default 200)
          --latency-partitions N        partitions of the latency topic (default 1, as one Redis stream)
          --linger-ms LIST              producer linger(s) for the latency runs, e.g. 0,5 (default: ProducerOptions' default)
          --no-storage-reads            skip the Azurite silo without a tail cache (whose consumers read from Azurite)
          --direct-fetch                also run consumers that fetch straight from the partitions (no consumer grain), as a baseline
          --out DIR                     where consume-<date>.json/.md go (default bench/results)
          --commit SHA                  recorded in the results
        """;

    public static async Task<int> RunAsync(string[] args, Dictionary<string, string> machine, string defaultOutput)
    {
        var common = new CommonOptions("both", defaultOutput);
        long records = 200_000, samples = 2_000, warmUp = 200;
        int[] consumerCounts = [1, 2, 4];
        var partitions = 8;
        var rate = 200;
        var latencyPartitions = 1;
        double[] lingers = [];
        var directFetch = false;
        var fromStorage = true;
        if (!CommandLine.Parse(args, Usage, common, new()
        {
            ["--records"] = line => records = line.Long(),
            ["--consumers"] = line => consumerCounts = line.Ints(),
            ["--partitions"] = line => partitions = line.Int(),
            ["--latency-rate"] = line => rate = line.Int(),
            ["--latency-samples"] = line => samples = line.Long(),
            ["--latency-warmup"] = line => warmUp = line.Long(),
            ["--latency-partitions"] = line => latencyPartitions = line.Int(),
            ["--linger-ms"] = line => lingers = line.Doubles(),
            ["--no-storage-reads"] = _ => fromStorage = false,
            ["--direct-fetch"] = _ => directFetch = true,
        }))
        {
            return 2;
        }
        var (storage, repetitions, output, commit) = (common.Storage, common.Repetitions, common.Output, common.Commit);

        static void Say(string line) => Console.Error.WriteLine($"[consume {DateTime.Now:HH:mm:ss}] {line}");
        var started = DateTime.Now;
        var interval = TimeSpan.FromSeconds(1.0 / rate);
        var defaultLinger = new ProducerOptions().Linger.TotalMilliseconds;
        var latencyVariants = lingers.Length == 0
            ? [(Name: $"latency, {rate}/s, 1 consumer", Producer: new ProducerOptions())]
            : lingers.Select(ms => (Name: $"latency, {rate}/s, 1 consumer, linger {ms:0.#} ms", Producer: new ProducerOptions { Linger = TimeSpan.FromMilliseconds(ms) })).ToList();
        var scenarios = latencyVariants.Select(v => new ConsumeScenario(v.Name, "latency", samples, [])).ToList();
        scenarios.AddRange(consumerCounts.Select(n => new ConsumeScenario($"consume pre-filled, group of {n}", "throughput", records, [])));

        var loadAtStart = Machine.LoadAverage();
        await using var hosts = await ComparisonHosts.StartAsync(storage, Say);
        await using var redis = new RedisScenarios(hosts.Redis);
        var systems = new List<(string Name, OrleansConsumeScenarios? Orleans)> { ("redis", null) };
        foreach (var (name, cluster) in hosts.Silos)
        {
            systems.Add((name, new OrleansConsumeScenarios(cluster, Say)));
            if (directFetch)
            {
                // The same silo, consumers fetching straight from the partitions (no consumer grain): the baseline of the hop.
                systems.Add(($"{name}, direct fetch", new OrleansConsumeScenarios(cluster, Say, throughConsumerGrain: false)));
            }
        }
        if (fromStorage && storage is ("azure" or "both"))
        {
            // Partitions keep the newest appends in memory (Log.TailCacheBytes, 4 MiB each), so the column above reads
            // just-written records from memory; this silo keeps only the last append, so reads go to Azurite.
            Say("azurite: a second silo without a tail cache, so consumers read from Azurite");
            var cold = await hosts.StartSiloOnAzuriteAsync(o => o.Log.TailCacheBytes = 0);
            systems.Add(("azurite, reads from storage", new OrleansConsumeScenarios(cold, Say)));
        }

        Say("warm-up (JIT, connections), not recorded");
        foreach (var (_, orleans) in systems)
        {
            if (orleans is null)
            {
                await redis.ConsumePrefilledAsync(Math.Min(records, 20_000), 2, 0);
                await redis.PacedLatencyAsync(0, 50, interval);
            }
            else
            {
                await orleans.ThroughputAsync(Math.Min(records, 20_000), 2, partitions, 0);
                await orleans.LatencyAsync(0, 50, interval, latencyPartitions, new ProducerOptions(), 0);
            }
        }

        // Repetition-major, systems alternating within each scenario, so drift (and the neighbours' builds) spread over all.
        for (var rep = 1; rep <= repetitions; rep++)
        {
            for (var v = 0; v < latencyVariants.Count; v++)
            {
                foreach (var (name, orleans) in systems)
                {
                    ConsumeRun run;
                    if (orleans is null)
                    {
                        var r = await redis.PacedLatencyAsync(warmUp, samples, interval);
                        var (ackP50, ackP99, _) = Pacer.Percentiles([.. r.AckMs]);
                        var (p50, p99, max) = Pacer.Percentiles([.. r.DeliveryMs]);
                        run = new ConsumeRun(rep, samples, r.Seconds, (warmUp + samples - r.Missing) / r.Seconds, null, null,
                            ackP50, ackP99, p50, p99, max, r.Duplicates, r.Missing, null, r.OwnCpu, r.RedisCpu);
                    }
                    else
                    {
                        run = await orleans.LatencyAsync(warmUp, samples, interval, latencyPartitions, latencyVariants[v].Producer, rep);
                    }
                    Record(scenarios[v], name, run, rep);
                }
            }
            for (var c = 0; c < consumerCounts.Length; c++)
            {
                foreach (var (name, orleans) in systems)
                {
                    ConsumeRun run;
                    if (orleans is null)
                    {
                        var r = await redis.ConsumePrefilledAsync(records, consumerCounts[c], rep);
                        run = new ConsumeRun(rep, records, r.Seconds, r.RecordsPerSecond, null, null, null, null, null, null, null,
                            r.Duplicates, r.Missing, null, r.ProcessCpuPercentOfMachine, r.RedisCpuPercentOfMachine);
                    }
                    else
                    {
                        run = await orleans.ThroughputAsync(records, consumerCounts[c], partitions, rep);
                    }
                    Record(scenarios[latencyVariants.Count + c], name, run, rep);
                }
            }
        }

        var parameters = new Dictionary<string, string>
        {
            ["repetitions"] = repetitions.ToString(CultureInfo.InvariantCulture),
            ["latency runs"] = $"{rate:N0} records/s, open loop (each send on time, not waiting for the previous acknowledgement); {warmUp:N0} warm-up then {samples:N0} measured records; {latencyPartitions} partition(s) / one stream; 1 consumer",
            ["latency clock"] = "a timestamp written into the value just before ProduceAsync / XADD, read when the consumer receives it (same process, same clock)",
            ["throughput runs"] = $"{records:N0} records pre-produced (untimed) into {partitions} partitions / one stream; the clock runs from Subscribe / the first XREADGROUP until the group has every record",
            ["producer"] = lingers.Length == 0
                ? $"default ProducerOptions (idempotent, linger {defaultLinger:0.#} ms)"
                : $"default ProducerOptions with linger {string.Join(" / ", lingers.Select(l => $"{l:0.#}"))} ms",
            ["consumer"] = "default ConsumerOptions (auto-commit every 5 s and on close) with AutoOffsetReset Earliest",
            ["value"] = $"{PeerValue.Bytes} B (sequence number, send timestamp, filler), no key",
            ["redis"] = $"redis-server {hosts.Redis.Version}, loopback, appendonly yes, appendfsync everysec; XREADGROUP COUNT {RedisScenarios.ReadCount} BLOCK 100 + XACK per read, one connection per consumer",
            ["orleansgroups"] = "in-process silo, client over loopback TCP; \"azurite, reads from storage\": a second silo on the same Azurite with Log.TailCacheBytes 0, so fetches read the blobs instead of the partitions' in-memory tail",
            ["commit"] = commit ?? "unknown",
            ["load average at start, end"] = $"{loadAtStart}; {Machine.LoadAverage()}",
        };
        var columns = systems.Where(s => s.Orleans is not null).Select(s => s.Name).ToList();
        var json = new { date = started.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), machine, parameters, scenarios };
        await ResultFiles.WriteAsync(output, "consume", started, json, ToMarkdown(started, machine, parameters, scenarios, columns), Say);
        return 0;

        static void Record(ConsumeScenario scenario, string system, ConsumeRun run, int rep)
        {
            scenario.Runs.For(system).Add(run);
            var detail = run.P50Ms is null
                ? $"{run.RecordsPerSecond:N0} records/s"
                : $"ack p50 {run.AckP50Ms:N2} / p99 {run.AckP99Ms:N2} ms, consumed p50 {run.P50Ms:N2} / p99 {run.P99Ms:N2} / max {run.MaxMs:N2} ms";
            var check = run.Duplicates + run.Missing + (run.LagAfterClose ?? 0) > 0
                ? $", DUPLICATES {run.Duplicates:N0} MISSING {run.Missing:N0} LAG {run.LagAfterClose:N0}"
                : "";
            Say($"{system} {scenario.Name}, rep {rep}: {detail}{check} (CPU {run.ProcessCpuPercentOfMachine:N0}% bench process, {run.RedisCpuPercentOfMachine:N0}% redis)");
        }
    }

    private static string ToMarkdown(DateTime started, Dictionary<string, string> machine, Dictionary<string, string> parameters, List<ConsumeScenario> scenarios, List<string> columns)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = Markdown.Start(string.Create(inv, $"Consume benchmark, run of {started:yyyy-MM-dd HH:mm}"), machine, parameters);
        Markdown.Section(md, "Median of the repetitions, min–max in brackets. Ratio: OrleansGroups ÷ Redis Streams from the medians (records/s: higher is better for OrleansGroups; ms: lower is better).");
        ComparisonTable.Append(md, "| scenario | metric |", "|---|---|", columns, scenarios.SelectMany(s =>
        {
            var metrics = s.Kind == "latency"
                ? new (string Name, Func<ConsumeRun, double?> Get, bool Ms)[]
                {
                    ("send → acknowledged p50 ms", r => r.AckP50Ms, true), ("send → acknowledged p99 ms", r => r.AckP99Ms, true),
                    ("send → consumed p50 ms", r => r.P50Ms, true), ("send → consumed p99 ms", r => r.P99Ms, true), ("send → consumed max ms", r => r.MaxMs, true),
                }
                : [("records/s (from Subscribe)", r => r.RecordsPerSecond, false), ("records/s (from the first record)", r => r.RecordsPerSecondAfterFirst, false),
                   ("first record after s", r => r.FirstRecordSeconds, true)];
            // A metric a system does not measure (Redis has no "first record") has no values and shows as "–".
            return metrics.Select(m => new ComparisonTable.Row([s.Name, m.Name], system => s.Runs.For(system).Select(m.Get).OfType<double>(), m.Ms));
        }));
        Markdown.Section(md, "Every record once (by sequence number; OrleansGroups also by (partition, offset)), and for OrleansGroups the group's lag from its committed offsets after the consumers closed (auto-commit):");
        foreach (var s in scenarios)
        {
            var parts = s.Runs.Select(kv => $"{kv.Key}: {kv.Value.Sum(r => r.Duplicates):N0} duplicates, {kv.Value.Sum(r => r.Missing):N0} missing" +
                (kv.Value.Any(r => r.LagAfterClose is not null) ? $", lag after close {kv.Value.Sum(r => r.LagAfterClose ?? 0):N0}" : "") + $" over {kv.Value.Count} runs");
            md.AppendLine(inv, $"- {s.Name}: {string.Join("; ", parts)}");
        }
        Markdown.Section(md, "Share of the machine (medians) used by the benchmark process (silo, client and driver, or the Redis client and driver) and by redis-server; Azurite's node process is not counted:");
        Markdown.Table(md, "| scenario | system | seconds | CPU % bench process | CPU % redis-server |", "|---|---|---:|---:|---:|",
            scenarios.SelectMany(s => s.Runs.Select(kv => string.Create(inv,
                $"| {s.Name} | {kv.Key} | {Stat.Of(kv.Value.Select(r => r.Seconds)).Median:N2} | {Stat.Of(kv.Value.Select(r => r.ProcessCpuPercentOfMachine)).Median:N0} | {Stat.Of(kv.Value.Select(r => r.RedisCpuPercentOfMachine)).Median:N0} |"))));
        return md.ToString();
    }
}

/// <summary>
/// The OrleansGroups side, through the public client API only: <see cref="OrleansGroupsClient.CreateProducer"/>,
/// <see cref="OrleansGroupsClient.CreateConsumer"/>, Subscribe, ConsumeAsync, CloseAsync and the admin client.
/// </summary>
internal sealed class OrleansConsumeScenarios(BenchCluster cluster, Action<string> say, bool throughConsumerGrain = true)
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(100);

    private OrleansGroupsClient Groups => cluster.Client.Services.GetRequiredService<OrleansGroupsClient>();

    private async Task<string> NewTopicAsync(string what, int partitions)
    {
        var topic = $"consume-{cluster.Storage.ToString().ToLowerInvariant()}-{what}-{Guid.NewGuid().ToString("N")[..8]}";
        await cluster.Admin.CreateTopicAsync(topic, partitions);
        return topic;
    }

    private ConsumerOptions Options(string group) =>
        new(group) { AutoOffsetReset = AutoOffsetReset.Earliest, FetchThroughConsumerGrain = throughConsumerGrain };

    /// <summary>
    /// One consumer; a producer sends a record every <paramref name="interval"/> (open loop), each stamped just before
    /// <c>ProduceAsync</c>. Before the clock, probe records (sequence -1) are sent until the consumer receives one, so it
    /// owns the partitions and is fetching; then <paramref name="warmUp"/> records are sent and not measured.
    /// </summary>
    public async Task<ConsumeRun> LatencyAsync(long warmUp, long samples, TimeSpan interval, int partitions, ProducerOptions producerOptions, int repetition)
    {
        var topic = await NewTopicAsync("latency", partitions);
        var producer = Groups.CreateProducer(producerOptions);
        var consumer = Groups.CreateConsumer(Options($"latency-{Guid.NewGuid().ToString("N")[..8]}"));
        var records = warmUp + samples;
        var seen = new SeenSet(records);
        var ack = new double[samples];
        var delivery = new double[samples];
        var probed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        consumer.Subscribe(topic);
        var loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var result = await consumer.ConsumeAsync(PollTimeout);
                if (result?.Value is not { } value)
                {
                    continue;
                }
                var age = PeerValue.AgeMs(value);
                var sequence = PeerValue.Sequence(value);
                if (sequence < 0)
                {
                    probed.TrySetResult();
                    continue;
                }
                if (sequence >= warmUp && sequence < records)
                {
                    delivery[sequence - warmUp] = age;
                }
                if (seen.Mark(sequence) == records)
                {
                    done.TrySetResult();
                }
            }
        });
        var probeDeadline = Stopwatch.StartNew();
        while (!probed.Task.IsCompleted)
        {
            if (probeDeadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException("the consumer received no probe record within 60 s");
            }
            await Task.WhenAll(Enumerable.Range(0, partitions).Select(p => producer.ProduceAsync(new TopicPartition(topic, p), new Message(null, PeerValue.Make(-1)))));
            await Task.WhenAny(probed.Task, Task.Delay(100));
        }

        var (seconds, own, _) = await LatencyClock.RunAsync(
            () => Pacer.SendOpenLoopAsync(records, interval, warmUp, ack, value => producer.ProduceAsync(topic, new Message(null, value))), done.Task, stop, loop);
        await consumer.CloseAsync();
        await producer.DisposeAsync();
        if (seen.Missing > 0)
        {
            say($"  {cluster.Storage} latency: {seen.Missing:N0} records missing after {seconds:N1} s");
        }
        var (ackP50, ackP99, _) = Pacer.Percentiles([.. ack]);
        var (p50, p99, max) = Pacer.Percentiles([.. delivery]);
        return new ConsumeRun(repetition, samples, seconds, seen.Total / seconds, null, null,
            ackP50, ackP99, p50, p99, max, seen.Duplicates, seen.Missing, null, own, 0);
    }

    /// <summary>
    /// Pre-produces <paramref name="records"/> into a fresh topic (untimed), then a group of <paramref name="consumers"/>
    /// (default options: auto-commit) subscribes; the clock runs from Subscribe until the group has every record. After
    /// the consumers close, the group's lag (end offsets minus committed offsets) should be 0.
    /// </summary>
    public async Task<ConsumeRun> ThroughputAsync(long records, int consumers, int partitions, int repetition)
    {
        var topic = await NewTopicAsync("group", partitions);
        var producer = Groups.CreateProducer();
        await OrleansScenarios.ProduceBatchesAsync(producer, topic, records);
        await producer.DisposeAsync();

        var group = $"group-{Guid.NewGuid().ToString("N")[..8]}";
        var members = Enumerable.Range(0, consumers).Select(_ => Groups.CreateConsumer(Options(group))).ToList();
        var run = await GroupConsumption.RunAsync(members, records, partitions, subscribeTo: topic);
        var lag = (await cluster.Admin.DescribeGroupAsync(group)).Partitions.Sum(p => p.Lag ?? p.LogEndOffset);
        if (run.Seen.Missing > 0)
        {
            say($"  {cluster.Storage} group of {consumers}: {run.Seen.Missing:N0} records missing after {run.Seconds:N1} s");
        }
        var first = run.FirstRecordSeconds;
        return new ConsumeRun(repetition, records, run.Seconds, run.Seen.Total / run.Seconds, run.Seen.Total / Math.Max(1e-6, run.Seconds - first), first,
            null, null, null, null, null, run.Duplicates, run.Seen.Missing, lag, run.ProcessCpuPercentOfMachine, 0);
    }
}
