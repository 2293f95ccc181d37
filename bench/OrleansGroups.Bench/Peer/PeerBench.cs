using System.Globalization;

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
        var common = new CommonOptions("memory", defaultOutput);
        long records = 200_000, oneAtATime = 10_000, latencyRecords = 1_000;
        var latencyRate = 500;
        if (!CommandLine.Parse(args, Usage, common, new()
        {
            ["--records"] = line => records = line.Long(),
            ["--one-at-a-time-records"] = line => oneAtATime = line.Long(),
            ["--latency-records"] = line => latencyRecords = line.Long(),
            ["--latency-rate"] = line => latencyRate = line.Int(),
        }))
        {
            return 2;
        }
        var (storage, repetitions, output, commit) = (common.Storage, common.Repetitions, common.Output, common.Commit);

        static void Say(string line) => Console.Error.WriteLine($"[peer {DateTime.Now:HH:mm:ss}] {line}");
        var interval = TimeSpan.FromSeconds(1.0 / latencyRate);
        var started = DateTime.Now;
        var load = Machine.LoadAverage();

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

        await using var hosts = await ComparisonHosts.StartAsync(storage, Say);
        await using var redis = new RedisScenarios(hosts.Redis);
        var systems = new List<(string Name, OrleansScenarios? Orleans)> { ("redis", null) };
        systems.AddRange(hosts.Silos.Select(silo => (silo.Name, (OrleansScenarios?)new OrleansScenarios(silo.Cluster, Say))));

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
                    scenario.Runs.For(name).Add(run);
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

        var parameters = new Dictionary<string, string>
        {
            ["repetitions"] = repetitions.ToString(CultureInfo.InvariantCulture),
            ["records per throughput run"] = records.ToString("N0", CultureInfo.InvariantCulture),
            ["records per one-at-a-time run"] = oneAtATime.ToString("N0", CultureInfo.InvariantCulture),
            ["latency run"] = $"{latencyRecords:N0} records at {latencyRate:N0}/s",
            ["value"] = $"{PeerValue.Bytes} B (sequence number, send timestamp, filler), no key",
            ["redis"] = $"redis-server {hosts.Redis.Version}, loopback, appendonly yes, appendfsync everysec, no RDB; StackExchange.Redis client",
            ["orleansgroups"] = $"in-process silo, client over loopback TCP, {OrleansScenarios.Partitions} partitions (1 for one-at-a-time)",
            ["commit"] = commit ?? "unknown",
            ["load average at start"] = load,
        };
        var columns = systems.Where(s => s.Orleans is not null).Select(s => s.Name).ToList();
        var json = new { date = started.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), machine, parameters, scenarios };
        await ResultFiles.WriteAsync(output, "peer", started, json, ToMarkdown(started, machine, parameters, scenarios, columns), Say);
        return 0;
    }

    private static string ToMarkdown(DateTime started, Dictionary<string, string> machine, Dictionary<string, string> parameters, List<PeerScenario> scenarios, List<string> columns)
    {
        var inv = CultureInfo.InvariantCulture;
        var md = Markdown.Start(string.Create(inv, $"Peer comparison, run of {started:yyyy-MM-dd HH:mm}"), machine, parameters);
        Markdown.Section(md, "Median of the repetitions, min–max in brackets. Ratio: OrleansGroups ÷ Redis from the medians (records/s: higher is better for OrleansGroups; ms: lower is better).");
        ComparisonTable.Append(md, "| scenario | records/run | metric |", "|---|---:|---|", columns, scenarios.SelectMany(s =>
        {
            var metrics = s.Metric == "ms"
                ? new (string Name, Func<PeerRun, double> Get, bool Ms)[] { ("p50 ms", r => r.P50Ms ?? 0, true), ("p99 ms", r => r.P99Ms ?? 0, true), ("max ms", r => r.MaxMs ?? 0, true) }
                : s.Name.Contains("one at a time", StringComparison.Ordinal)
                    ? [("records/s", r => r.RecordsPerSecond, false), ("p50 ms", r => r.P50Ms ?? 0, true), ("p99 ms", r => r.P99Ms ?? 0, true)]
                    : [("records/s", r => r.RecordsPerSecond, false)];
            return metrics.Select(m => new ComparisonTable.Row([s.Name, s.RecordsPerRun.ToString("N0", inv), m.Name], system => s.Runs.For(system).Select(m.Get), m.Ms));
        }));
        Markdown.Section(md, "Exactly once (every record once across the group; OrleansGroups also by (partition, offset)):");
        foreach (var s in scenarios.Where(s => s.Name.StartsWith("end", StringComparison.Ordinal) || s.Name.StartsWith("consume", StringComparison.Ordinal)))
        {
            var parts = s.Runs.Select(kv => $"{kv.Key}: {kv.Value.Sum(r => r.Duplicates):N0} duplicates, {kv.Value.Sum(r => r.Missing):N0} missing over {kv.Value.Count} runs");
            md.AppendLine(inv, $"- {s.Name}: {string.Join("; ", parts)}");
        }
        Markdown.Section(md, "Where the time goes (medians): share of the machine used by the benchmark process (client, silo or Redis client, driver) and by redis-server; for end to end, how long the producer took within the run; group settle / first record: for OrleansGroups end to end, how long the group took to settle before the clock started; for consume pre-filled, when the first record arrived after Subscribe (inside the clock).");
        Markdown.Table(md, "| scenario | system | seconds | producer done at s | CPU % bench process | CPU % redis-server | group settle / first record s |", "|---|---|---:|---:|---:|---:|---:|",
            scenarios.SelectMany(s => s.Runs.Select(kv => string.Create(inv,
                $"| {s.Name} | {kv.Key} | {Stat.Of(kv.Value.Select(r => r.Seconds)).Median:N2} | {Stat.Of(kv.Value.Select(r => r.ProduceSeconds)).Median:N2} | " +
                $"{Stat.Of(kv.Value.Select(r => r.ProcessCpuPercentOfMachine)).Median:N0} | {Stat.Of(kv.Value.Select(r => r.RedisCpuPercentOfMachine)).Median:N0} | {Stat.Of(kv.Value.Select(r => r.SetupSeconds)).Median:N2} |"))));
        Markdown.Section(md, "Targets (issue 8, ratios in this run):");
        foreach (var c in columns.Where(c => c == "memory"))
        {
            foreach (var s in scenarios.Where(s => s.Name.StartsWith("end to end", StringComparison.Ordinal)))
            {
                var ratio = Stat.Of(s.Runs.For(c).Select(r => r.RecordsPerSecond)).Median / Stat.Of(s.Runs.For("redis").Select(r => r.RecordsPerSecond)).Median;
                md.AppendLine(inv, $"- {(ratio >= 1.0 ? "met" : "MISSED")}: memory end-to-end throughput >= 1.0x Redis ({s.Name}): {ratio:N2}x");
            }
            var latency = scenarios.Last();
            var p99 = Stat.Of(latency.Runs.For(c).Select(r => r.P99Ms ?? 0)).Median / Stat.Of(latency.Runs.For("redis").Select(r => r.P99Ms ?? 0)).Median;
            md.AppendLine(inv, $"- {(p99 <= 2.0 ? "met" : "MISSED")}: memory end-to-end latency p99 <= 2x Redis's: {p99:N2}x");
        }
        return md.ToString();
    }
}
