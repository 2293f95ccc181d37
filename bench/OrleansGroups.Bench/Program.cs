using System.Globalization;
using OrleansGroups.Bench;
using OrleansGroups.Client;
using OrleansGroups.Hosting;

// Produce benchmarks (issue 3 item 10): see bench/README.md. Progress goes to stderr, the markdown table to stdout.
// "peer" as the first argument runs the Redis Streams peer comparison instead (issue 8), "consume" the consumer benchmark.
if (args.Length > 0 && args[0] == "peer")
{
    return await OrleansGroups.Bench.Peer.PeerBench.RunAsync(args[1..], Machine.Describe(), BenchOptions.DefaultOutput());
}
// "consume": consumer latency and group throughput next to Redis Streams (issue 5 item 5).
if (args.Length > 0 && args[0] == "consume")
{
    return await ConsumeBench.RunAsync(args[1..], Machine.Describe(), BenchOptions.DefaultOutput());
}
var options = BenchOptions.Parse(args);
if (options is null)
{
    return 2;
}
void Say(string line) => Console.Error.WriteLine($"[bench {DateTime.Now:HH:mm:ss}] {line}");

var loadAtStart = Machine.LoadAverage();
var scenarios = new List<ScenarioResult>();
var floor = new List<FloorResult>();
int[] partitionCounts = [1, 4, 16];
int[] producerCounts = [1, 4];
const int BatchApiSize = 1_000;

if (options.Storage is "memory" or "both")
{
    Say("memory: starting an in-process silo and a client");
    await using var cluster = await BenchCluster.StartAsync(StorageKind.Memory, null);
    await RunStorageAsync(cluster, "memory", options.MemoryRecords, options.MemoryLatencyRecords, withInSiloPath: true, azuritePid: null);
}

if (options.Storage is "azure" or "both")
{
    var scripts = LocalAzurite.FindRepositoryScriptsDirectory()
        ?? throw new InvalidOperationException("scripts/azurite not found above the benchmark or the current directory: run from the repository.");
    Say($"azurite: starting the emulator from scripts/azurite ({(options.AzuriteInMemory ? "in memory" : "persisting to a temporary directory")})");
    await using var azurite = await LocalAzurite.StartAsync(scripts, inMemory: options.AzuriteInMemory);
    var floorTime = TimeSpan.FromSeconds(options.FloorSeconds);
    foreach (var (name, bytes, blobs) in new[] { ("100 B, sequential", 100, 1), ("64 KB, sequential", 64 * 1024, 1), ("100 B, 4 blobs in parallel", 100, 4) })
    {
        var result = await AzuriteFloor.MeasureAsync(azurite.ConnectionString, name, bytes, blobs, floorTime);
        Say($"  floor {name}: {result.AppendsPerSecond:N0} appends/s, {result.MBPerSecond:N2} MB/s");
        floor.Add(result);
    }
    Say("azurite: starting an in-process silo on it and a client");
    await using var cluster = await BenchCluster.StartAsync(StorageKind.Azure, azurite.ConnectionString);
    await RunStorageAsync(cluster, "azurite", options.AzureRecords, options.AzureLatencyRecords, withInSiloPath: false, azurite.ProcessId);
}

var codec = new List<CodecResult> { ProduceBenchmarks.MeasureCodec(500) };
var report = new BenchReport(
    DateTime.Now.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
    Machine.Describe(),
    new Dictionary<string, string>
    {
        ["repetitions"] = options.Repetitions.ToString(CultureInfo.InvariantCulture),
        ["memory records/run"] = options.MemoryRecords.ToString("N0", CultureInfo.InvariantCulture),
        ["azurite records/run"] = options.AzureRecords.ToString("N0", CultureInfo.InvariantCulture),
        ["one-at-a-time records/run (memory, azurite)"] = $"{options.MemoryLatencyRecords:N0}, {options.AzureLatencyRecords:N0}",
        ["value"] = $"{ProduceBenchmarks.ValueBytes} B, no key, no headers (MB/s counts values)",
        ["window"] = $"{ProduceBenchmarks.Window:N0} outstanding records per producer",
        ["producer"] = options.LingerMs.Count == 0
            ? $"default ProducerOptions (idempotent, linger {new ProducerOptions().Linger.TotalMilliseconds:0.#} ms)"
            : $"default ProducerOptions (idempotent) with linger {string.Join(" / ", options.LingerMs.Select(ms => $"{ms:0.#}"))} ms",
        ["modes"] = string.Join(", ", options.Modes),
        ["paced"] = $"{options.PacedRate:N0} records/s, one ProduceAsync each, not awaited in turn",
        ["azurite"] = options.AzuriteInMemory ? "in memory" : "persisting to disk",
        ["commit"] = options.Commit ?? "unknown",
        ["load average at start"] = loadAtStart,
    },
    floor, codec, scenarios, Targets(scenarios));

await ResultFiles.WriteAsync(options.OutputDirectory, "produce", DateTime.Now, report, report.ToMarkdown(), Say);
return 0;

async Task RunStorageAsync(BenchCluster cluster, string storage, long records, long latencyRecords, bool withInSiloPath, int? azuritePid)
{
    var bench = new ProduceBenchmarks(cluster, Say, azuritePid);
    var client = cluster.ClientGrains;
    // Each linger under test (--linger-ms) runs every client scenario, labelled in the path when there is more than one.
    var lingers = options.LingerMs.Count == 0
        ? [(Label: "", Options: new ProducerOptions())]
        : options.LingerMs.Select(ms => (Label: options.LingerMs.Count > 1 ? $", linger {ms:0.#} ms" : "", Options: new ProducerOptions { Linger = TimeSpan.FromMilliseconds(ms) })).ToList();
    var matrix = new List<(string Path, IGrainFactory Grains, int Partitions, int Producers, int BatchSize, ProducerOptions Producer)>();
    if (options.Modes.Contains("throughput"))
    {
        foreach (var (label, producer) in lingers)
        {
            foreach (var partitions in partitionCounts)
            {
                foreach (var producers in producerCounts)
                {
                    matrix.Add(("client" + label, client, partitions, producers, 0, producer));
                }
            }
            // Where the client's per-record cost goes: the same load in calls of 1,000 records.
            matrix.Add(($"client, batches of {BatchApiSize}" + label, client, 4, 1, BatchApiSize, producer));
        }
        if (withInSiloPath)
        {
            // Where the network hop's cost goes: the silo's own grain factory (no TCP; arguments are still copied).
            matrix.Add(("in-silo", cluster.SiloGrains, 4, 1, 0, lingers[0].Options));
            matrix.Add(("in-silo", cluster.SiloGrains, 4, 4, 0, lingers[0].Options));
        }
    }

    Say($"{storage}: warm-up (JIT, connections), not recorded");
    await bench.ThroughputAsync(client, "client", 4, 4, Math.Min(records, 50_000), 0);
    await bench.OneAtATimeAsync(client, "client", Math.Min(latencyRecords, 200), 0);

    var results = matrix.Select(m => new ScenarioResult("throughput", storage, m.Path, m.Partitions, m.Producers, records, [])).ToList();
    var latency = options.Modes.Contains("one-at-a-time")
        ? lingers.Select(l => new ScenarioResult("one-at-a-time", storage, "client" + l.Label, 1, 1, latencyRecords, [])).ToList()
        : [];
    var pacedRecords = storage == "memory" ? options.PacedRecords : Math.Min(options.PacedRecords, options.AzureLatencyRecords * 2);
    var paced = options.Modes.Contains("paced")
        ? lingers.Select(l => new ScenarioResult("paced", storage, "client" + l.Label, 1, 1, pacedRecords, [])).ToList()
        : [];
    // Repetition-major order, so slow drift (a growing Azurite database, a noisy neighbour) spreads over every scenario.
    for (var repetition = 1; repetition <= options.Repetitions; repetition++)
    {
        for (var i = 0; i < matrix.Count; i++)
        {
            var (path, grains, partitions, producers, batchSize, producerOptions) = matrix[i];
            var run = await bench.ThroughputAsync(grains, path.Split(',')[0], partitions, producers, records, repetition, batchSize, producerOptions);
            results[i].Runs.Add(run);
            Say($"{storage} {path} {partitions}p x {producers} producers, rep {repetition}: {run.RecordsPerSecond:N0} records/s, " +
                $"{run.RecordsPerAppend:N0} records/append, {run.RecordsPerCall:N0} records/call, call {run.MeanCallMs:N2} ms, " +
                $"storage {run.MeanStorageAppendMs:N2} ms, CPU {run.CpuPercentOfMachine:N0}% (Azurite {run.AzuriteCpuPercent:N0}%, others {run.OtherProcessesCpuPercent:N0}%)");
        }
        for (var l = 0; l < latency.Count; l++)
        {
            var one = await bench.OneAtATimeAsync(client, "client", latencyRecords, repetition, lingers[l].Options);
            latency[l].Runs.Add(one);
            Say($"{storage} one-at-a-time{lingers[l].Label}, rep {repetition}: {one.RecordsPerSecond:N0} records/s, p50 {one.P50Ms:N2} ms, p99 {one.P99Ms:N2} ms");
        }
        for (var l = 0; l < paced.Count; l++)
        {
            var run = await bench.PacedAsync(client, "paced", options.PacedRate, pacedRecords, repetition, lingers[l].Options);
            paced[l].Runs.Add(run);
            Say($"{storage} paced {options.PacedRate:N0}/s{lingers[l].Label}, rep {repetition}: {run.RecordsPerAppend:N1} records/append, " +
                $"{run.AppendsPerSecond:N0} appends/s, p50 {run.P50Ms:N2} ms, p99 {run.P99Ms:N2} ms");
        }
    }
    scenarios.AddRange(results);
    scenarios.AddRange(latency);
    scenarios.AddRange(paced);
}

static List<string> Targets(List<ScenarioResult> scenarios)
{
    var targets = new List<string>();
    var azure = scenarios.Where(s => s.Mode == "throughput" && s.Storage == "azurite").ToList();
    var memory = scenarios.Where(s => s.Mode == "throughput" && s.Storage == "memory" && s.Path == "client").ToList();
    azure = azure.Where(s => s.Path == "client").ToList();
    foreach (var s in azure.Where(s => s.Partitions == 4))
    {
        targets.Add(Verdict(s.RecordsPerSecond.Median >= 50_000, $"Azurite >= 50,000 records/s with 4 partitions ({s.Producers} producer(s)): {s.RecordsPerSecond.Median:N0}"));
    }
    if (azure.Count > 0)
    {
        var perAppend = string.Join(", ", azure.Select(s => $"{s.Partitions}p x {s.Producers}: {s.RecordsPerAppend.Median:N0}"));
        targets.Add(Verdict(azure.All(s => s.RecordsPerAppend.Median >= 100), $"Azurite >= 100 records per append under load: {perAppend}"));
    }
    foreach (var s in memory)
    {
        targets.Add(Verdict(s.RecordsPerSecond.Median >= 200_000, $"Memory >= 200,000 records/s ({s.Partitions}p x {s.Producers}): {s.RecordsPerSecond.Median:N0}"));
    }
    return targets;

    static string Verdict(bool met, string text) => $"{(met ? "met" : "MISSED")}: {text}";
}

/// <summary>Command-line options of the benchmark.</summary>
internal sealed record BenchOptions(
    string Storage, int Repetitions, long MemoryRecords, long AzureRecords, long MemoryLatencyRecords, long AzureLatencyRecords,
    bool AzuriteInMemory, double FloorSeconds, string OutputDirectory, string? Commit,
    IReadOnlyList<double> LingerMs, IReadOnlyList<string> Modes, int PacedRate, long PacedRecords)
{
    private const string Usage = """
        Usage: OrleansGroups.Bench [options]
          --storage memory|azure|both   which storage to run (default both)
          --repetitions N               repetitions of each scenario (default 3)
          --memory-records N            records per memory throughput run (default 500000)
          --azure-records N             records per Azurite throughput run (default 300000)
          --memory-latency-records N    records per memory one-at-a-time run (default 10000)
          --azure-latency-records N     records per Azurite one-at-a-time run (default 2000)
          --azurite-in-memory           keep Azurite's data in memory (default: a temporary directory)
          --floor-seconds S             seconds per Azurite floor measurement (default 3)
          --out DIR                     where produce-<date>.json/.md go (default bench/results)
          --commit SHA                  recorded in the results
          --linger-ms LIST              producer linger(s) to compare, e.g. 0,5 (default: ProducerOptions' default only)
          --modes LIST                  throughput,one-at-a-time,paced (default all three)
          --paced-rate N                records/s of the paced (open-loop) mode (default 2000)
          --paced-records N             records per paced run (default 4000; Azurite at most 2 x --azure-latency-records)
        """;

    public static BenchOptions? Parse(string[] args)
    {
        var o = new BenchOptions("both", 3, 500_000, 300_000, 10_000, 2_000, false, 3, DefaultOutput(), null,
            [], ["throughput", "one-at-a-time", "paced"], 2_000, 4_000);
        var common = new CommonOptions(o.Storage, o.OutputDirectory) { Repetitions = o.Repetitions };
        if (!CommandLine.Parse(args, Usage, common, new()
        {
            ["--memory-records"] = line => o = o with { MemoryRecords = line.Long() },
            ["--azure-records"] = line => o = o with { AzureRecords = line.Long() },
            ["--memory-latency-records"] = line => o = o with { MemoryLatencyRecords = line.Long() },
            ["--azure-latency-records"] = line => o = o with { AzureLatencyRecords = line.Long() },
            ["--azurite-in-memory"] = _ => o = o with { AzuriteInMemory = true },
            ["--floor-seconds"] = line => o = o with { FloorSeconds = line.Double() },
            ["--linger-ms"] = line => o = o with { LingerMs = line.Doubles() },
            ["--modes"] = line => o = o with { Modes = [.. line.Value().Split(',')] },
            ["--paced-rate"] = line => o = o with { PacedRate = line.Int() },
            ["--paced-records"] = line => o = o with { PacedRecords = line.Long() },
        }))
        {
            return null;
        }
        return o with { Storage = common.Storage, Repetitions = common.Repetitions, OutputDirectory = common.Output, Commit = common.Commit };
    }

    internal static string DefaultOutput()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansGroups.sln")))
            {
                return Path.Combine(dir.FullName, "bench", "results");
            }
        }
        return Path.Combine(Directory.GetCurrentDirectory(), "results");
    }
}
