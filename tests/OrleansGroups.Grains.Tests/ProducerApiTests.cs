using System.Collections.Concurrent;
using OrleansGroups.Client;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Grains.Tests;

/// <summary>The producer through <see cref="IProducer"/>, as Confluent.Kafka users expect it: delivery results, delivery handlers, flush and linger.</summary>
public abstract class ProducerApiTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{
    private async Task<string> TopicAsync(int partitions)
    {
        var topic = NewName("prod");
        await Admin.CreateTopicAsync(topic, partitions);
        return topic;
    }

    private async Task<long> StorageAppendsAsync(string topic) => (await Admin.GetPartitionStatsAsync(topic)).Sum(s => s.StorageAppends);

    [Fact]
    public async Task ProduceAsync_ReturnsPartitionOffsetAndTimestamp_AndKeysPickTheirPartition()
    {
        var topic = await TopicAsync(3);
        IProducer producer = Fixture.Groups.CreateProducer();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var explicitPartition = new List<DeliveryResult>();
        for (var i = 0; i < 3; i++)
        {
            explicitPartition.Add(await producer.ProduceAsync(new TopicPartition(topic, 1), Message.FromStrings(null, $"v{i}")));
        }
        var keyed = await producer.ProduceAsync(topic, Message.FromStrings("customer-42", "order"));
        var stamped = await producer.ProduceAsync(new TopicPartition(topic, 0), new Message(null, [1], Timestamp: DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000)));

        Assert.Equal([0L, 1L, 2L], explicitPartition.Select(r => r.Offset));
        Assert.All(explicitPartition, r => Assert.Equal(new TopicPartition(topic, 1), r.TopicPartition));
        Assert.All(explicitPartition, r => Assert.InRange(r.Timestamp, before, DateTimeOffset.UtcNow.AddSeconds(1)));
        Assert.Equal(OrleansGroups.Core.Log.Partitioner.ForKey("customer-42"u8.ToArray(), 3), keyed.Partition);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000), stamped.Timestamp);
        await producer.DisposeAsync();
    }

    [Fact]
    public async Task Produce_CallsTheDeliveryHandlerForEveryMessage_BeforeFlushReturns()
    {
        var topic = await TopicAsync(2);
        IProducer producer = Fixture.Groups.CreateProducer();
        var reports = new ConcurrentBag<DeliveryReport>();

        for (var i = 0; i < 50; i++)
        {
            producer.Produce(new TopicPartition(topic, i % 2), Message.FromStrings(null, $"v{i}"), reports.Add);
        }
        var stillInFlight = producer.Flush(Deadline);

        Assert.Equal(0, stillInFlight);
        Assert.Equal(50, reports.Count);
        Assert.All(reports, r => Assert.True(r.IsDelivered, r.Error?.Message));
        Assert.Equal(Enumerable.Range(0, 25).Select(i => (long)i), reports.Where(r => r.Partition == 0).Select(r => r.Offset).Order());
        Assert.Equal(Enumerable.Range(0, 25).Select(i => (long)i), reports.Where(r => r.Partition == 1).Select(r => r.Offset).Order());
        Assert.Equal([25L, 25L], (await Admin.DescribeTopicAsync(topic)).Partitions.Select(p => p.LogEndOffset));
        await producer.DisposeAsync();
    }

    [Fact]
    public async Task Produce_ToAMissingTopic_ReportsTheTypedError()
    {
        IProducer producer = Fixture.Groups.CreateProducer();
        var reported = new TaskCompletionSource<DeliveryReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        var missing = NewName("missing");

        producer.Produce(missing, Message.FromStrings("k", "v"), r => reported.TrySetResult(r));
        producer.Flush(CancellationToken.None);

        Assert.True(reported.Task.IsCompleted, "the handler ran before Flush returned");
        var report = await reported.Task;
        Assert.False(report.IsDelivered);
        Assert.IsType<UnknownTopicException>(report.Error);
        Assert.Equal((missing, -1, -1L), (report.Topic, report.Partition, report.Offset));
        await producer.DisposeAsync();
    }

    [Fact]
    public async Task FlushWithTimeout_ReturnsTheCountStillInFlight_AndZeroOnceAllAreDone()
    {
        var topic = await TopicAsync(1);
        IProducer producer = Fixture.Groups.CreateProducer();
        using var handlerMayReturn = new ManualResetEventSlim();
        var handled = 0;
        // A message counts as in flight until its delivery handler returns: a blocked handler keeps exactly one in flight.
        producer.Produce(topic, Message.FromStrings(null, "held"), _ =>
        {
            handlerMayReturn.Wait(Deadline);
            Interlocked.Increment(ref handled);
        });

        var whileHeld = producer.Flush(TimeSpan.FromMilliseconds(300));
        handlerMayReturn.Set();
        var afterRelease = producer.Flush(Deadline);

        Assert.Equal(1, whileHeld);
        Assert.Equal(0, afterRelease);
        Assert.Equal(1, handled);
        Assert.Equal(0, producer.Flush(TimeSpan.Zero));
        await producer.DisposeAsync();
    }

    [Fact]
    public async Task Flush_SendsALingeringBatchAtOnce_AsOneAppend()
    {
        var topic = await TopicAsync(1);
        var producer = Fixture.Groups.CreateProducer(new ProducerOptions { Linger = TimeSpan.FromMinutes(10) });
        // Load the topic's metadata first, so the 20 calls below reach the partition's queue before the flush starts.
        var warmUp = producer.ProduceAsync(topic, Message.FromStrings(null, "warm-up"));
        await producer.FlushAsync().WaitAsync(Deadline);
        await warmUp;
        var appendsBefore = await StorageAppendsAsync(topic);
        var sends = Enumerable.Range(0, 20).Select(i => producer.ProduceAsync(topic, Message.FromStrings(null, $"v{i}"))).ToList();

        await producer.FlushAsync().WaitAsync(Deadline);

        Assert.All(sends, s => Assert.True(s.IsCompletedSuccessfully));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), sends.Select(s => s.Result.Offset));
        Assert.Equal(1, await StorageAppendsAsync(topic) - appendsBefore);
        Assert.Equal(0, producer.InFlight);
    }

    [Fact]
    public async Task FullBatch_LeavesWithoutWaitingForTheLinger()
    {
        var topic = await TopicAsync(1);
        var producer = Fixture.Groups.CreateProducer(new ProducerOptions { Linger = TimeSpan.FromMinutes(10), BatchMaxMessages = 10 });

        var delivered = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => producer.ProduceAsync(topic, Message.FromStrings(null, $"v{i}"))))
            .WaitAsync(Deadline);

        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), delivered.Select(r => r.Offset));
        Assert.Equal(1, await StorageAppendsAsync(topic));
    }

    [Fact]
    public async Task Linger_GathersTrickledMessagesIntoFewAppends()
    {
        // 100 single-message calls, about a millisecond apart: far more than one append round trip apart on this
        // cluster, so without a linger most leave alone; with a generous linger they wait for each other.
        async Task<long> AppendsFor(TimeSpan linger)
        {
            var topic = await TopicAsync(1);
            var producer = Fixture.Groups.CreateProducer(new ProducerOptions { Linger = linger });
            await producer.ProduceAsync(topic, Message.FromStrings(null, "warm-up"));
            var appendsBefore = await StorageAppendsAsync(topic);
            var sends = new List<Task<DeliveryResult>>();
            for (var i = 0; i < 100; i++)
            {
                sends.Add(producer.ProduceAsync(topic, Message.FromStrings(null, $"v{i}")));
                await Task.Delay(1);
            }
            var delivered = await Task.WhenAll(sends).WaitAsync(Deadline);
            Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), delivered.Select(r => r.Offset));
            return await StorageAppendsAsync(topic) - appendsBefore;
        }

        var withLinger = await AppendsFor(TimeSpan.FromSeconds(2));
        var withoutLinger = await AppendsFor(TimeSpan.Zero);

        Assert.InRange(withLinger, 1, 3);
        Assert.True(withoutLinger > withLinger, $"without linger {withoutLinger} appends, with linger {withLinger}");
    }

    [Fact]
    public void NegativeLinger_IsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Fixture.Groups.CreateProducer(new ProducerOptions { Linger = TimeSpan.FromMilliseconds(-1) }));
        Assert.Equal(TimeSpan.Zero, new ProducerOptions().Linger);
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryProducerApiTests(MemoryClusterFixture fixture) : ProducerApiTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteProducerApiTests(AzuriteClusterFixture fixture) : ProducerApiTests(fixture);
