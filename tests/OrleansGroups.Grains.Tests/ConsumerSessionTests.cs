using OrleansGroups.Client;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// The per-member consumer grain: prefetch woken by the partitions' notification streams (memory streams on the
/// memory cluster, Azure Queue streams on the Azurite one), seeks, typed errors, release.
/// </summary>
public abstract class ConsumerSessionTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{
    private const int MaxBytes = 1 << 20;

    private async Task<TopicPartition> PartitionWithRecordsAsync(int records)
    {
        var topic = NewName("session");
        await Admin.CreateTopicAsync(topic, 1);
        if (records > 0)
        {
            await using var producer = Fixture.Groups.CreateProducer();
            await producer.ProduceBatchAsync(topic, [.. Enumerable.Range(0, records).Select(i => Message.FromStrings(null, $"r{i}"))], 0);
        }
        return new TopicPartition(topic, 0);
    }

    private IConsumerGrain NewSession() => Fixture.Cluster.Client.GetGrain<IConsumerGrain>(GrainKeys.Consumer(NewName("g"), Guid.NewGuid().ToString("N")));

    private static List<long> Offsets(FetchResult result, long from) =>
        [.. RecordBatch.Decode(result.Batches).Select(r => r.Offset).Where(o => o >= from)];

    [Fact]
    public async Task Fetch_AnswersFromThePrefetchBuffer_InOrder()
    {
        var partition = await PartitionWithRecordsAsync(50);
        var session = NewSession();

        var read = new List<long>();
        while (read.Count < 50)
        {
            read.AddRange(Offsets(await session.Fetch(partition, read.Count, 4096, 2000), read.Count));
        }

        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), read);
        var stats = await session.GetStats();
        Assert.Equal(1, stats.Partitions);
        Assert.True(stats.PartitionFetches >= 1);
        await session.Close();
    }

    [Fact]
    public async Task AWaitingFetch_IsWokenByTheNotificationOfANewAppend()
    {
        var partition = await PartitionWithRecordsAsync(1);
        var session = NewSession();
        Assert.Equal([0L], Offsets(await session.Fetch(partition, 0, MaxBytes, 2000), 0));

        // Appends are announced only while someone fetched recently; the fetch above did.
        var waiting = session.Fetch(partition, 1, MaxBytes, 15_000);
        await using var producer = Fixture.Groups.CreateProducer();
        await producer.ProduceAsync(partition, Message.FromStrings(null, "new"));

        Assert.Equal([1L], Offsets(await waiting, 1));
        await Wait.UntilAsync(async () => (await session.GetStats()).NotificationsReceived > 0, Deadline, "a notification reached the session");
        await session.Close();
    }

    [Fact]
    public async Task FetchingAnotherOffset_SeeksTheSession()
    {
        var partition = await PartitionWithRecordsAsync(30);
        var session = NewSession();
        Assert.Equal(0, Offsets(await session.Fetch(partition, 0, MaxBytes, 2000), 0)[0]);

        var forward = Offsets(await session.Fetch(partition, 20, MaxBytes, 2000), 20);
        var back = new List<long>();
        while (back.Count == 0)
        {
            back = Offsets(await session.Fetch(partition, 5, MaxBytes, 2000), 5);
        }

        Assert.Equal(20, forward[0]);
        Assert.Equal(5, back[0]);
        await session.Close();
    }

    [Fact]
    public async Task AnOffsetOutsideTheLog_IsOffsetOutOfRange_AndTheSessionRecoversAtAValidOne()
    {
        var partition = await PartitionWithRecordsAsync(3);
        var session = NewSession();

        var error = await Assert.ThrowsAsync<OffsetOutOfRangeException>(() => session.Fetch(partition, 100, MaxBytes, 5000));
        Assert.Equal(3, error.HighWatermark);

        var records = new List<long>();
        while (records.Count == 0)
        {
            records = Offsets(await session.Fetch(partition, 1, MaxBytes, 2000), 1);
        }
        Assert.Equal([1L, 2L], records);
        await session.Close();
    }

    [Fact]
    public async Task AnUnknownTopic_IsUnknownTopic()
    {
        var session = NewSession();

        await Assert.ThrowsAsync<UnknownTopicException>(() => session.Fetch(new TopicPartition(NewName("missing"), 0), 0, MaxBytes, 5000));
    }

    [Fact]
    public async Task Release_DropsThePartitionAndItsBuffer()
    {
        var partition = await PartitionWithRecordsAsync(10);
        var session = NewSession();
        await session.Fetch(partition, 0, MaxBytes, 2000);

        await session.Release([partition]);

        var stats = await session.GetStats();
        Assert.Equal(0, stats.Partitions);
        Assert.Equal(0, stats.BufferedBytes);
        await session.Close();
    }

    [Fact]
    public async Task ClientConsumers_ReadThroughTheirSession_AndCloseIt()
    {
        var partition = await PartitionWithRecordsAsync(20);
        var group = NewName("g");
        var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
        Consumers.Add(consumer);
        consumer.Subscribe(partition.Topic);

        var read = new List<long>();
        while (read.Count < 20)
        {
            var record = await consumer.ConsumeAsync(Deadline) ?? throw new TimeoutException("no record");
            read.Add(record.Offset);
        }
        var session = Fixture.Cluster.Client.GetGrain<IConsumerGrain>(GrainKeys.Consumer(group, consumer.MemberId));
        var stats = await session.GetStats();

        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), read);
        Assert.Equal(1, stats.Partitions);
        Assert.True(stats.PartitionFetches >= 1);
        await consumer.CloseAsync();
        Assert.Equal(0, (await session.GetStats()).Partitions);
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryConsumerSessionTests(MemoryClusterFixture fixture) : ConsumerSessionTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteConsumerSessionTests(AzuriteClusterFixture fixture) : ConsumerSessionTests(fixture);
