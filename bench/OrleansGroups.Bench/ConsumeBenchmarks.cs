using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OrleansGroups.Bench.Peer;
using OrleansGroups.Client;
using OrleansGroups.Core.Topics;
using OrleansGroups.Hosting;

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
internal sealed record ConsumeScenario(string Name, string Kind, long RecordsPerRun, Dictionary<string, List<ConsumeRun>> Runs)
{
    public List<ConsumeRun> For(string system)
    {
        if (!Runs.TryGetValue(system, out var runs))
        {
            Runs[system] = runs = [];
        }
        return runs;
    }
}

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
        var storage = "both";
        var repetitions = 3;
        long records = 200_000, samples = 2_000, warmUp = 200;
        int[] consumerCounts = [1, 2, 4];
        var partitions = 8;
        var rate = 200;
        var latencyPartitions = 1;
        double[] lingers = [];
        var directFetch = false;
        var fromStorage = true;
        var output = defaultOutput;
        string? commit = null;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--storage": storage = Next(); break;
                case "--repetitions": repetitions = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--records": records = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--consumers": consumerCounts = [.. Next().Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))]; break;
                case "--partitions": partitions = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--latency-rate": rate = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--latency-samples": samples = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--latency-warmup": warmUp = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--latency-partitions": latencyPartitions = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--linger-ms": lingers = [.. Next().Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture))]; break;
                case "--no-storage-reads": fromStorage = false; break;
                case "--direct-fetch": directFetch = true; break;
                case "--out": output = Path.GetFullPath(Next()); break;
                case "--commit": commit = Next(); break;
                default:
                    Console.Error.WriteLine(args[i] is "--help" or "-h" ? Usage : $"unknown option '{args[i]}'\n{Usage}");
                    return 2;
            }
        }
        if (storage is not ("memory" or "azure" or "both"))
        {
            Console.Error.WriteLine($"--storage must be memory, azure or both\n{Usage}");
            return 2;
        }

        static void Say(string line) => Console.Error.WriteLine($"[consume {DateTime.Now:HH:mm:ss}] {line}");
        var started = DateTime.Now;
        var interval = TimeSpan.FromSeconds(1.0 / rate);
        var defaultLinger = new ProducerOptions().Linger.TotalMilliseconds;
        var latencyVariants = lingers.Length == 0
            ? [(Name: $"latency, {rate}/s, 1 consumer", Producer: new ProducerOptions())]
            : lingers.Select(ms => (Name: $"latency, {rate}/s, 1 consumer, linger {ms:0.#} ms", Producer: new ProducerOptions { Linger = TimeSpan.FromMilliseconds(ms) })).ToList();
        var scenarios = latencyVariants.Select(v => new ConsumeScenario(v.Name, "latency", samples, [])).ToList();
        scenarios.AddRange(consumerCounts.Select(n => new ConsumeScenario($"consume pre-filled, group of {n}", "throughput", records, [])));

        Say("starting redis-server (AOF, appendfsync everysec) on a free loopback port");
        await using var redisServer = await LocalRedis.StartAsync();
        await using var redis = new RedisScenarios(redisServer);
        Say($"redis-server {redisServer.Version} on port {redisServer.Port}");

        var systems = new List<(string Name, OrleansConsumeScenarios? Orleans)> { ("redis", null) };
        var disposables = new List<IAsyncDisposable>();
        var loadAtStart = LoadAverage();
        try
        {
            if (storage is "memory" or "both")
            {
                Say("memory: starting an in-process silo and a client");
                var cluster = await BenchCluster.StartAsync(StorageKind.Memory, null);
                disposables.Add(cluster);
                systems.Add(("memory", new OrleansConsumeScenarios(cluster, Say)));
                if (directFetch)
                {
                    // The same silo, consumers fetching straight from the partitions (no consumer grain): the baseline of the hop.
                    systems.Add(("memory, direct fetch", new OrleansConsumeScenarios(cluster, Say, throughConsumerGrain: false)));
                }
            }
            if (storage is "azure" or "both")
            {
                var scripts = LocalAzurite.FindRepositoryScriptsDirectory()
                    ?? throw new InvalidOperationException("scripts/azurite not found: run from the repository.");
                Say("azurite: starting the emulator (persisting to a temporary directory) and an in-process silo on it");
                var azurite = await LocalAzurite.StartAsync(scripts, inMemory: false);
                disposables.Add(azurite);
                var cluster = await BenchCluster.StartAsync(StorageKind.Azure, azurite.ConnectionString);
                disposables.Insert(0, cluster);
                systems.Add(("azurite", new OrleansConsumeScenarios(cluster, Say)));
                if (directFetch)
                {
                    systems.Add(("azurite, direct fetch", new OrleansConsumeScenarios(cluster, Say, throughConsumerGrain: false)));
                }
                if (fromStorage)
                {
                    // Partitions keep the newest appends in memory (Log.TailCacheBytes, 4 MiB each), so the column above reads
                    // just-written records from memory; this silo keeps only the last append, so reads go to Azurite.
                    Say("azurite: a second silo without a tail cache, so consumers read from Azurite");
                    var cold = await BenchCluster.StartAsync(StorageKind.Azure, azurite.ConnectionString, o => o.Log.TailCacheBytes = 0);
                    disposables.Insert(0, cold);
                    systems.Add(("azurite, reads from storage", new OrleansConsumeScenarios(cold, Say)));
                }
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
        }
        finally
        {
            foreach (var d in disposables)
            {
                await d.DisposeAsync();
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
            ["redis"] = $"redis-server {redisServer.Version}, loopback, appendonly yes, appendfsync everysec; XREADGROUP COUNT {RedisScenarios.ReadCount} BLOCK 100 + XACK per read, one connection per consumer",
            ["orleansgroups"] = "in-process silo, client over loopback TCP; \"azurite, reads from storage\": a second silo on the same Azurite with Log.TailCacheBytes 0, so fetches read the blobs instead of the partitions' in-memory tail",
            ["commit"] = commit ?? "unknown",
            ["load average at start, end"] = $"{loadAtStart}; {LoadAverage()}",
        };
        var columns = systems.Where(s => s.Orleans is not null).Select(s => s.Name).ToList();
        var markdown = Markdown(started, machine, parameters, scenarios, columns);
        Directory.CreateDirectory(output);
        var stem = Path.Combine(output, $"consume-{started:yyyy-MM-dd}");
        await File.WriteAllTextAsync(stem + ".json", JsonSerializer.Serialize(
            new { date = started.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), machine, parameters, scenarios },
            new JsonSerializerOptions { WriteIndented = true }));
        await File.WriteAllTextAsync(stem + ".md", markdown);
        Console.WriteLine(markdown);
        Say($"wrote {stem}.json and {stem}.md");
        return 0;

        static void Record(ConsumeScenario scenario, string system, ConsumeRun run, int rep)
        {
            scenario.For(system).Add(run);
            var detail = run.P50Ms is null
                ? $"{run.RecordsPerSecond:N0} records/s"
                : $"ack p50 {run.AckP50Ms:N2} / p99 {run.AckP99Ms:N2} ms, consumed p50 {run.P50Ms:N2} / p99 {run.P99Ms:N2} / max {run.MaxMs:N2} ms";
            var check = run.Duplicates + run.Missing + (run.LagAfterClose ?? 0) > 0
                ? $", DUPLICATES {run.Duplicates:N0} MISSING {run.Missing:N0} LAG {run.LagAfterClose:N0}"
                : "";
            Say($"{system} {scenario.Name}, rep {rep}: {detail}{check} (CPU {run.ProcessCpuPercentOfMachine:N0}% bench process, {run.RedisCpuPercentOfMachine:N0}% redis)");
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string Markdown(DateTime started, Dictionary<string, string> machine, Dictionary<string, string> parameters, List<ConsumeScenario> scenarios, List<string> columns)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"### Consume benchmark, run of {started:yyyy-MM-dd HH:mm}");
        md.AppendLine();
        md.AppendLine(inv, $"Machine: {string.Join("; ", machine.Select(kv => $"{kv.Key} {kv.Value}"))}.");
        md.AppendLine();
        md.AppendLine(inv, $"Parameters: {string.Join("; ", parameters.Select(kv => $"{kv.Key} {kv.Value}"))}.");
        md.AppendLine();
        md.AppendLine("Median of the repetitions, min–max in brackets. Ratio: OrleansGroups ÷ Redis Streams from the medians (records/s: higher is better for OrleansGroups; ms: lower is better).");
        md.AppendLine();
        var header = new StringBuilder("| scenario | metric | Redis Streams |");
        var rule = new StringBuilder("|---|---|---:|");
        foreach (var c in columns)
        {
            header.Append(inv, $" OrleansGroups ({c}) | ratio ({c}) |");
            rule.Append("---:|---:|");
        }
        md.AppendLine(header.ToString());
        md.AppendLine(rule.ToString());
        foreach (var s in scenarios)
        {
            var metrics = s.Kind == "latency"
                ? new (string Name, Func<ConsumeRun, double?> Get, bool Ms)[]
                {
                    ("send → acknowledged p50 ms", r => r.AckP50Ms, true), ("send → acknowledged p99 ms", r => r.AckP99Ms, true),
                    ("send → consumed p50 ms", r => r.P50Ms, true), ("send → consumed p99 ms", r => r.P99Ms, true), ("send → consumed max ms", r => r.MaxMs, true),
                }
                : [("records/s (from Subscribe)", r => r.RecordsPerSecond, false), ("records/s (from the first record)", r => r.RecordsPerSecondAfterFirst, false),
                   ("first record after s", r => r.FirstRecordSeconds, true)];
            foreach (var (name, get, ms) in metrics)
            {
                var redisValues = s.For("redis").Select(get).Where(v => v is not null).Select(v => v!.Value).ToList();
                var redis = redisValues.Count > 0 ? Stat.Of(redisValues) : null;
                var line = new StringBuilder(string.Create(inv, $"| {s.Name} | {name} | {(redis is null ? "–" : Format(redis, ms))} |"));
                foreach (var c in columns)
                {
                    var values = s.For(c).Select(get).Where(v => v is not null).Select(v => v!.Value).ToList();
                    if (values.Count == 0)
                    {
                        line.Append(" – | – |");
                        continue;
                    }
                    var og = Stat.Of(values);
                    line.Append(inv, $" {Format(og, ms)} | {(redis is null || redis.Median == 0 ? "–" : string.Create(inv, $"{og.Median / redis.Median:N2}x"))} |");
                }
                md.AppendLine(line.ToString());
            }
        }
        md.AppendLine();
        md.AppendLine("Every record once (by sequence number; OrleansGroups also by (partition, offset)), and for OrleansGroups the group's lag from its committed offsets after the consumers closed (auto-commit):");
        md.AppendLine();
        foreach (var s in scenarios)
        {
            var parts = s.Runs.Select(kv => $"{kv.Key}: {kv.Value.Sum(r => r.Duplicates):N0} duplicates, {kv.Value.Sum(r => r.Missing):N0} missing" +
                (kv.Value.Any(r => r.LagAfterClose is not null) ? $", lag after close {kv.Value.Sum(r => r.LagAfterClose ?? 0):N0}" : "") + $" over {kv.Value.Count} runs");
            md.AppendLine(inv, $"- {s.Name}: {string.Join("; ", parts)}");
        }
        md.AppendLine();
        md.AppendLine("Share of the machine (medians) used by the benchmark process (silo, client and driver, or the Redis client and driver) and by redis-server; Azurite's node process is not counted:");
        md.AppendLine();
        md.AppendLine("| scenario | system | seconds | CPU % bench process | CPU % redis-server |");
        md.AppendLine("|---|---|---:|---:|---:|");
        foreach (var s in scenarios)
        {
            foreach (var (system, runs) in s.Runs)
            {
                md.AppendLine(inv, $"| {s.Name} | {system} | {Stat.Of(runs.Select(r => r.Seconds)).Median:N2} | {Stat.Of(runs.Select(r => r.ProcessCpuPercentOfMachine)).Median:N0} | {Stat.Of(runs.Select(r => r.RedisCpuPercentOfMachine)).Median:N0} |");
            }
        }
        return md.ToString();

        static string Format(Stat s, bool ms) => ms
            ? string.Create(CultureInfo.InvariantCulture, $"{s.Median:N2} ({s.Min:N2}–{s.Max:N2})")
            : string.Create(CultureInfo.InvariantCulture, $"{s.Median:N0} ({s.Min:N0}–{s.Max:N0})");
    }
}

/// <summary>
/// The OrleansGroups side, through the public client API only: <see cref="OrleansGroupsClient.CreateProducer"/>,
/// <see cref="OrleansGroupsClient.CreateConsumer"/>, Subscribe, ConsumeAsync, CloseAsync and the admin client.
/// </summary>
internal sealed class OrleansConsumeScenarios(BenchCluster cluster, Action<string> say, bool throughConsumerGrain = true)
{
    private const int PrefillBatch = 1_000;
    private const int PrefillWindowBatches = 20;
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

        var cpu = new CpuMeter();
        var watch = Stopwatch.StartNew();
        var start = Stopwatch.GetTimestamp();
        var sends = new List<Task>((int)records);
        for (var i = 0L; i < records; i++)
        {
            await Pacer.WaitUntilAsync(start, interval * i);
            var value = PeerValue.Make(i);
            PeerValue.Stamp(value);
            var sent = Stopwatch.GetTimestamp();
            var index = i - warmUp;
            sends.Add(producer.ProduceAsync(topic, new Message(null, value)).ContinueWith(t =>
            {
                if (index >= 0 && t.IsCompletedSuccessfully)
                {
                    ack[index] = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                }
            }, TaskContinuationOptions.ExecuteSynchronously));
        }
        await Task.WhenAll(sends);
        await Task.WhenAny(done.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        watch.Stop();
        var (own, _) = cpu.Percent();
        await stop.CancelAsync();
        await loop;
        await consumer.CloseAsync();
        await producer.DisposeAsync();
        if (seen.Missing > 0)
        {
            say($"  {cluster.Storage} latency: {seen.Missing:N0} records missing after {watch.Elapsed.TotalSeconds:N1} s");
        }
        var (ackP50, ackP99, _) = Pacer.Percentiles([.. ack]);
        var (p50, p99, max) = Pacer.Percentiles([.. delivery]);
        return new ConsumeRun(repetition, samples, watch.Elapsed.TotalSeconds, seen.Total / watch.Elapsed.TotalSeconds, null, null,
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
        var outstanding = new Queue<Task>();
        for (var sent = 0L; sent < records; sent += PrefillBatch)
        {
            if (outstanding.Count >= PrefillWindowBatches)
            {
                await outstanding.Dequeue();
            }
            var size = (int)Math.Min(PrefillBatch, records - sent);
            var batch = new List<Message>(size);
            for (var i = 0; i < size; i++)
            {
                batch.Add(new Message(null, PeerValue.Make(sent + i)));
            }
            outstanding.Enqueue(producer.ProduceBatchAsync(topic, batch));
        }
        await Task.WhenAll(outstanding);
        await producer.DisposeAsync();

        var group = $"group-{Guid.NewGuid().ToString("N")[..8]}";
        var members = Enumerable.Range(0, consumers).Select(_ => Groups.CreateConsumer(Options(group))).ToList();
        var seen = new SeenSet(records);
        var offsets = Enumerable.Range(0, partitions).Select(_ => new int[records + 1]).ToArray();
        long offsetDuplicates = 0;
        long firstRecordTicks = -1;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var cpu = new CpuMeter();
        var watch = Stopwatch.StartNew();
        members.ForEach(m => m.Subscribe(topic));
        var loops = members.Select(m => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var result = await m.ConsumeAsync(PollTimeout);
                if (result?.Value is not { } value)
                {
                    continue;
                }
                Interlocked.CompareExchange(ref firstRecordTicks, watch.Elapsed.Ticks, -1);
                if (result.Offset < offsets[result.Partition].Length && Interlocked.Increment(ref offsets[result.Partition][result.Offset]) > 1)
                {
                    Interlocked.Increment(ref offsetDuplicates);
                }
                if (seen.Mark(PeerValue.Sequence(value)) == records)
                {
                    done.TrySetResult();
                }
            }
        })).ToList();
        await Task.WhenAny(done.Task, Task.Delay(TimeSpan.FromSeconds(120)));
        watch.Stop();
        var (own, _) = cpu.Percent();
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        await Task.WhenAll(members.Select(m => m.CloseAsync()));
        var lag = (await cluster.Admin.DescribeGroupAsync(group)).Partitions.Sum(p => p.Lag ?? p.LogEndOffset);
        if (seen.Missing > 0)
        {
            say($"  {cluster.Storage} group of {consumers}: {seen.Missing:N0} records missing after {watch.Elapsed.TotalSeconds:N1} s");
        }
        var first = TimeSpan.FromTicks(Math.Max(0, Interlocked.Read(ref firstRecordTicks))).TotalSeconds;
        var seconds = watch.Elapsed.TotalSeconds;
        return new ConsumeRun(repetition, records, seconds, seen.Total / seconds, seen.Total / Math.Max(1e-6, seconds - first), first,
            null, null, null, null, null, seen.Duplicates + Interlocked.Read(ref offsetDuplicates), seen.Missing, lag, own, 0);
    }
}
