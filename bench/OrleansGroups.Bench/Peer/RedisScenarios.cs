using System.Diagnostics;
using StackExchange.Redis;

namespace OrleansGroups.Bench.Peer;

/// <summary>
/// The peer's scenarios on Redis Streams (StackExchange.Redis): XADD pipelined and one at a time, a consumer group
/// reading with XREADGROUP COUNT 500 BLOCK 100 + XACK (each consumer on its own connection, since BLOCK holds it),
/// and the end-to-end latency at a low rate.
/// </summary>
internal sealed class RedisScenarios(LocalRedis redis) : IAsyncDisposable
{
    public const int ReadCount = 500;
    public const int PipelineBatch = 1_000;
    private const string Group = "g";
    private static readonly RedisValue Field = "v";
    private ConnectionMultiplexer? _producer;

    private async Task<IDatabase> ProducerAsync()
    {
        _producer ??= await ConnectAsync();
        return _producer.GetDatabase();
    }

    private Task<ConnectionMultiplexer> ConnectAsync() =>
        ConnectionMultiplexer.ConnectAsync(new ConfigurationOptions
        {
            EndPoints = { redis.Endpoint },
            AbortOnConnectFail = true,
            SyncTimeout = 30_000,
            AsyncTimeout = 30_000,
        });

    private static string NewKey(string what) => $"{what}-{Guid.NewGuid():N}";

    /// <summary>XADD in pipelined batches of <see cref="PipelineBatch"/> (all sent, then all awaited).</summary>
    public async Task<PeerRun> ProducePipelinedAsync(long records, int repetition)
    {
        var db = await ProducerAsync();
        var key = NewKey("produce");
        var values = Enumerable.Range(0, PipelineBatch).Select(i => (RedisValue)PeerValue.Make(i)).ToArray();
        var cpu = new CpuMeter(redis.CpuTime);
        var watch = Stopwatch.StartNew();
        await PipelineAsync(db, key, records);
        watch.Stop();
        var (own, peer) = cpu.Percent();
        var length = await db.StreamLengthAsync(key);
        await db.KeyDeleteAsync(key);
        return new PeerRun(repetition, records, watch.Elapsed.TotalSeconds, records / watch.Elapsed.TotalSeconds, null, null, null,
            0, records - length, watch.Elapsed.TotalSeconds, 0, own, peer);
    }

    private static async Task PipelineAsync(IDatabase db, string key, long records, long firstSequence = 0)
    {
        var tasks = new Task<RedisValue>[PipelineBatch];
        for (var sent = 0L; sent < records; sent += PipelineBatch)
        {
            var size = (int)Math.Min(PipelineBatch, records - sent);
            for (var i = 0; i < size; i++)
            {
                tasks[i] = db.StreamAddAsync(key, Field, PeerValue.Make(firstSequence + sent + i));
            }
            await Task.WhenAll(tasks.AsSpan(0, size).ToArray());
        }
    }

    /// <summary>Each XADD awaited before the next; latency per call.</summary>
    public async Task<PeerRun> ProduceOneAtATimeAsync(long records, int repetition)
    {
        var db = await ProducerAsync();
        var key = NewKey("one");
        var value = PeerValue.Make(0);
        var latencies = new List<double>((int)records);
        var cpu = new CpuMeter(redis.CpuTime);
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < records; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await db.StreamAddAsync(key, Field, value);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        watch.Stop();
        var (own, peer) = cpu.Percent();
        await db.KeyDeleteAsync(key);
        var (p50, p99, max) = Pacer.Percentiles(latencies);
        return new PeerRun(repetition, records, watch.Elapsed.TotalSeconds, records / watch.Elapsed.TotalSeconds, p50, p99, max,
            0, 0, watch.Elapsed.TotalSeconds, 0, own, peer);
    }

    /// <summary>
    /// End to end: the group's consumers are reading (blocked on an empty stream) when one producer XADDs every
    /// record pipelined; the clock runs from the first XADD until the group has read and acknowledged every record.
    /// </summary>
    public async Task<PeerRun> EndToEndAsync(long records, int consumers, int repetition)
    {
        var db = await ProducerAsync();
        var key = NewKey("group");
        await db.StreamCreateConsumerGroupAsync(key, Group, StreamPosition.NewMessages, createStream: true);
        return await ConsumeEveryRecordAsync(db, key, records, consumers, repetition, produce: () => PipelineAsync(db, key, records));
    }

    /// <summary>
    /// Consume from a pre-filled stream (filled untimed): the group is created at the start of the stream and the
    /// clock runs from the consumers' first XREADGROUP until every record is read and acknowledged.
    /// </summary>
    public async Task<PeerRun> ConsumePrefilledAsync(long records, int consumers, int repetition)
    {
        var db = await ProducerAsync();
        var key = NewKey("prefilled");
        await PipelineAsync(db, key, records);
        await db.StreamCreateConsumerGroupAsync(key, Group, StreamPosition.Beginning);
        return await ConsumeEveryRecordAsync(db, key, records, consumers, repetition, produce: null);
    }

    /// <summary>
    /// Starts the clock and the group's consumers (each on its own connection), runs <paramref name="produce"/> when
    /// given, and waits until the group has read every record or 120 s have passed. Records still pending (read, not
    /// acknowledged) count as missing. Deletes the stream.
    /// </summary>
    private async Task<PeerRun> ConsumeEveryRecordAsync(IDatabase db, string key, long records, int consumers, int repetition, Func<Task>? produce)
    {
        var connections = await Task.WhenAll(Enumerable.Range(0, consumers).Select(_ => ConnectAsync()));
        var seen = new SeenSet(records);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var cpu = new CpuMeter(redis.CpuTime);
        var watch = Stopwatch.StartNew();
        var loops = connections.Select((c, i) => Task.Run(() => ConsumeLoopAsync(c.GetDatabase(), key, $"c{i}", seen, records, done, null, stop.Token))).ToList();
        var produced = 0.0;
        if (produce is not null)
        {
            await produce();
            produced = watch.Elapsed.TotalSeconds;
        }
        await Task.WhenAny(done.Task, Task.Delay(TimeSpan.FromSeconds(120)));
        watch.Stop();
        var (own, peer) = cpu.Percent();
        await stop.CancelAsync();
        await Task.WhenAll(loops);
        var pending = await db.StreamPendingAsync(key, Group);
        foreach (var c in connections)
        {
            await c.DisposeAsync();
        }
        await db.KeyDeleteAsync(key);
        return new PeerRun(repetition, records, watch.Elapsed.TotalSeconds, seen.Total / watch.Elapsed.TotalSeconds, null, null, null,
            seen.Duplicates, seen.Missing + pending.PendingMessageCount, produced, 0, own, peer);
    }

    /// <summary>One consumer, one record every <paramref name="interval"/>, stamped when sent, measured when read.</summary>
    public async Task<PeerRun> LatencyAsync(long records, TimeSpan interval, int repetition)
    {
        var latencies = new List<double>((int)records);
        var run = await OneConsumerAsync(records, (_, age) =>
        {
            lock (latencies)
            {
                latencies.Add(age);
            }
        }, (db, key) => Pacer.SendEachAwaitedAsync(records, interval, value => db.StreamAddAsync(key, Field, value)));
        List<double> copy;
        lock (latencies)
        {
            copy = [.. latencies];
        }
        var (p50, p99, max) = Pacer.Percentiles(copy);
        return new PeerRun(repetition, records, run.Seconds, run.Seen.Total / run.Seconds, p50, p99, max,
            run.Seen.Duplicates, run.Seen.Missing, 0, 0, run.OwnCpu, run.RedisCpu);
    }

    /// <summary>
    /// One consumer (XREADGROUP BLOCK 100 on its own connection) and one producer sending a record every
    /// <paramref name="interval"/> (open loop), each XADD stamped just before it is sent; the first <paramref name="warmUp"/> records
    /// are not measured. Per measured record: send → XADD acknowledged, and send → read by the consumer.
    /// </summary>
    public async Task<(double[] AckMs, double[] DeliveryMs, long Duplicates, long Missing, double Seconds, double OwnCpu, double RedisCpu)> PacedLatencyAsync(
        long warmUp, long samples, TimeSpan interval)
    {
        var records = warmUp + samples;
        var ack = new double[samples];
        var delivery = new double[samples];
        var run = await OneConsumerAsync(records, (sequence, age) =>
        {
            if (sequence >= warmUp && sequence < records)
            {
                delivery[sequence - warmUp] = age;
            }
        }, (db, key) => Pacer.SendOpenLoopAsync(records, interval, warmUp, ack, value => db.StreamAddAsync(key, Field, value)));
        return (ack, delivery, run.Seen.Duplicates, run.Seen.Missing, run.Seconds, run.OwnCpu, run.RedisCpu);
    }

    /// <summary>
    /// A fresh stream read by one consumer on its own connection; once it is reading, the clock starts and
    /// <paramref name="send"/> runs, then the consumer has up to 30 s to read every record. Deletes the stream.
    /// </summary>
    /// <param name="onRecord">Called with each record's sequence number and age (ms since it was stamped) as it is read.</param>
    private async Task<(SeenSet Seen, double Seconds, double OwnCpu, double RedisCpu)> OneConsumerAsync(
        long records, Action<long, double> onRecord, Func<IDatabase, string, Task> send)
    {
        var db = await ProducerAsync();
        var key = NewKey("latency");
        await db.StreamCreateConsumerGroupAsync(key, Group, StreamPosition.NewMessages, createStream: true);
        var connection = await ConnectAsync();
        var seen = new SeenSet(records);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var loop = Task.Run(() => ConsumeLoopAsync(connection.GetDatabase(), key, "c0", seen, records, done, onRecord, stop.Token));
        await Task.Delay(200);
        var (seconds, own, peer) = await LatencyClock.RunAsync(() => send(db, key), done.Task, stop, loop, redis.CpuTime);
        await connection.DisposeAsync();
        await db.KeyDeleteAsync(key);
        return (seen, seconds, own, peer);
    }

    private static async Task ConsumeLoopAsync(
        IDatabase db, string key, string consumer, SeenSet seen, long records, TaskCompletionSource done, Action<long, double>? onLatency, CancellationToken stop)
    {
        var ids = new List<RedisValue>(ReadCount);
        while (!stop.IsCancellationRequested)
        {
            // StackExchange.Redis has no blocking XREADGROUP API; this connection is this consumer's alone.
            var result = await db.ExecuteAsync("XREADGROUP", "GROUP", Group, consumer, "COUNT", ReadCount, "BLOCK", 100, "STREAMS", key, ">");
            if (result.IsNull)
            {
                continue;
            }
            ids.Clear();
            var complete = false;
            // RESP3 answers a map (flattened: name, entries, ...); RESP2 an array of [name, entries].
            var top = (RedisResult[])result!;
            var streams = result.Resp3Type == ResultType.Map
                ? Enumerable.Range(0, top.Length / 2).Select(i => top[2 * i + 1])
                : top.Select(stream => ((RedisResult[])stream!)[1]);
            foreach (var entriesResult in streams)
            {
                var entries = (RedisResult[])entriesResult!;
                foreach (var entry in entries)
                {
                    var parts = (RedisResult[])entry!;
                    ids.Add((RedisValue)parts[0]);
                    var fields = (RedisResult[])parts[1]!;
                    var value = (byte[])fields[1]!;
                    onLatency?.Invoke(PeerValue.Sequence(value), PeerValue.AgeMs(value));
                    complete |= seen.Mark(PeerValue.Sequence(value)) == records;
                }
            }
            if (ids.Count > 0)
            {
                await db.StreamAcknowledgeAsync(key, Group, [.. ids]);
            }
            if (complete)
            {
                done.TrySetResult();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_producer is not null)
        {
            await _producer.DisposeAsync();
        }
    }
}
