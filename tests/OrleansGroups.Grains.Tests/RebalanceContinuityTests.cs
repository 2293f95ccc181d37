using System.Diagnostics;
using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;
using Xunit.Abstractions;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// KIP-848's promise, end to end: when a member joins, only the partitions that move pause; members whose partitions
/// stay keep receiving records throughout, and the group still delivers every record exactly once.
/// </summary>
public abstract class RebalanceContinuityTests(ClusterFixture fixture, ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Longest silence allowed on a partition that does not move: records arrive every 20 ms.</summary>
    private static readonly TimeSpan MaxGapOnKeptPartition = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private const int Partitions = 6;

    private readonly List<Consumer> _consumers = [];
    private readonly CancellationTokenSource _stop = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _stop.Cancel();
        foreach (var consumer in _consumers)
        {
            await consumer.CloseAsync();
        }
    }

    private sealed record Delivery(int Consumer, int Partition, long Offset, TimeSpan At);

    [Fact]
    public async Task MembersWhosePartitionsStay_KeepReceivingThroughARebalance_AndNothingIsDeliveredTwice()
    {
        var topic = $"t-{Guid.NewGuid():N}"[..24];
        var group = $"g-{Guid.NewGuid():N}"[..24];
        await fixture.Groups.Admin.CreateTopicAsync(topic, Partitions);
        var clock = Stopwatch.StartNew();
        var deliveries = new List<Delivery>();
        var revoked = new List<(int Consumer, TopicPartition Partition)>();
        var loops = new List<Task>();

        void Start(int index)
        {
            var consumer = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group) with { ClientId = $"c{index}" });
            _consumers.Add(consumer);
            consumer.PartitionsRevoked += partitions =>
            {
                lock (revoked)
                {
                    revoked.AddRange(partitions.Select(p => (index, p)));
                }
            };
            consumer.Subscribe(topic);
            loops.Add(Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    if (await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(50)) is { } record)
                    {
                        lock (deliveries)
                        {
                            deliveries.Add(new Delivery(index, record.Partition, record.Offset, clock.Elapsed));
                        }
                    }
                }
            }));
        }

        // A producer appends one record to every partition every 20 ms until told to stop.
        var produced = 0L;
        var stopProducing = new CancellationTokenSource();
        var producer = fixture.Groups.CreateProducer();
        var production = Task.Run(async () =>
        {
            for (var i = 0; !stopProducing.IsCancellationRequested; i++)
            {
                await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p =>
                    producer.ProduceAsync(new TopicPartition(topic, p), Message.FromStrings(null, $"{p}-{i}"))));
                Interlocked.Add(ref produced, Partitions);
                await Task.Delay(20);
            }
        });

        for (var i = 0; i < 3; i++)
        {
            Start(i);
        }
        await WaitForAsync(group, [2, 2, 2]);
        await Task.Delay(500); // steady state before the change
        var before = _consumers.Select(c => c.Assignment.ToHashSet()).ToList();

        var joinedAt = clock.Elapsed;
        Start(3);
        await WaitForAsync(group, [1, 1, 2, 2]);
        var stableAt = clock.Elapsed;
        await Task.Delay(500); // steady state after the change

        stopProducing.Cancel();
        await production;
        await Wait.UntilAsync(() => { lock (deliveries) { return deliveries.Count >= Interlocked.Read(ref produced); } },
            Deadline, $"all {Interlocked.Read(ref produced)} records delivered");
        _stop.Cancel();
        await Task.WhenAll(loops);

        // 1. Exactly once within the group: the revoking member committed what it handed out, the new owner started there.
        var byRecord = deliveries.GroupBy(d => (d.Partition, d.Offset)).ToList();
        Assert.Empty(byRecord.Where(g => g.Count() > 1).Select(g => $"{g.Key} delivered to {string.Join(" and ", g.Select(d => d.Consumer))}"));
        Assert.Equal(Interlocked.Read(ref produced), byRecord.Count);

        // 2. The join moved one partition: 6 over 4 members is 2/2/1/1, so the newcomer takes one partition from one of
        //    the three, and the sticky assignor moves no more.
        var after = _consumers.Select(c => c.Assignment.ToHashSet()).ToList();
        var kept = Enumerable.Range(0, 3).SelectMany(c => before[c].Intersect(after[c]).Select(p => (Consumer: c, p.Partition))).ToList();
        Assert.Equal(5, kept.Count);

        // 3. A kept partition was never revoked and never went quiet: no gap longer than a few hundred ms around the rebalance.
        var window = (From: joinedAt - TimeSpan.FromMilliseconds(300), To: stableAt + TimeSpan.FromMilliseconds(300));
        foreach (var (consumer, partition) in kept)
        {
            Assert.DoesNotContain((consumer, new TopicPartition(topic, partition)), revoked);
            var times = deliveries.Where(d => d.Partition == partition && d.At >= window.From && d.At <= window.To)
                .Select(d => d.At).Order().Prepend(window.From).Append(window.To).ToList();
            Assert.All(deliveries.Where(d => d.Partition == partition && d.At >= window.From), d => Assert.Equal(consumer, d.Consumer));
            var gap = times.Zip(times.Skip(1), (a, b) => b - a).Max();
            output.WriteLine($"kept partition {partition} (consumer c{consumer}): longest gap {gap.TotalMilliseconds:0} ms");
            Assert.True(gap <= MaxGapOnKeptPartition, $"partition {partition}, kept by c{consumer}, went {gap.TotalMilliseconds:0} ms without a record");
        }
        foreach (var partition in Enumerable.Range(0, Partitions).Except(kept.Select(k => k.Partition)))
        {
            var times = deliveries.Where(d => d.Partition == partition && d.At >= window.From).Select(d => d.At).Order().Prepend(window.From).ToList();
            output.WriteLine($"moved partition {partition}: longest gap {times.Zip(times.Skip(1), (a, b) => b - a).Max().TotalMilliseconds:0} ms");
        }
        output.WriteLine($"rebalance: {(stableAt - joinedAt).TotalMilliseconds:0} ms from join to stable; {byRecord.Count} records");
    }

    private async Task WaitForAsync(string group, int[] sizes)
    {
        await Wait.UntilAsync(async () =>
        {
            var owned = _consumers.Select(c => c.Assignment).ToList();
            if (!owned.Select(o => o.Count).Order().SequenceEqual(sizes) || owned.SelectMany(o => o).Distinct().Count() != Partitions)
            {
                return false;
            }
            return (await fixture.Groups.Admin.DescribeGroupAsync(group)).Group.State == GroupState.Stable;
        }, Deadline, $"a stable {string.Join("/", sizes)} assignment");
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryRebalanceContinuityTests(MemoryClusterFixture fixture, ITestOutputHelper output) : RebalanceContinuityTests(fixture, output);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteRebalanceContinuityTests(AzuriteClusterFixture fixture, ITestOutputHelper output) : RebalanceContinuityTests(fixture, output);
