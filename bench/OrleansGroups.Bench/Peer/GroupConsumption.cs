using System.Diagnostics;
using OrleansGroups.Client;

namespace OrleansGroups.Bench.Peer;

/// <summary>
/// One timed run of a group's consumers until they have every record: each record must arrive once, by
/// (partition, offset) and by the sequence number in its value (probe records, sequence -1, are not counted).
/// </summary>
internal sealed class GroupConsumption
{
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private readonly long _records;
    private readonly int[][] _offsets;
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _watch = new();
    private long _offsetDuplicates;
    private long _firstRecordTicks = -1;

    private GroupConsumption(long records, int partitions)
    {
        _records = records;
        _offsets = Enumerable.Range(0, partitions).Select(_ => new int[records + 2]).ToArray();
        Seen = new SeenSet(records);
    }

    public SeenSet Seen { get; }

    /// <summary>Records seen more than once, by sequence number or by (partition, offset).</summary>
    public long Duplicates => Seen.Duplicates + Interlocked.Read(ref _offsetDuplicates);

    /// <summary>When the first record arrived, from the start of the clock.</summary>
    public double FirstRecordSeconds => TimeSpan.FromTicks(Math.Max(0, Interlocked.Read(ref _firstRecordTicks))).TotalSeconds;

    /// <summary>From the start of the clock until the group had every record (or the deadline).</summary>
    public double Seconds => _watch.Elapsed.TotalSeconds;

    /// <summary>When <c>produce</c> had finished, from the start of the clock (0 without one).</summary>
    public double ProducedSeconds { get; private set; }

    /// <summary>This process's share of the machine while the clock ran.</summary>
    public double ProcessCpuPercentOfMachine { get; private set; }

    /// <summary>
    /// Starts the clock, subscribes the consumers to <paramref name="subscribeTo"/> when given (so joining the group
    /// is timed), and consumes until every record is in or 120 s have passed; <paramref name="produce"/>, when given,
    /// runs once the consumers are polling. Closes the consumers.
    /// </summary>
    public static async Task<GroupConsumption> RunAsync(
        IReadOnlyList<Consumer> consumers, long records, int partitions, string? subscribeTo = null, Func<Task>? produce = null)
    {
        var run = new GroupConsumption(records, partitions);
        using var stop = new CancellationTokenSource();
        var cpu = new CpuMeter();
        run._watch.Start();
        if (subscribeTo is not null)
        {
            foreach (var consumer in consumers)
            {
                consumer.Subscribe(subscribeTo);
            }
        }
        var loops = consumers.Select(c => Task.Run(() => run.ConsumeLoopAsync(c, stop.Token))).ToList();
        if (produce is not null)
        {
            await produce();
            run.ProducedSeconds = run._watch.Elapsed.TotalSeconds;
        }
        await Task.WhenAny(run._done.Task, Task.Delay(Deadline));
        run._watch.Stop();
        (run.ProcessCpuPercentOfMachine, _) = cpu.Percent();
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        await Task.WhenAll(consumers.Select(c => c.CloseAsync()));
        return run;
    }

    private async Task ConsumeLoopAsync(Consumer consumer, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var result = await consumer.ConsumeAsync(PollTimeout);
            if (result?.Value is not { } value)
            {
                continue;
            }
            Interlocked.CompareExchange(ref _firstRecordTicks, _watch.Elapsed.Ticks, -1);
            if (result.Offset < _offsets[result.Partition].Length && Interlocked.Increment(ref _offsets[result.Partition][result.Offset]) > 1)
            {
                Interlocked.Increment(ref _offsetDuplicates);
            }
            var sequence = PeerValue.Sequence(value);
            if (sequence >= 0 && Seen.Mark(sequence) == _records)
            {
                _done.TrySetResult();
            }
        }
    }
}
