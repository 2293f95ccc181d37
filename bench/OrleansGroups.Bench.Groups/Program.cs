using System.Globalization;
using System.Text;
using OrleansGroups.Bench.Groups;
using OrleansGroups.Core.Coordination;

// Consumer group benchmarks (issue 4): rebalance latency through the pure coordinator and a real silo, and assignor
// speed. Prints a markdown table and writes it to bench/results/groups-<yyyy-MM-dd>.md.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var options = BenchOptions.Parse(args);
if (options is null)
{
    return 2;
}

var log = Console.Error;
var report = new StringBuilder();
report.AppendLine($"# Consumer group benchmarks, {DateTime.UtcNow:yyyy-MM-dd}");
report.AppendLine();
report.AppendLine($"Machine: {Machine.Describe()}. Commit: {options.Commit}.");
report.AppendLine();
report.AppendLine($"Figures are median (min–max) of {options.Repetitions} repetitions after warm-up, unless stated.");
report.AppendLine();

// (a) Pure coordinator.
log.WriteLine($"(a) coordinator: {options.Partitions} partitions, {options.Members} members, one joins...");
var rounds = CoordinatorBench.Rounds(options.Partitions, options.Members, options.Repetitions);
var slow = CoordinatorBench.Simulated(options.Partitions, options.Members, options.Repetitions, new GroupCoordinatorOptions());
var fast = CoordinatorBench.Simulated(options.Partitions, options.Members, options.Repetitions,
    new GroupCoordinatorOptions { HeartbeatIntervalMs = 100, ReconcilingHeartbeatIntervalMs = 20 });
report.AppendLine($"## (a) Pure coordinator: {options.Partitions:N0} partitions, {options.Members} stable members, one joins");
report.AppendLine();
report.AppendLine("| Measure | Result |");
report.AppendLine("|---|---|");
report.AppendLine($"| Coordinator CPU time, join until stable (all heartbeats) | {rounds.CpuMs.Format(" ms", 2)} |");
report.AppendLine($"| Heartbeat rounds until stable (every member once per round) | {rounds.Rounds.Format("", 0)} |");
report.AppendLine($"| Heartbeats handled until stable | {rounds.Heartbeats.Format("", 0)} |");
report.AppendLine($"| Simulated protocol time, heartbeat 1 s / reconciling 100 ms (defaults): newcomer owns its target | {slow.NewcomerSettledMs.Format(" ms", 0)} |");
report.AppendLine($"| Simulated protocol time, heartbeat 1 s / reconciling 100 ms (defaults): group stable | {slow.StableMs.Format(" ms", 0)} |");
report.AppendLine($"| Simulated protocol time, heartbeat 100 ms / reconciling 20 ms: newcomer owns its target | {fast.NewcomerSettledMs.Format(" ms", 0)} |");
report.AppendLine($"| Simulated protocol time, heartbeat 100 ms / reconciling 20 ms: group stable | {fast.StableMs.Format(" ms", 0)} |");
report.AppendLine();

// (b) Real silo.
if (!options.SkipSilo)
{
    report.AppendLine($"## (b) In-process silo (memory storage), {options.Members} real consumers over loopback TCP, one joins");
    report.AppendLine();
    report.AppendLine("| Heartbeat / reconciling interval | Newcomer owns its target | Group stable |");
    report.AppendLine("|---|---|---|");
    foreach (var (heartbeat, reconciling) in new[] { (1000, 100), (100, 20) })
    {
        log.WriteLine($"(b) silo: heartbeat {heartbeat} ms / reconciling {reconciling} ms...");
        var silo = await SiloBench.RunAsync(options.Partitions, options.Members, options.Repetitions, heartbeat, reconciling, log);
        report.AppendLine($"| {heartbeat} ms / {reconciling} ms | {silo.NewcomerSettledMs.Format(" ms", 0)} | {silo.StableMs.Format(" ms", 0)} |");
    }
    report.AppendLine();
}

// (c) Assignors.
log.WriteLine($"(c) assignors: {options.AssignorPartitions} partitions x {options.AssignorMembers} members...");
var assignors = AssignorBench.Run(options.AssignorPartitions, options.AssignorMembers, options.AssignorRuns);
report.AppendLine($"## (c) Assignor speed: {options.AssignorPartitions:N0} partitions (one topic) x {options.AssignorMembers:N0} members, median (min–max) of {options.AssignorRuns} runs");
report.AppendLine();
report.AppendLine("| Case | Time | Partitions moved |");
report.AppendLine("|---|---|---|");
foreach (var result in assignors)
{
    report.AppendLine($"| {result.Case} | {result.Ms.Format(" ms", 1)} | {(result.Case.Contains("joins") ? result.Moved.ToString("N0") : "-")} |");
}

// (d) Memory.
if (!options.SkipSilo)
{
    log.WriteLine("(d) memory: 10,000 idle partitions, 1,000 idle groups...");
    var memory = await MemoryBench.RunAsync(10_000, 1_000, log);
    report.AppendLine();
    report.AppendLine("## (d) Memory per idle partition and per idle group (in-process silo, memory storage, managed heap after a full GC)");
    report.AppendLine();
    report.AppendLine("| Measure | Result |");
    report.AppendLine("|---|---|");
    report.AppendLine($"| Per idle partition ({memory.Partitions:N0} activated, empty logs) | {memory.BytesPerPartition / 1024.0:F1} KiB |");
    report.AppendLine($"| Per idle group ({memory.Groups:N0} groups, one member each, 4 partitions) | {memory.BytesPerGroup / 1024.0:F1} KiB |");
}

var text = report.ToString();
Console.Write(text);
var path = options.Output ?? Path.Combine(Machine.RepositoryRoot(), "bench", "results", $"groups-{DateTime.UtcNow:yyyy-MM-dd}.md");
Directory.CreateDirectory(Path.GetDirectoryName(path)!);
await File.WriteAllTextAsync(path, text);
log.WriteLine($"Wrote {path}");
return 0;

/// <summary>Command-line options.</summary>
internal sealed record BenchOptions
{
    public int Partitions { get; init; } = 1_000;
    public int Members { get; init; } = 100;
    public int Repetitions { get; init; } = 5;
    public int AssignorPartitions { get; init; } = 10_000;
    public int AssignorMembers { get; init; } = 1_000;
    public int AssignorRuns { get; init; } = 3;
    public bool SkipSilo { get; init; }
    public string? Output { get; init; }
    public string Commit { get; init; } = "unknown";

    public static BenchOptions? Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--partitions": options = options with { Partitions = int.Parse(Next()) }; break;
                case "--members": options = options with { Members = int.Parse(Next()) }; break;
                case "--repetitions": options = options with { Repetitions = Math.Max(1, int.Parse(Next())) }; break;
                case "--assignor-partitions": options = options with { AssignorPartitions = int.Parse(Next()) }; break;
                case "--assignor-members": options = options with { AssignorMembers = int.Parse(Next()) }; break;
                case "--assignor-runs": options = options with { AssignorRuns = Math.Max(1, int.Parse(Next())) }; break;
                case "--skip-silo": options = options with { SkipSilo = true }; break;
                case "--output": options = options with { Output = Next() }; break;
                case "--commit": options = options with { Commit = Next() }; break;
                default:
                    Console.Error.WriteLine(
                        "usage: OrleansGroups.Bench.Groups [--partitions 1000] [--members 100] [--repetitions 5] [--assignor-partitions 10000] " +
                        "[--assignor-members 1000] [--assignor-runs 3] [--skip-silo] [--output FILE] [--commit SHA]");
                    return null;
            }
        }
        return options;
    }
}

/// <summary>What the numbers were measured on.</summary>
internal static class Machine
{
    public static string Describe()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        return $"{Environment.ProcessorCount} logical CPUs ({cpu ?? "unknown CPU"}), {System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()}, " +
               $".NET {Environment.Version}, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC";
    }

    /// <summary>The directory holding OrleansGroups.sln, found upwards from the working directory or the binary.</summary>
    public static string RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "OrleansGroups.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
