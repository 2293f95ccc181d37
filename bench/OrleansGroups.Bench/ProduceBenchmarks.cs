using System.Diagnostics;
using OrleansGroups.Client;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Bench;

/// <summary>The produce scenarios. Each run uses a fresh topic, so every partition starts empty and freshly activated.</summary>
/// <param name="azuritePid">The Azurite process, whose CPU is reported apart from other processes'; null for memory.</param>
internal sealed class ProduceBenchmarks(BenchCluster cluster, Action<string> say, int? azuritePid = null)
{
    /// <summary>Value size of every record (the issue's 100 B records).</summary>
    public const int ValueBytes = 100;

    /// <summary>
    /// Records a producer keeps outstanding in throughput mode (about 2 MB of values: Kafka's producer buffers
    /// 32 MB). Enough that batches are limited by the pipeline, not by the window.
    /// </summary>
    public const int Window = 20_000;

    private static readonly byte[] Value = MakeValue();

    // On a shared machine, a run waits (up to 15 s, 90 s over the whole benchmark) for other processes to leave the
    // CPU; whatever they still use is reported with each run.
    private static readonly TimeSpan QuietWaitPerRun = TimeSpan.FromSeconds(15);
    private static TimeSpan _quietBudget = TimeSpan.FromSeconds(90);
    private const double QuietThresholdPercent = 15;

    /// <summary>
    /// Producers each call <c>ProduceAsync</c> per record without awaiting (up to <see cref="Window"/> outstanding),
    /// keyless so records go round-robin over the partitions, as Kafka's producer-perf-test does.
    /// </summary>
    /// <param name="batchSize">0: one <c>ProduceAsync</c> per record; otherwise <c>ProduceBatchAsync</c> calls of this many records (same window).</param>
    public async Task<RunResult> ThroughputAsync(
        IGrainFactory grains, string path, int partitions, int producers, long records, int repetition, int batchSize = 0, ProducerOptions? options = null)
    {
        var (topic, clients) = await PrepareAsync(grains, path, partitions, producers, repetition, options);
        await WaitForQuietAsync();
        var before = await SampleAsync(grains, topic, partitions);
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(clients.Select((producer, i) =>
            Task.Run(() => batchSize > 0
                ? DriveBatchesAsync(producer, topic, records / producers + (i < records % producers ? 1 : 0), batchSize)
                : DriveAsync(producer, topic, records / producers + (i < records % producers ? 1 : 0)))));
        stopwatch.Stop();
        var after = await SampleAsync(grains, topic, partitions);
        return Result(repetition, records, stopwatch.Elapsed.TotalSeconds, before, after, partitions, partitions * producers, null);
    }

    /// <summary>One producer, one partition, each record awaited before the next: the latency-bound rate.</summary>
    public async Task<RunResult> OneAtATimeAsync(IGrainFactory grains, string path, long records, int repetition, ProducerOptions? options = null)
    {
        var (topic, clients) = await PrepareAsync(grains, path, 1, 1, repetition, options);
        var producer = clients[0];
        var partition = new TopicPartition(topic, 0);
        var message = new Message(null, Value);
        var latencies = new double[records];
        await WaitForQuietAsync();
        var before = await SampleAsync(grains, topic, 1);
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < records; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await producer.ProduceAsync(partition, message);
            latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        stopwatch.Stop();
        var after = await SampleAsync(grains, topic, 1);
        Array.Sort(latencies);
        return Result(repetition, records, stopwatch.Elapsed.TotalSeconds, before, after, 1, 1, latencies);
    }

    /// <summary>
    /// One producer, one partition, open loop: a record every 1/<paramref name="rate"/> s, each <c>ProduceAsync</c> issued on
    /// time whether or not the previous one was acknowledged (independent callers, e.g. requests of a web app). Latency
    /// per record from the call to its acknowledgement; records per append show what batching the rate allows.
    /// </summary>
    public async Task<RunResult> PacedAsync(IGrainFactory grains, string path, int rate, long records, int repetition, ProducerOptions? options = null)
    {
        var (topic, clients) = await PrepareAsync(grains, path, 1, 1, repetition, options);
        var producer = clients[0];
        var partition = new TopicPartition(topic, 0);
        var message = new Message(null, Value);
        var latencies = new double[records];
        var interval = TimeSpan.FromSeconds(1.0 / rate);
        await WaitForQuietAsync();
        var before = await SampleAsync(grains, topic, 1);
        var sends = new Task[records];
        var stopwatch = Stopwatch.StartNew();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < records; i++)
        {
            await Peer.Pacer.WaitUntilAsync(start, interval * i);
            var index = i;
            var started = Stopwatch.GetTimestamp();
            sends[i] = producer.ProduceAsync(partition, message).ContinueWith(
                _ => latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds, TaskContinuationOptions.ExecuteSynchronously);
        }
        await Task.WhenAll(sends);
        stopwatch.Stop();
        var after = await SampleAsync(grains, topic, 1);
        Array.Sort(latencies);
        return Result(repetition, records, stopwatch.Elapsed.TotalSeconds, before, after, 1, 1, latencies);
    }

    private async Task<(string Topic, List<Producer> Producers)> PrepareAsync(
        IGrainFactory grains, string path, int partitions, int producers, int repetition, ProducerOptions? options)
    {
        var topic = $"{cluster.Storage.ToString().ToLowerInvariant()}-{path.Replace(' ', '-').Replace(",", "")}-{partitions}p-{producers}n-r{repetition}-{Guid.NewGuid().ToString("N")[..8]}";
        await cluster.Admin.CreateTopicAsync(topic, partitions);
        var clients = Enumerable.Range(0, producers).Select(_ => new Producer(grains, options)).ToList();
        // Activate every partition and let each producer load the topic and its producer id before the clock starts.
        foreach (var producer in clients)
        {
            await Task.WhenAll(Enumerable.Range(0, partitions).Select(p => producer.ProduceAsync(new TopicPartition(topic, p), new Message(null, Value))));
        }
        return (topic, clients);
    }

    private async Task WaitForQuietAsync()
    {
        var waited = Stopwatch.StartNew();
        while (waited.Elapsed < QuietWaitPerRun && _quietBudget > TimeSpan.Zero)
        {
            var machine = MachineCpu.Read();
            var own = Process.GetCurrentProcess().TotalProcessorTime + AzuriteCpu();
            await Task.Delay(500);
            var others = MachineCpu.OthersPercent(machine, MachineCpu.Read(),
                (Process.GetCurrentProcess().TotalProcessorTime + AzuriteCpu() - own).TotalSeconds, 0.5);
            if (others < QuietThresholdPercent)
            {
                break;
            }
            _quietBudget -= TimeSpan.FromMilliseconds(500);
        }
        if (waited.Elapsed > TimeSpan.FromSeconds(1))
        {
            say($"  waited {waited.Elapsed.TotalSeconds:N0} s for other processes to leave the CPU");
        }
    }

    private static async Task DriveAsync(Producer producer, string topic, long records)
    {
        var message = new Message(null, Value);
        var outstanding = new Queue<Task<DeliveryResult>>(Window);
        for (var i = 0L; i < records; i++)
        {
            if (outstanding.Count >= Window)
            {
                await outstanding.Dequeue();
            }
            outstanding.Enqueue(producer.ProduceAsync(topic, message));
        }
        while (outstanding.Count > 0)
        {
            await outstanding.Dequeue();
        }
    }

    private static async Task DriveBatchesAsync(Producer producer, string topic, long records, int batchSize)
    {
        var batch = Enumerable.Repeat(new Message(null, Value), batchSize).ToList();
        var outstanding = new Queue<Task>();
        for (var sent = 0L; sent < records; sent += batchSize)
        {
            if (outstanding.Count >= Window / batchSize)
            {
                await outstanding.Dequeue();
            }
            var size = (int)Math.Min(batchSize, records - sent);
            outstanding.Enqueue(producer.ProduceBatchAsync(topic, size == batchSize ? batch : batch.GetRange(0, size)));
        }
        while (outstanding.Count > 0)
        {
            await outstanding.Dequeue();
        }
    }

    private async Task<Sample> SampleAsync(IGrainFactory grains, string topic, int partitions)
    {
        var stats = await Task.WhenAll(Enumerable.Range(0, partitions).Select(p =>
            grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(topic, p))).GetStats()));
        // Let the timing continuations of the last calls land before reading the timers.
        await Task.Delay(20);
        using var process = Process.GetCurrentProcess();
        return new Sample(
            stats.Sum(s => s.StorageAppends),
            stats.Sum(s => s.RecordsAppended),
            cluster.Timers.ClientAppend.Read(),
            cluster.Timers.StorageAppend.Read(),
            process.TotalProcessorTime,
            MachineCpu.Read(),
            AzuriteCpu(),
            GC.GetTotalAllocatedBytes(precise: false),
            GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
    }

    private RunResult Result(int repetition, long records, double seconds, Sample before, Sample after, int partitions, int senders, double[]? sortedLatencies)
    {
        var appends = after.StorageAppends - before.StorageAppends;
        var appended = after.RecordsAppended - before.RecordsAppended;
        if (appended != records)
        {
            say($"  warning: the partitions counted {appended} records appended, the producers sent {records}");
        }
        var calls = after.Calls - before.Calls;
        var storage = after.Storage - before.Storage;
        var cpu = (after.Cpu - before.Cpu).TotalSeconds;
        return new RunResult(
            repetition, records, seconds,
            RecordsPerSecond: records / seconds,
            MBPerSecond: records * (double)ValueBytes / seconds / 1e6,
            StorageAppends: appends,
            RecordsPerAppend: appends == 0 ? 0 : (double)appended / appends,
            AppendsPerSecond: appends / seconds,
            AppendCalls: calls.Calls,
            RecordsPerCall: calls.Calls == 0 ? 0 : (double)calls.Items / calls.Calls,
            MeanCallMs: calls.MeanMs,
            MeanStorageAppendMs: storage.MeanMs,
            StorageBusyPerPartition: storage.TotalSeconds / seconds / partitions,
            CallBusyPerSender: calls.TotalSeconds / seconds / senders,
            CpuPercentOfMachine: cpu / seconds / Environment.ProcessorCount * 100,
            CpuMicrosecondsPerRecord: cpu * 1e6 / records,
            AzuriteCpuPercent: (after.Azurite - before.Azurite).TotalSeconds / seconds / Environment.ProcessorCount * 100,
            OtherProcessesCpuPercent: MachineCpu.OthersPercent(before.Machine, after.Machine, cpu + (after.Azurite - before.Azurite).TotalSeconds, seconds),
            AllocatedBytesPerRecord: (double)(after.Allocated - before.Allocated) / records,
            Gen0: after.Gen0 - before.Gen0, Gen1: after.Gen1 - before.Gen1, Gen2: after.Gen2 - before.Gen2,
            P50Ms: sortedLatencies is null ? null : Percentile(sortedLatencies, 0.50),
            P99Ms: sortedLatencies is null ? null : Percentile(sortedLatencies, 0.99),
            MaxMs: sortedLatencies is null ? null : sortedLatencies[^1]);
    }

    private static double Percentile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    /// <summary>CPU cost of encoding (client) and validating (partition) batches of <paramref name="recordsPerBatch"/> records, one thread.</summary>
    public static CodecResult MeasureCodec(int recordsPerBatch)
    {
        var records = Enumerable.Range(0, recordsPerBatch).Select(i => new ProducerRecord(null, Value, null, 1_700_000_000_000 + i)).ToList();
        var batch = RecordBatch.Encode(0, records);
        var encode = Repeat(() => RecordBatch.Encode(0, records));
        var validate = Repeat(() => RecordBatch.Validate(batch));
        return new CodecResult(recordsPerBatch, ValueBytes, encode * 1e9 / recordsPerBatch, validate * 1e9 / recordsPerBatch);

        // Best of five 200 ms windows after a 500 ms warm-up: the cost once the JIT has settled, free of GC noise.
        static double Repeat(Action action)
        {
            var best = double.MaxValue;
            for (var window = -1; window < 5; window++)
            {
                var n = 0;
                var stopwatch = Stopwatch.StartNew();
                while (stopwatch.ElapsedMilliseconds < (window < 0 ? 500 : 200))
                {
                    action();
                    n++;
                }
                if (window >= 0)
                {
                    best = Math.Min(best, stopwatch.Elapsed.TotalSeconds / n);
                }
            }
            return best;
        }
    }

    private static byte[] MakeValue()
    {
        var value = new byte[ValueBytes];
        new Random(42).NextBytes(value);
        return value;
    }

    /// <summary>
    /// The machine's CPU counters (<c>/proc/stat</c>), to tell how much of the machine other processes used during a
    /// run: on a shared 2-core box a concurrent build halves the figures, and the results should say so.
    /// </summary>
    private readonly record struct MachineCpu(long Busy, long Total)
    {
        public static MachineCpu Read()
        {
            try
            {
                var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Skip(1).Select(long.Parse).ToArray();
                // user nice system idle iowait irq softirq steal
                var idle = fields[3] + fields[4];
                var total = fields.Take(8).Sum();
                return new MachineCpu(total - idle, total);
            }
            catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or InvalidOperationException)
            {
                return default;
            }
        }

        /// <summary>CPU used by everything but this process, in % of the machine (-1 when unknown).</summary>
        public static double OthersPercent(MachineCpu before, MachineCpu after, double ownCpuSeconds, double seconds)
        {
            var total = after.Total - before.Total;
            if (total <= 0 || seconds <= 0)
            {
                return -1;
            }
            var ticksPerSecond = total / (seconds * Environment.ProcessorCount);
            var others = (after.Busy - before.Busy) - ownCpuSeconds * ticksPerSecond;
            return Math.Max(0, others / total * 100);
        }
    }

    private sealed record Sample(
        long StorageAppends, long RecordsAppended, CallTimer.Snapshot Calls, CallTimer.Snapshot Storage,
        TimeSpan Cpu, MachineCpu Machine, TimeSpan Azurite, long Allocated, int Gen0, int Gen1, int Gen2);

    private TimeSpan AzuriteCpu()
    {
        if (azuritePid is not { } pid)
        {
            return TimeSpan.Zero;
        }
        try
        {
            using var azurite = Process.GetProcessById(pid);
            return azurite.TotalProcessorTime;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }
}
