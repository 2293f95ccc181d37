using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OrleansGroups.Client;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Bench.Peer;

/// <summary>
/// The same scenarios on OrleansGroups, through the client library (<see cref="Producer"/>, <see cref="Consumer"/>)
/// in an Orleans client connected to the in-process silo over loopback TCP.
/// </summary>
internal sealed class OrleansScenarios(BenchCluster cluster, Action<string> say)
{
    public const int Partitions = 8;
    public const int BatchSize = 1_000;
    private const int WindowBatches = 20;

    private IGrainFactory Grains => cluster.Client.Services.GetRequiredService<IGrainFactory>();

    private string NewTopic(string what) => $"peer-{cluster.Storage.ToString().ToLowerInvariant()}-{what}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>A fresh topic and a producer that has loaded its metadata and producer id (one record, sequence -1, per partition).</summary>
    private async Task<(string Topic, Producer Producer)> PrepareAsync(string what, int partitions)
    {
        var topic = NewTopic(what);
        await cluster.Admin.CreateTopicAsync(topic, partitions);
        var producer = new Producer(Grains);
        await Task.WhenAll(Enumerable.Range(0, partitions).Select(p => producer.ProduceAsync(new TopicPartition(topic, p), new Message(null, PeerValue.Make(-1)))));
        return (topic, producer);
    }

    /// <summary>
    /// <paramref name="records"/> records (sequence numbers from 0) in <c>ProduceBatchAsync</c> calls of
    /// <see cref="BatchSize"/>, up to 20 outstanding.
    /// </summary>
    internal static async Task ProduceBatchesAsync(Producer producer, string topic, long records)
    {
        var outstanding = new Queue<Task>();
        for (var sent = 0L; sent < records; sent += BatchSize)
        {
            if (outstanding.Count >= WindowBatches)
            {
                await outstanding.Dequeue();
            }
            var size = (int)Math.Min(BatchSize, records - sent);
            var batch = new List<Message>(size);
            for (var i = 0; i < size; i++)
            {
                batch.Add(new Message(null, PeerValue.Make(sent + i)));
            }
            outstanding.Enqueue(producer.ProduceBatchAsync(topic, batch));
        }
        while (outstanding.Count > 0)
        {
            await outstanding.Dequeue();
        }
    }

    /// <summary><c>ProduceBatchAsync</c> calls of <see cref="BatchSize"/> records, up to 20 outstanding, 8 partitions.</summary>
    public async Task<PeerRun> ProducePipelinedAsync(long records, int repetition)
    {
        var (topic, producer) = await PrepareAsync("produce", Partitions);
        var cpu = new CpuMeter();
        var watch = Stopwatch.StartNew();
        await ProduceBatchesAsync(producer, topic, records);
        watch.Stop();
        var (own, _) = cpu.Percent();
        await producer.DisposeAsync();
        return new PeerRun(repetition, records, watch.Elapsed.TotalSeconds, records / watch.Elapsed.TotalSeconds, null, null, null,
            0, 0, watch.Elapsed.TotalSeconds, 0, own, 0);
    }

    /// <summary>Each <c>ProduceAsync</c> awaited before the next, one partition (as one Redis stream).</summary>
    public async Task<PeerRun> ProduceOneAtATimeAsync(long records, int repetition)
    {
        var (topic, producer) = await PrepareAsync("one", 1);
        var partition = new TopicPartition(topic, 0);
        var message = new Message(null, PeerValue.Make(0));
        var latencies = new List<double>((int)records);
        var cpu = new CpuMeter();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < records; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await producer.ProduceAsync(partition, message);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        watch.Stop();
        var (own, _) = cpu.Percent();
        await producer.DisposeAsync();
        var (p50, p99, max) = Pacer.Percentiles(latencies);
        return new PeerRun(repetition, records, watch.Elapsed.TotalSeconds, records / watch.Elapsed.TotalSeconds, p50, p99, max,
            0, 0, watch.Elapsed.TotalSeconds, 0, own, 0);
    }

    /// <summary>Consumers of a new group (reading from the earliest offset), not subscribed yet.</summary>
    private List<Consumer> NewGroup(int consumers)
    {
        var group = $"group-{Guid.NewGuid().ToString("N")[..8]}";
        return [.. Enumerable.Range(0, consumers).Select(_ => new Consumer(Grains, new ConsumerOptions(group) { AutoOffsetReset = AutoOffsetReset.Earliest }))];
    }

    /// <summary>Consumers of one group, subscribed and owning their share of the partitions (waited for, untimed).</summary>
    private async Task<(List<Consumer> Consumers, double Seconds)> JoinAsync(string topic, int consumers)
    {
        var members = NewGroup(consumers);
        var watch = Stopwatch.StartNew();
        members.ForEach(m => m.Subscribe(topic));
        while (true)
        {
            var assignments = members.Select(m => m.Assignment).ToList();
            if (assignments.All(a => a.Count == Partitions / consumers) && assignments.SelectMany(a => a).Distinct().Count() == Partitions)
            {
                return (members, watch.Elapsed.TotalSeconds);
            }
            if (watch.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"the group of {consumers} did not settle in 60 s: {string.Join(" / ", assignments.Select(a => a.Count))}");
            }
            await Task.Delay(10);
        }
    }

    /// <summary>
    /// End to end: the group's consumers own their partitions (8 partitions, fetching an empty log) when one
    /// producer sends every record in batches; the clock runs from the first send until the group has consumed
    /// every record. Exactly once is checked by (partition, offset) and by the sequence number in each value.
    /// </summary>
    public async Task<PeerRun> EndToEndAsync(long records, int consumers, int repetition)
    {
        var (topic, producer) = await PrepareAsync("group", Partitions);
        var (members, joinSeconds) = await JoinAsync(topic, consumers);
        var run = await GroupConsumption.RunAsync(members, records, Partitions, produce: () => ProduceBatchesAsync(producer, topic, records));
        await producer.DisposeAsync();
        if (run.Seen.Missing > 0)
        {
            say($"  orleansgroups end-to-end x{consumers}: {run.Seen.Missing:N0} records missing after {run.Seconds:N1} s");
        }
        return new PeerRun(repetition, records, run.Seconds, run.Seen.Total / run.Seconds, null, null, null,
            run.Duplicates, run.Seen.Missing, run.ProducedSeconds, joinSeconds, run.ProcessCpuPercentOfMachine, 0);
    }

    /// <summary>
    /// Consume from a pre-filled topic (filled untimed, 8 partitions): the clock runs from the consumers'
    /// <c>Subscribe</c> (so it includes joining the group, which a Redis group does not need) until every record
    /// is consumed. SetupSeconds holds when the first record arrived.
    /// </summary>
    public async Task<PeerRun> ConsumePrefilledAsync(long records, int consumers, int repetition)
    {
        var (topic, producer) = await PrepareAsync("prefilled", Partitions);
        await ProduceBatchesAsync(producer, topic, records);
        await producer.DisposeAsync();
        var run = await GroupConsumption.RunAsync(NewGroup(consumers), records, Partitions, subscribeTo: topic);
        return new PeerRun(repetition, records, run.Seconds, run.Seen.Total / run.Seconds, null, null, null,
            run.Duplicates, run.Seen.Missing, 0, run.FirstRecordSeconds, run.ProcessCpuPercentOfMachine, 0);
    }

    /// <summary>One consumer (8 partitions), one record every <paramref name="interval"/> sent with an awaited <c>ProduceAsync</c>.</summary>
    public async Task<PeerRun> LatencyAsync(long records, TimeSpan interval, int repetition)
    {
        var (topic, producer) = await PrepareAsync("latency", Partitions);
        var (members, joinSeconds) = await JoinAsync(topic, 1);
        var consumer = members[0];
        var seen = new SeenSet(records);
        var latencies = new List<double>((int)records);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var result = await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(100));
                if (result?.Value is not { } value || PeerValue.Sequence(value) < 0)
                {
                    continue;
                }
                latencies.Add(PeerValue.AgeMs(value));
                if (seen.Mark(PeerValue.Sequence(value)) == records)
                {
                    done.TrySetResult();
                }
            }
        });
        await Task.Delay(200);
        var (seconds, own, _) = await LatencyClock.RunAsync(
            () => Pacer.SendEachAwaitedAsync(records, interval, value => producer.ProduceAsync(topic, new Message(null, value))), done.Task, stop, loop);
        await consumer.CloseAsync();
        await producer.DisposeAsync();
        var (p50, p99, max) = Pacer.Percentiles(latencies);
        return new PeerRun(repetition, records, seconds, seen.Total / seconds, p50, p99, max,
            seen.Duplicates, seen.Missing, 0, joinSeconds, own, 0);
    }
}
