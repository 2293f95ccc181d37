using System.Collections.Concurrent;
using System.Diagnostics;
using OrleansGroups.Client;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;
using Xunit.Abstractions;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// Issue 7, graceful degradation: one misbehaving reader must not hurt anyone else. A group that reads slowly or not
/// at all slows neither the producer nor another group of the same topic; a poison record that crashes its consumer
/// over and over wedges neither its partition for other groups nor the other partitions of its own group.
/// </summary>
/// <remarks>
/// Timing bounds are relative to a baseline measured in the same test on the same cluster, and generous (3x plus
/// slack): the machine is shared, so only a real interference (a reader holding up appends or another group's
/// fetches) makes them fail.
/// </remarks>
public abstract class DegradationTests(ClusterFixture fixture, ITestOutputHelper output) : ClusterTestBase(fixture)
{
    private const int Partitions = 4;
    private const int Records = 2000;
    private const int BatchSize = 50;
    private static readonly TimeSpan BatchPause = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan LongDeadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task SlowAndStalledGroups_SlowNeitherTheProducerNorAFastGroup()
    {
        // 1. Baseline: a topic read by one fast group only, after a warm-up run (first calls pay for compilation and
        // connections, which would make the baseline look slow and the bound loose).
        await ProduceWhileAFastGroupReadsAsync(NewName("warm"), setUp: _ => Task.CompletedTask, records: Records / 4);
        var baseline = await ProduceWhileAFastGroupReadsAsync(NewName("base"), setUp: _ => Task.CompletedTask);

        // 2. The same with two more groups on the topic: one reads a record every 100 ms, one never polls after joining
        // (still a live member: it heartbeats, so its partitions stay assigned to it and unread).
        var slowRead = 0;
        var stalledRead = 0;
        using var stopSlow = new CancellationTokenSource();
        var slowLoop = Task.CompletedTask;
        Consumer? slow = null, stalled = null;
        var loaded = await ProduceWhileAFastGroupReadsAsync(NewName("load"), async topic =>
        {
            // Small prefetch buffers: these members stop fetching almost at once and stay stopped.
            slow = Join(NewName("slow"), topic, maxBufferedBytes: 1024);
            stalled = Join(NewName("stalled"), topic, maxBufferedBytes: 1024);
            await Wait.UntilAsync(() => slow.Assignment.Count == Partitions && stalled.Assignment.Count == Partitions,
                Deadline, "the slow and the stalled member own every partition");
            slowLoop = Task.Run(async () =>
            {
                while (!stopSlow.IsCancellationRequested && await slow.ConsumeAsync(TimeSpan.FromSeconds(1)) is not null)
                {
                    Interlocked.Increment(ref slowRead);
                    await Task.Delay(100);
                }
            });
            // The stalled member polls once (the topic is still empty), then never again.
            if (await stalled.ConsumeAsync(TimeSpan.FromMilliseconds(200)) is not null)
            {
                Interlocked.Increment(ref stalledRead);
            }
        });
        var slowAtTheEnd = Volatile.Read(ref slowRead);
        // Still members owning every partition: they were a load on the topic throughout, not evicted early on.
        var slowOwned = slow!.Assignment.Count;
        var stalledOwned = stalled!.Assignment.Count;
        await stopSlow.CancelAsync();
        await slowLoop.WaitAsync(Deadline);

        output.WriteLine($"baseline: produced in {baseline.Produce.TotalMilliseconds:0} ms, fast group done after {baseline.FastGroup.TotalMilliseconds:0} ms");
        output.WriteLine($"with a slow and a stalled group: produced in {loaded.Produce.TotalMilliseconds:0} ms, fast group done after " +
            $"{loaded.FastGroup.TotalMilliseconds:0} ms; slow group read {slowAtTheEnd}, stalled group {Volatile.Read(ref stalledRead)}");
        Assert.True(loaded.Produce <= Generous(baseline.Produce),
            $"the producer took {loaded.Produce.TotalMilliseconds:0} ms beside slow groups, {baseline.Produce.TotalMilliseconds:0} ms without");
        Assert.True(loaded.FastGroup <= Generous(baseline.FastGroup),
            $"the fast group needed {loaded.FastGroup.TotalMilliseconds:0} ms beside slow groups, {baseline.FastGroup.TotalMilliseconds:0} ms without");
        Assert.Equal(Partitions, slowOwned);
        Assert.Equal(Partitions, stalledOwned);
        // The slow readers really were far behind while the others finished.
        Assert.True(slowAtTheEnd < Records / 4, $"the slow group read {slowAtTheEnd} of {Records}");
        Assert.True(Volatile.Read(ref stalledRead) < Records / 4, $"the stalled group read {stalledRead} of {Records}");
    }

    [Fact]
    public async Task PoisonRecord_CrashingItsConsumerAgainAndAgain_WedgesNoOtherPartitionOrGroup()
    {
        const int PoisonPartition = 1;
        const int PoisonOffset = 20;
        const int MinimumCrashes = 4;
        var topic = NewName("poison");
        var group = NewName("victim");
        await Admin.CreateTopicAsync(topic, Partitions);
        var producer = Fixture.Groups.CreateProducer();
        for (var p = 0; p < Partitions; p++)
        {
            await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 50)
                .Select(i => Message.FromStrings(p == PoisonPartition && i == PoisonOffset ? "poison" : "ok", $"first-{p}-{i}")).ToList(), p);
        }

        // The victim group: two members whose handler throws on the poison record. Each throw ends that member: half
        // the time it closes (leaves at once), half the time it crashes (evicted after its session timeout); a new
        // member replaces it and resumes from the committed offsets. A record is committed only once handled.
        var handled = new ConcurrentDictionary<(int Partition, long Offset), int>();
        var crashes = 0;
        using var stop = new CancellationTokenSource();
        var members = Enumerable.Range(0, 2).Select(slot => Task.Run(async () =>
        {
            for (var incarnation = 0; !stop.IsCancellationRequested; incarnation++)
            {
                var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group) with
                {
                    EnableAutoCommit = false,
                    ClientId = $"victim-{slot}-{incarnation}",
                });
                consumer.Subscribe(topic);
                var crashed = false;
                try
                {
                    while (!stop.IsCancellationRequested)
                    {
                        if (await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(100)) is not { } record)
                        {
                            continue;
                        }
                        if (record.KeyAsString == "poison")
                        {
                            throw new InvalidDataException($"poison at {record.Partition}@{record.Offset}");
                        }
                        handled.AddOrUpdate((record.Partition, record.Offset), 1, (_, n) => n + 1);
                        await consumer.CommitAsync([new TopicPartitionOffset(record.TopicPartition, record.Offset + 1)]);
                    }
                }
                catch (InvalidDataException)
                {
                    crashed = true;
                    Interlocked.Increment(ref crashes);
                }
                catch (Core.Errors.OrleansGroupsException)
                {
                    // Fenced by a rebalance while committing: this incarnation ends, the next resumes from the commits.
                }
                if (crashed && incarnation % 2 == 1)
                {
                    await consumer.AbandonAsync();
                }
                else
                {
                    await consumer.CloseAsync();
                }
            }
        })).ToList();

        // 1. The poison has struck repeatedly.
        await Wait.UntilAsync(() => Volatile.Read(ref crashes) >= MinimumCrashes, LongDeadline, $"{MinimumCrashes} poison crashes");

        // 2. Meanwhile the partition still takes writes, and an unaffected group reads every record of every partition.
        var second = new List<DeliveryResult>();
        for (var p = 0; p < Partitions; p++)
        {
            second.AddRange(await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 30)
                .Select(i => Message.FromStrings("ok", $"second-{p}-{i}")).ToList(), p));
        }
        var bystander = Join(NewName("bystander"), topic);
        var bystanderRead = new HashSet<(int, long)>();
        var bystanderDeadline = Stopwatch.StartNew();
        while (bystanderRead.Count < Partitions * 80 && bystanderDeadline.Elapsed < LongDeadline
            && await bystander.ConsumeAsync(LongDeadline - bystanderDeadline.Elapsed) is { } record)
        {
            bystanderRead.Add((record.Partition, record.Offset));
        }

        // 3. The victim group itself handles every record of the other partitions, old and new, and its poison
        // partition exactly up to the poison record.
        bool VictimCaughtUp() =>
            Enumerable.Range(0, Partitions).Where(p => p != PoisonPartition).All(p => Enumerable.Range(0, 80).All(o => handled.ContainsKey((p, o))))
            && Enumerable.Range(0, PoisonOffset).All(o => handled.ContainsKey((PoisonPartition, o)));
        await Wait.UntilAsync(VictimCaughtUp, LongDeadline, "the victim group handled every record it can handle");
        var crashesBeforeStop = Volatile.Read(ref crashes);
        stop.Cancel();
        await Task.WhenAll(members).WaitAsync(LongDeadline);
        var described = await Admin.DescribeGroupAsync(group);

        output.WriteLine($"{crashesBeforeStop} crashes; victim handled {handled.Count} records ({handled.Values.Sum()} times); " +
            $"bystander read {bystanderRead.Count}");
        Assert.Equal(Partitions * 80, bystanderRead.Count);
        Assert.Equal(Enumerable.Range(0, Partitions).SelectMany(p => Enumerable.Range(0, 80).Select(o => (p, (long)o))).Order(), bystanderRead.Order());
        Assert.Equal(Enumerable.Range(0, Partitions).Select(_ => 80L), second.GroupBy(d => d.Partition).OrderBy(g => g.Key).Select(g => g.Max(d => d.Offset) + 1));
        Assert.DoesNotContain(handled.Keys, k => k.Partition == PoisonPartition && k.Offset >= PoisonOffset);
        Assert.Equal(Partitions, described.Partitions.Count);
        Assert.All(described.Partitions, lag => Assert.Equal(
            lag.TopicPartition.Partition == PoisonPartition ? PoisonOffset : 80L, lag.CommittedOffset));
    }

    private sealed record Timings(TimeSpan Produce, TimeSpan FastGroup);

    /// <summary>
    /// Creates a topic, lets <paramref name="setUp"/> attach readers, then produces <paramref name="records"/> records in
    /// paced batches while a fast group of two members reads them; returns how long the produce calls took in all and
    /// when the fast group had read everything (from the first produce call).
    /// </summary>
    private async Task<Timings> ProduceWhileAFastGroupReadsAsync(string topic, Func<string, Task> setUp, int records = Records)
    {
        await Admin.CreateTopicAsync(topic, Partitions);
        var fastGroup = NewName("fast");
        var fast = new[] { Join(fastGroup, topic), Join(fastGroup, topic) };
        await Wait.UntilAsync(() => fast.Sum(c => c.Assignment.Count) == Partitions && fast.All(c => c.Assignment.Count > 0),
            Deadline, "the fast group owns every partition");
        await setUp(topic);

        var read = new ConcurrentDictionary<(int, long), byte>();
        using var stop = new CancellationTokenSource();
        var readers = fast.Select(consumer => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested && read.Count < records)
            {
                if (await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(100)) is { } record)
                {
                    read.TryAdd((record.Partition, record.Offset), 0);
                }
            }
        })).ToList();

        // Paced batches, so the slow readers are at work (or stalled) during the whole window; the producer's time is
        // the sum of its calls, without the pauses.
        var clock = Stopwatch.StartNew();
        var producing = TimeSpan.Zero;
        var producer = Fixture.Groups.CreateProducer();
        for (var b = 0; b < records / BatchSize; b++)
        {
            var call = Stopwatch.StartNew();
            await producer.ProduceBatchAsync(topic, Enumerable.Range(0, BatchSize)
                .Select(i => Message.FromStrings($"key-{i % 16}", $"record {b}/{i} {new string('x', 64)}")).ToList());
            producing += call.Elapsed;
            await Task.Delay(BatchPause);
        }
        await Wait.UntilAsync(() => read.Count >= records, LongDeadline, $"the fast group read all {records} records");
        var fastDone = clock.Elapsed;
        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.Equal(records, read.Count);
        return new(producing, fastDone);
    }

    /// <summary>Three times the baseline plus two seconds: room for a noisy machine, none for a reader that blocks others.</summary>
    private static TimeSpan Generous(TimeSpan baseline) => 3 * baseline + TimeSpan.FromSeconds(2);

    private Consumer Join(string group, string topic, long? maxBufferedBytes = null)
    {
        var options = ClusterFixture.FastConsumer(group);
        var consumer = Fixture.Groups.CreateConsumer(maxBufferedBytes is { } bytes ? options with { MaxBufferedBytesPerPartition = bytes } : options);
        Consumers.Add(consumer);
        consumer.Subscribe(topic);
        return consumer;
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryDegradationTests(MemoryClusterFixture fixture, ITestOutputHelper output) : DegradationTests(fixture, output);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteDegradationTests(AzuriteClusterFixture fixture, ITestOutputHelper output) : DegradationTests(fixture, output);
