using System.Globalization;
using System.Text;

namespace OrleansGroups.Bench;

/// <summary>Raw append-blob rate of the emulator.</summary>
internal sealed record FloorResult(string Name, int BlockBytes, int Blobs, long Appends, double Seconds, double AppendsPerSecond, double MBPerSecond);

/// <summary>CPU cost of the record codec alone, single thread.</summary>
internal sealed record CodecResult(int RecordsPerBatch, int ValueBytes, double EncodeNsPerRecord, double ValidateNsPerRecord);

/// <summary>One repetition of one scenario.</summary>
internal sealed record RunResult(
    int Repetition,
    long Records,
    double Seconds,
    double RecordsPerSecond,
    double MBPerSecond,
    long StorageAppends,
    double RecordsPerAppend,
    double AppendsPerSecond,
    long AppendCalls,
    double RecordsPerCall,
    double MeanCallMs,
    double MeanStorageAppendMs,
    double StorageBusyPerPartition,
    double CallBusyPerSender,
    double CpuPercentOfMachine,
    double CpuMicrosecondsPerRecord,
    double AzuriteCpuPercent,
    double OtherProcessesCpuPercent,
    double AllocatedBytesPerRecord,
    int Gen0,
    int Gen1,
    int Gen2,
    double? P50Ms = null,
    double? P99Ms = null,
    double? MaxMs = null);

/// <summary>A scenario and its repetitions.</summary>
internal sealed record ScenarioResult(string Mode, string Storage, string Path, int Partitions, int Producers, long RecordsPerRun, List<RunResult> Runs)
{
    public Stat RecordsPerSecond => Stat.Of(Runs.Select(r => r.RecordsPerSecond));

    public Stat MBPerSecond => Stat.Of(Runs.Select(r => r.MBPerSecond));

    public Stat RecordsPerAppend => Stat.Of(Runs.Select(r => r.RecordsPerAppend));

    public Stat P50Ms => Stat.Of(Runs.Select(r => r.P50Ms ?? 0));

    public Stat P99Ms => Stat.Of(Runs.Select(r => r.P99Ms ?? 0));

    public RunResult MedianRun => Runs.OrderBy(r => r.RecordsPerSecond).ElementAt(Runs.Count / 2);
}

/// <summary>Median, min and max.</summary>
internal sealed record Stat(double Median, double Min, double Max)
{
    public static Stat Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        if (sorted.Count == 0)
        {
            return new(0, 0, 0);
        }
        var median = sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        return new(median, sorted[0], sorted[^1]);
    }
}

/// <summary>Everything one run of the benchmark measured.</summary>
internal sealed record BenchReport(
    string Date,
    Dictionary<string, string> Machine,
    Dictionary<string, string> Parameters,
    List<FloorResult> AzuriteFloor,
    List<CodecResult> Codec,
    List<ScenarioResult> Scenarios,
    List<string> Targets)
{
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine($"### Produce benchmark, {Date}");
        md.AppendLine();
        md.AppendLine("Machine: " + string.Join("; ", Machine.Select(m => $"{m.Key} {m.Value}")) + ".");
        md.AppendLine();
        md.AppendLine("Parameters: " + string.Join("; ", Parameters.Select(p => $"{p.Key} {p.Value}")) + ".");
        md.AppendLine();
        md.AppendLine("#### Throughput (pipelined `ProduceAsync`, 100 B values, median of the repetitions, min–max in brackets)");
        md.AppendLine();
        md.AppendLine("| storage | path | partitions | producers | records/run | records/s | MB/s | records/append | appends/s | records/call | call ms | storage append ms | CPU % of machine | CPU µs/record | alloc B/record |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in Scenarios.Where(s => s.Mode == "throughput"))
        {
            var m = s.MedianRun;
            md.AppendLine($"| {s.Storage} | {s.Path} | {s.Partitions} | {s.Producers} | {N(s.RecordsPerRun)} | {Range(s.RecordsPerSecond, "N0")} | {Range(s.MBPerSecond, "N1")} | " +
                $"{Range(s.RecordsPerAppend, "N0")} | {N(m.AppendsPerSecond)} | {N(m.RecordsPerCall)} | {m.MeanCallMs:N2} | {m.MeanStorageAppendMs:N2} | " +
                $"{m.CpuPercentOfMachine:N0} | {m.CpuMicrosecondsPerRecord:N1} | {N(m.AllocatedBytesPerRecord)} |");
        }
        md.AppendLine();
        md.AppendLine("Where the time goes (median run): *sender busy* is the share of the run each partition sender (one per producer and partition, at most one `Append` in flight) had a call outstanding; *storage busy* the share each partition had a storage append in flight; CPU is the whole benchmark process (client, silo and driver share it), Azurite's node process is counted apart; *other processes* is what the rest of the machine used meanwhile (a concurrent build on a 2-core machine halves the figures).");
        md.AppendLine();
        md.AppendLine("| storage | path | partitions | producers | sender busy | storage busy | CPU % of machine | Azurite CPU % | other processes' CPU % | GCs gen0/1/2 |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var s in Scenarios.Where(s => s.Mode == "throughput"))
        {
            var m = s.MedianRun;
            md.AppendLine($"| {s.Storage} | {s.Path} | {s.Partitions} | {s.Producers} | {m.CallBusyPerSender:P0} | {m.StorageBusyPerPartition:P0} | {m.CpuPercentOfMachine:N0} | {m.AzuriteCpuPercent:N0} | {m.OtherProcessesCpuPercent:N0} | {m.Gen0}/{m.Gen1}/{m.Gen2} |");
        }
        md.AppendLine();
        md.AppendLine("#### One at a time (each `ProduceAsync` awaited before the next; 1 partition, 1 producer)");
        md.AppendLine();
        md.AppendLine("| storage | path | records/run | records/s | p50 ms | p99 ms | max ms | storage append ms |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var s in Scenarios.Where(s => s.Mode == "one-at-a-time"))
        {
            var m = s.MedianRun;
            md.AppendLine($"| {s.Storage} | {s.Path} | {N(s.RecordsPerRun)} | {Range(s.RecordsPerSecond, "N0")} | {Range(s.P50Ms, "N2")} | {Range(s.P99Ms, "N2")} | {m.MaxMs:N1} | {m.MeanStorageAppendMs:N2} |");
        }
        if (Scenarios.Any(s => s.Mode == "paced"))
        {
            md.AppendLine();
            md.AppendLine("#### Paced (open loop: 1 partition, a `ProduceAsync` every 1/rate s, not waiting for the previous one; latency from call to acknowledgement)");
            md.AppendLine();
            md.AppendLine("| storage | path | records/run | records/s | records/append | appends/s | p50 ms | p99 ms | max ms | storage append ms |");
            md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var s in Scenarios.Where(s => s.Mode == "paced"))
            {
                var m = s.MedianRun;
                md.AppendLine($"| {s.Storage} | {s.Path} | {N(s.RecordsPerRun)} | {Range(s.RecordsPerSecond, "N0")} | {Range(s.RecordsPerAppend, "N1")} | {N(m.AppendsPerSecond)} | {Range(s.P50Ms, "N2")} | {Range(s.P99Ms, "N2")} | {m.MaxMs:N1} | {m.MeanStorageAppendMs:N2} |");
            }
        }
        if (AzuriteFloor.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("#### Floor: Azurite's raw append-blob rate (Azure SDK `AppendBlockAsync`, no OrleansGroups code)");
            md.AppendLine();
            md.AppendLine("| blocks | blobs | appends/s | MB/s | seconds |");
            md.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var f in AzuriteFloor)
            {
                md.AppendLine($"| {f.Name} | {f.Blobs} | {N(f.AppendsPerSecond)} | {f.MBPerSecond:N2} | {f.Seconds:N1} |");
            }
        }
        if (Codec.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("#### Codec alone (one thread)");
            md.AppendLine();
            foreach (var c in Codec)
            {
                md.AppendLine($"- `RecordBatch.Encode`: {c.EncodeNsPerRecord:N0} ns/record; `RecordBatch.Validate`: {c.ValidateNsPerRecord:N0} ns/record ({c.RecordsPerBatch}-record batches of {c.ValueBytes} B values).");
            }
        }
        md.AppendLine();
        md.AppendLine("#### Targets (issue 3)");
        md.AppendLine();
        foreach (var t in Targets)
        {
            md.AppendLine($"- {t}");
        }
        return md.ToString();
    }

    private static string Range(Stat s, string format) =>
        $"{s.Median.ToString(format, CultureInfo.InvariantCulture)} ({s.Min.ToString(format, CultureInfo.InvariantCulture)}–{s.Max.ToString(format, CultureInfo.InvariantCulture)})";

    private static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
