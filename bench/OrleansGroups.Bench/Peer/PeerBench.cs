using System.Globalization;
using System.Text;
using System.Text.Json;
using OrleansGroups.Hosting;

namespace OrleansGroups.Bench.Peer;

/// <summary>
/// <c>OrleansGroups.Bench peer</c>: OrleansGroups and Redis Streams consumer groups side by side, same machine,
/// same run, same records (100 B values). Writes <c>peer-&lt;yyyy-MM-dd&gt;.json</c> and <c>.md</c>.
/// </summary>
internal static class PeerBench
{
    private const string Usage = """
        Usage: OrleansGroups.Bench peer [options]
          --storage memory|azure|both   OrleansGroups storage(s) to compare with Redis (default memory)
          --repetitions N               repetitions of each scenario (default 3)
          --records N                   records per throughput run (default 200000)
          --one-at-a-time-records N     records per one-at-a-time produce run (default 10000)
          --latency-records N           records per end-to-end latency run (default 1000)
          --latency-rate N              records per second in the latency runs (default 500)
          --out DIR                     where peer-<date>.json/.md go (default bench/results)
          --commit SHA                  recorded in the results
        """;

    public static async Task<int> RunAsync(string[] args, Dictionary<string, string> machine, string defaultOutput)
    {
        var storage = "memory";
        var repetitions = 3;
        long records = 200_000, oneAtATime = 10_000, latencyRecords = 1_000;
        var latencyRate = 500;
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
                case "--one-at-a-time-records": oneAtATime = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--latency-records": latencyRecords = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--latency-rate": latencyRate = int.Parse(Next(), CultureInfo.InvariantCulture); break;
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

        static void Say(string line) => Console.Error.WriteLine($"[peer {DateTime.Now:HH:mm:ss}] {line}");
        var interval = TimeSpan.FromSeconds(1.0 / latencyRate);
        var started = DateTime.Now;
        var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

        var scenarios = new List<PeerScenario>
        {
            new($"produce, pipelined (batches of {RedisScenarios.PipelineBatch:N0})", "records/s", records, []),
            new("produce, one at a time (each awaited)", "records/s", oneAtATime, []),
        };
        var consumerCounts = new[] { 1, 2, 4 };
        scenarios.AddRange(consumerCounts.Select(n => new PeerScenario($"consume pre-filled, group of {n}", "records/s", records, [])));
        scenarios.AddRange(consumerCounts.Select(n => new PeerScenario($"end to end, group of {n}", "records/s", records, [])));
        var latencyScenario = new PeerScenario($"end-to-end latency, {latencyRate}/s, 1 consumer", "ms", latencyRecords, []);
        scenarios.Add(latencyScenario);

        Say($"starting redis-server (AOF, appendfsync everysec) on a free loopback port");
        await using var redisServer = await LocalRedis.StartAsync();
        await using var redis = new RedisScenarios(redisServer);
        Say($"redis-server {redisServer.Version} on port {redisServer.Port}");

        var systems = new List<(string Name, OrleansScenarios? Orleans)> { ("redis", null) };
        var disposables = new List<IAsyncDisposable>();
        try
        {
            if (storage is "memory" or "both")
            {
                Say("memory: starting an in-process silo and a client");
                var cluster = await BenchCluster.StartAsync(StorageKind.Memory, null);
                disposables.Add(cluster);
                systems.Add(("memory", new OrleansScenarios(cluster, Say)));
            }
            if (storage is "azure" or "both")
            {
                var scripts = LocalAzurite.FindRepositoryScriptsDirectory()
                    ?? throw new InvalidOperationException("scripts/azurite not found: run from the repository.");
                Say("azurite: starting the emulator and an in-process silo on it");
                var azurite = await LocalAzurite.StartAsync(scripts, inMemory: false);
                disposables.Add(azurite);
                var cluster = await BenchCluster.StartAsync(StorageKind.Azure, azurite.ConnectionString);
                disposables.Insert(0, cluster);
                systems.Add(("azurite", new OrleansScenarios(cluster, Say)));
            }

            Say("warm-up (JIT, connections), not recorded");
            foreach (var (name, orleans) in systems)
            {
                var warm = Math.Min(records, 20_000);
                if (orleans is null)
                {
                    await redis.ProducePipelinedAsync(warm, 0);
                    await redis.EndToEndAsync(warm, 2, 0);
                    await redis.LatencyAsync(50, interval, 0);
                }
                else
                {
                    await orleans.ProducePipelinedAsync(warm, 0);
                    await orleans.EndToEndAsync(warm, 2, 0);
                    await orleans.LatencyAsync(50, interval, 0);
                }
            }

            // Repetition-major, systems alternating within each scenario, so drift spreads over both.
            for (var rep = 1; rep <= repetitions; rep++)
            {
                foreach (var (name, orleans) in systems)
                {
                    async Task Record(PeerScenario scenario, Func<Task<PeerRun>> redisRun, Func<OrleansScenarios, Task<PeerRun>> orleansRun)
                    {
                        var run = orleans is null ? await redisRun() : await orleansRun(orleans);
                        scenario.For(name).Add(run);
                        var latency = run.P99Ms is null ? "" : $", p50 {run.P50Ms:N2} ms, p99 {run.P99Ms:N2} ms, max {run.MaxMs:N2} ms";
                        var check = run.Duplicates + run.Missing > 0 ? $", DUPLICATES {run.Duplicates:N0} MISSING {run.Missing:N0}" : "";
                        Say($"{name} {scenario.Name}, rep {rep}: {run.RecordsPerSecond:N0} records/s{latency}{check} " +
                            $"(CPU {run.ProcessCpuPercentOfMachine:N0}% bench process, {run.RedisCpuPercentOfMachine:N0}% redis; produce {run.ProduceSeconds:N2} s of {run.Seconds:N2} s)");
                    }

                    await Record(scenarios[0], () => redis.ProducePipelinedAsync(records, rep), o => o.ProducePipelinedAsync(records, rep));
                    await Record(scenarios[1], () => redis.ProduceOneAtATimeAsync(oneAtATime, rep), o => o.ProduceOneAtATimeAsync(oneAtATime, rep));
                    for (var c = 0; c < consumerCounts.Length; c++)
                    {
                        var n = consumerCounts[c];
                        await Record(scenarios[2 + c], () => redis.ConsumePrefilledAsync(records, n, rep), o => o.ConsumePrefilledAsync(records, n, rep));
                        await Record(scenarios[5 + c], () => redis.EndToEndAsync(records, n, rep), o => o.EndToEndAsync(records, n, rep));
                    }
                    await Record(latencyScenario, () => redis.LatencyAsync(latencyRecords, interval, rep), o => o.LatencyAsync(latencyRecords, interval, rep));
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
            ["records per throughput run"] = records.ToString("N0", CultureInfo.InvariantCulture),
            ["records per one-at-a-time run"] = oneAtATime.ToString("N0", CultureInfo.InvariantCulture),
            ["latency run"] = $"{latencyRecords:N0} records at {latencyRate:N0}/s",
            ["value"] = $"{PeerValue.Bytes} B (sequence number, send timestamp, filler), no key",
            ["redis"] = $"redis-server {redisServer.Version}, loopback, appendonly yes, appendfsync everysec, no RDB; StackExchange.Redis client",
            ["orleansgroups"] = $"in-process silo, client over loopback TCP, {OrleansScenarios.Partitions} partitions (1 for one-at-a-time)",
            ["commit"] = commit ?? "unknown",
            ["load average at start"] = load,
        };
        var columns = systems.Where(s => s.Orleans is not null).Select(s => s.Name).ToList();
        var markdown = Markdown(started, machine, parameters, scenarios, columns);
        Directory.CreateDirectory(output);
        var stem = Path.Combine(output, $"peer-{started:yyyy-MM-dd}");
        await File.WriteAllTextAsync(stem + ".json", JsonSerializer.Serialize(
            new { date = started.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), machine, parameters, scenarios },
            new JsonSerializerOptions { WriteIndented = true }));
        await File.WriteAllTextAsync(stem + ".md", markdown);
        Console.WriteLine(markdown);
        Say($"wrote {stem}.json and {stem}.md");
        return 0;
    }

    private static string Markdown(DateTime started, Dictionary<string, string> machine, Dictionary<string, string> parameters, List<PeerScenario> scenarios, List<string> columns)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(inv, $"### Peer comparison, run of {started:yyyy-MM-dd HH:mm}");
        md.AppendLine();
        md.AppendLine(inv, $"Machine: {string.Join("; ", machine.Select(kv => $"{kv.Key} {kv.Value}"))}.");
        md.AppendLine();
        md.AppendLine(inv, $"Parameters: {string.Join("; ", parameters.Select(kv => $"{kv.Key} {kv.Value}"))}.");
        md.AppendLine();
        md.AppendLine("Median of the repetitions, min–max in brackets. Ratio: OrleansGroups ÷ Redis from the medians (records/s: higher is better for OrleansGroups; ms: lower is better).");
        md.AppendLine();
        var header = new StringBuilder("| scenario | records/run | metric | Redis Streams |");
        var rule = new StringBuilder("|---|---:|---|---:|");
        foreach (var c in columns)
        {
            header.Append(inv, $" OrleansGroups ({c}) | ratio ({c}) |");
            rule.Append("---:|---:|");
        }
        md.AppendLine(header.ToString());
        md.AppendLine(rule.ToString());
        foreach (var s in scenarios)
        {
            var metrics = s.Metric == "ms"
                ? new (string Name, Func<PeerRun, double> Get, bool Lower)[] { ("p50 ms", r => r.P50Ms ?? 0, true), ("p99 ms", r => r.P99Ms ?? 0, true), ("max ms", r => r.MaxMs ?? 0, true) }
                : s.Name.Contains("one at a time", StringComparison.Ordinal)
                    ? [("records/s", r => r.RecordsPerSecond, false), ("p50 ms", r => r.P50Ms ?? 0, true), ("p99 ms", r => r.P99Ms ?? 0, true)]
                    : [("records/s", r => r.RecordsPerSecond, false)];
            foreach (var (name, get, lower) in metrics)
            {
                var redis = Stat.Of(s.For("redis").Select(get));
                var line = new StringBuilder(string.Create(inv, $"| {s.Name} | {s.RecordsPerRun:N0} | {name} | {Format(redis, lower)} |"));
                foreach (var c in columns)
                {
                    var og = Stat.Of(s.For(c).Select(get));
                    var ratio = og.Median / redis.Median;
                    line.Append(inv, $" {Format(og, lower)} | {ratio:N2}x |");
                }
                md.AppendLine(line.ToString());
            }
        }
        md.AppendLine();
        md.AppendLine("Exactly once (every record once across the group; OrleansGroups also by (partition, offset)):");
        md.AppendLine();
        foreach (var s in scenarios.Where(s => s.Name.StartsWith("end", StringComparison.Ordinal) || s.Name.StartsWith("consume", StringComparison.Ordinal)))
        {
            var parts = s.Runs.Select(kv => $"{kv.Key}: {kv.Value.Sum(r => r.Duplicates):N0} duplicates, {kv.Value.Sum(r => r.Missing):N0} missing over {kv.Value.Count} runs");
            md.AppendLine(inv, $"- {s.Name}: {string.Join("; ", parts)}");
        }
        md.AppendLine();
        md.AppendLine("Where the time goes (medians): share of the machine used by the benchmark process (client, silo or Redis client, driver) and by redis-server; for end to end, how long the producer took within the run; group settle / first record: for OrleansGroups end to end, how long the group took to settle before the clock started; for consume pre-filled, when the first record arrived after Subscribe (inside the clock).");
        md.AppendLine();
        md.AppendLine("| scenario | system | seconds | producer done at s | CPU % bench process | CPU % redis-server | group settle / first record s |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var s in scenarios)
        {
            foreach (var (system, runs) in s.Runs)
            {
                md.AppendLine(inv, $"| {s.Name} | {system} | {Stat.Of(runs.Select(r => r.Seconds)).Median:N2} | {Stat.Of(runs.Select(r => r.ProduceSeconds)).Median:N2} | " +
                    $"{Stat.Of(runs.Select(r => r.ProcessCpuPercentOfMachine)).Median:N0} | {Stat.Of(runs.Select(r => r.RedisCpuPercentOfMachine)).Median:N0} | {Stat.Of(runs.Select(r => r.SetupSeconds)).Median:N2} |");
            }
        }
        md.AppendLine();
        md.AppendLine("Targets (issue 8, ratios in this run):");
        md.AppendLine();
        foreach (var c in columns.Where(c => c == "memory"))
        {
            foreach (var s in scenarios.Where(s => s.Name.StartsWith("end to end", StringComparison.Ordinal)))
            {
                var ratio = Stat.Of(s.For(c).Select(r => r.RecordsPerSecond)).Median / Stat.Of(s.For("redis").Select(r => r.RecordsPerSecond)).Median;
                md.AppendLine(inv, $"- {(ratio >= 1.0 ? "met" : "MISSED")}: memory end-to-end throughput >= 1.0x Redis ({s.Name}): {ratio:N2}x");
            }
            var latency = scenarios.Last();
            var p99 = Stat.Of(latency.For(c).Select(r => r.P99Ms ?? 0)).Median / Stat.Of(latency.For("redis").Select(r => r.P99Ms ?? 0)).Median;
            md.AppendLine(inv, $"- {(p99 <= 2.0 ? "met" : "MISSED")}: memory end-to-end latency p99 <= 2x Redis's: {p99:N2}x");
        }
        return md.ToString();

        static string Format(Stat s, bool ms) => ms
            ? string.Create(CultureInfo.InvariantCulture, $"{s.Median:N2} ({s.Min:N2}–{s.Max:N2})")
            : string.Create(CultureInfo.InvariantCulture, $"{s.Median:N0} ({s.Min:N0}–{s.Max:N0})");
    }
}
