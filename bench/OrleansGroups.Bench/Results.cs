using System.Globalization;

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

    /// <summary>"median (min–max)", each number in <paramref name="numberFormat"/> (e.g. "N0"), invariant culture.</summary>
    public string Format(string numberFormat) =>
        $"{Median.ToString(numberFormat, CultureInfo.InvariantCulture)} ({Min.ToString(numberFormat, CultureInfo.InvariantCulture)}–{Max.ToString(numberFormat, CultureInfo.InvariantCulture)})";
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
        var md = Markdown.Start($"Produce benchmark, {Date}", Machine, Parameters);
        var throughput = Scenarios.Where(s => s.Mode == "throughput").ToList();
        Markdown.Section(md, "#### Throughput (pipelined `ProduceAsync`, 100 B values, median of the repetitions, min–max in brackets)");
        Markdown.Table(md,
            "| storage | path | partitions | producers | records/run | records/s | MB/s | records/append | appends/s | records/call | call ms | storage append ms | CPU % of machine | CPU µs/record | alloc B/record |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            MedianRows(throughput, (s, m) =>
                $"| {s.Storage} | {s.Path} | {s.Partitions} | {s.Producers} | {N(s.RecordsPerRun)} | {s.RecordsPerSecond.Format("N0")} | {s.MBPerSecond.Format("N1")} | " +
                $"{s.RecordsPerAppend.Format("N0")} | {N(m.AppendsPerSecond)} | {N(m.RecordsPerCall)} | {m.MeanCallMs:N2} | {m.MeanStorageAppendMs:N2} | " +
                $"{m.CpuPercentOfMachine:N0} | {m.CpuMicrosecondsPerRecord:N1} | {N(m.AllocatedBytesPerRecord)} |"));
        Markdown.Section(md, "Where the time goes (median run): *sender busy* is the share of the run each partition sender (one per producer and partition, at most one `Append` in flight) had a call outstanding; *storage busy* the share each partition had a storage append in flight; CPU is the whole benchmark process (client, silo and driver share it), Azurite's node process is counted apart; *other processes* is what the rest of the machine used meanwhile (a concurrent build on a 2-core machine halves the figures).");
        Markdown.Table(md,
            "| storage | path | partitions | producers | sender busy | storage busy | CPU % of machine | Azurite CPU % | other processes' CPU % | GCs gen0/1/2 |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
            MedianRows(throughput, (s, m) =>
                $"| {s.Storage} | {s.Path} | {s.Partitions} | {s.Producers} | {m.CallBusyPerSender:P0} | {m.StorageBusyPerPartition:P0} | {m.CpuPercentOfMachine:N0} | {m.AzuriteCpuPercent:N0} | {m.OtherProcessesCpuPercent:N0} | {m.Gen0}/{m.Gen1}/{m.Gen2} |"));
        Markdown.Section(md, "#### One at a time (each `ProduceAsync` awaited before the next; 1 partition, 1 producer)");
        Markdown.Table(md,
            "| storage | path | records/run | records/s | p50 ms | p99 ms | max ms | storage append ms |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
            MedianRows(Scenarios.Where(s => s.Mode == "one-at-a-time"), (s, m) =>
                $"| {s.Storage} | {s.Path} | {N(s.RecordsPerRun)} | {s.RecordsPerSecond.Format("N0")} | {s.P50Ms.Format("N2")} | {s.P99Ms.Format("N2")} | {m.MaxMs:N1} | {m.MeanStorageAppendMs:N2} |"));
        var paced = Scenarios.Where(s => s.Mode == "paced").ToList();
        if (paced.Count > 0)
        {
            Markdown.Section(md, "#### Paced (open loop: 1 partition, a `ProduceAsync` every 1/rate s, not waiting for the previous one; latency from call to acknowledgement)");
            Markdown.Table(md,
                "| storage | path | records/run | records/s | records/append | appends/s | p50 ms | p99 ms | max ms | storage append ms |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
                MedianRows(paced, (s, m) =>
                    $"| {s.Storage} | {s.Path} | {N(s.RecordsPerRun)} | {s.RecordsPerSecond.Format("N0")} | {s.RecordsPerAppend.Format("N1")} | {N(m.AppendsPerSecond)} | {s.P50Ms.Format("N2")} | {s.P99Ms.Format("N2")} | {m.MaxMs:N1} | {m.MeanStorageAppendMs:N2} |"));
        }
        if (AzuriteFloor.Count > 0)
        {
            Markdown.Section(md, "#### Floor: Azurite's raw append-blob rate (Azure SDK `AppendBlockAsync`, no OrleansGroups code)");
            Markdown.Table(md, "| blocks | blobs | appends/s | MB/s | seconds |", "|---|---:|---:|---:|---:|",
                AzuriteFloor.Select(f => $"| {f.Name} | {f.Blobs} | {N(f.AppendsPerSecond)} | {f.MBPerSecond:N2} | {f.Seconds:N1} |"));
        }
        if (Codec.Count > 0)
        {
            Markdown.Section(md, "#### Codec alone (one thread)");
            foreach (var c in Codec)
            {
                md.AppendLine($"- `RecordBatch.Encode`: {c.EncodeNsPerRecord:N0} ns/record; `RecordBatch.Validate`: {c.ValidateNsPerRecord:N0} ns/record ({c.RecordsPerBatch}-record batches of {c.ValueBytes} B values).");
            }
        }
        Markdown.Section(md, "#### Targets (issue 3)");
        foreach (var t in Targets)
        {
            md.AppendLine($"- {t}");
        }
        return md.ToString();
    }

    /// <summary>A table row per scenario, from the scenario and its median run.</summary>
    private static IEnumerable<string> MedianRows(IEnumerable<ScenarioResult> scenarios, Func<ScenarioResult, RunResult, string> row) =>
        scenarios.Select(s => row(s, s.MedianRun));

    private static string N(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
