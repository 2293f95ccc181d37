using System.Text;
using OrleansGroups.Client;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using Record = OrleansGroups.Core.Log.Record;

namespace OrleansGroups.Grains.Tests;

/// <summary>Idempotent appends, offsets by timestamp, added partitions, retention and checkpointed recovery; on every storage kind.</summary>
public abstract class PartitionLogFeatureTests(ClusterFixture fixture)
{
    private AdminClient Admin => fixture.Groups.Admin;

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private IPartitionGrain Partition(string topic, int partition = 0) =>
        fixture.Cluster.Client.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(topic, partition)));

    private static byte[] Batch(long producerId, short epoch, int sequence, int count, long timestamp = 1_000) =>
        RecordBatch.Encode(0, Enumerable.Range(0, count).Select(i => new ProducerRecord(null, Encoding.UTF8.GetBytes($"{sequence + i}"), null, timestamp)).ToList(),
            producerId, epoch, sequence);

    /// <summary>Deactivates idle grains, so the next call recovers the partition from storage.</summary>
    private Task DeactivateAllAsync() =>
        fixture.Cluster.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    private async Task<List<Record>> ReadAllAsync(string topic, int partition = 0)
    {
        var grain = Partition(topic, partition);
        var marks = await grain.GetWatermarks();
        var records = new List<Record>();
        var offset = marks.LogStartOffset;
        while (offset < marks.HighWatermark)
        {
            var fetched = RecordBatch.Decode((await grain.Fetch(offset, 64 << 10, 0)).Batches).Where(r => r.Offset >= offset).ToList();
            Assert.NotEmpty(fetched);
            records.AddRange(fetched);
            offset = fetched[^1].Offset + 1;
        }
        return records;
    }

    [Fact]
    public async Task RetriedBatch_IsAppendedOnce_AndAnsweredWithItsOriginalOffsets()
    {
        var topic = NewName("idem");
        await Admin.CreateTopicAsync(topic, 1);
        var grain = Partition(topic);

        var first = await grain.Append(Batch(7, 0, 0, 3));
        var second = await grain.Append(Batch(7, 0, 3, 2));
        var retryOfFirst = await grain.Append(Batch(7, 0, 0, 3));
        var concurrent = await Task.WhenAll(grain.Append(Batch(7, 0, 5, 1)), grain.Append(Batch(7, 0, 5, 1)));

        Assert.Equal(first.BaseOffset, retryOfFirst.BaseOffset);
        Assert.Equal(3, second.BaseOffset);
        Assert.Equal(concurrent[0].BaseOffset, concurrent[1].BaseOffset);
        Assert.Equal(6, (await grain.GetWatermarks()).HighWatermark);
    }

    [Fact]
    public async Task SequenceGap_IsOutOfOrder_AndOldEpoch_IsFenced_AndNothingIsAppended()
    {
        var topic = NewName("seq");
        await Admin.CreateTopicAsync(topic, 1);
        var grain = Partition(topic);
        await grain.Append(Batch(9, 1, 0, 2));

        var gap = await Assert.ThrowsAsync<OutOfOrderSequenceException>(() => grain.Append(Batch(9, 1, 5, 1)));
        var fenced = await Assert.ThrowsAsync<ProducerFencedException>(() => grain.Append(Batch(9, 0, 2, 1)));

        Assert.Equal(2, gap.ExpectedSequence);
        Assert.Equal(1, fenced.CurrentEpoch);
        Assert.Equal(2, (await grain.GetWatermarks()).HighWatermark);
    }

    [Fact]
    public async Task Deduplication_SurvivesRecoveryFromStorage()
    {
        var topic = NewName("recover");
        await Admin.CreateTopicAsync(topic, 1);
        var original = await Partition(topic).Append(Batch(11, 0, 0, 4));

        await DeactivateAllAsync();
        Assert.Equal(0, (await Partition(topic).GetStats()).StorageAppends); // recovered, not the same activation
        var retry = await Partition(topic).Append(Batch(11, 0, 0, 4));

        Assert.Equal(original.BaseOffset, retry.BaseOffset);
        Assert.Equal(4, (await Partition(topic).GetWatermarks()).HighWatermark);
    }

    [Fact]
    public async Task ClientProducer_IsIdempotentByDefault()
    {
        var topic = NewName("client-idem");
        await Admin.CreateTopicAsync(topic, 1);

        await fixture.Groups.CreateProducer().ProduceBatchAsync(topic, Enumerable.Range(0, 50).Select(i => Message.FromStrings(null, $"{i}")).ToList());

        var stats = await Partition(topic).GetStats();
        Assert.Equal(1, stats.Producers);
        Assert.Equal(50, stats.HighWatermark);
    }

    [Fact]
    public async Task OffsetForTimestamp_FindsTheFirstRecordAtOrAfterIt()
    {
        var topic = NewName("time");
        await Admin.CreateTopicAsync(topic, 1);
        var producer = fixture.Groups.CreateProducer();
        foreach (var t in new long[] { 1_000, 2_000, 3_000, 3_000, 5_000 })
        {
            await producer.ProduceAsync(new TopicPartition(topic, 0), new Message(null, [1], null, DateTimeOffset.FromUnixTimeMilliseconds(t)));
        }
        var grain = Partition(topic);

        Assert.Equal(0, await grain.GetOffsetForTimestamp(500));
        Assert.Equal(1, await grain.GetOffsetForTimestamp(2_000));
        Assert.Equal(2, await grain.GetOffsetForTimestamp(2_500));
        Assert.Equal(4, await grain.GetOffsetForTimestamp(4_000));
        Assert.Equal(5, await grain.GetOffsetForTimestamp(9_000));
        Assert.Equal(0, await grain.GetOffsetForTimestamp(AdminClient.Earliest));
        Assert.Equal(5, await grain.GetOffsetForTimestamp(AdminClient.Latest));
        Assert.Equal([new PartitionOffsetResult(0, 2)], await Admin.ListOffsetsAsync(topic, 2_500));
        await Assert.ThrowsAsync<InvalidRequestException>(() => grain.GetOffsetForTimestamp(-7));
    }

    [Fact]
    public async Task AddPartitions_GrowsTheTopic_AndGroupsPickThemUp()
    {
        var topic = NewName("grow");
        await Admin.CreateTopicAsync(topic, 2);
        var consumer = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(NewName("g")));
        consumer.Subscribe(topic);
        await TestKit.Wait.UntilAsync(() => consumer.Assignment.Count == 2, TimeSpan.FromSeconds(20), "two partitions assigned");

        var grown = await Admin.CreatePartitionsAsync(topic, 4);
        await fixture.Groups.CreateProducer().ProduceAsync(new TopicPartition(topic, 3), Message.FromStrings(null, "in the new partition"));

        Assert.Equal(4, grown.PartitionCount);
        await TestKit.Wait.UntilAsync(() => consumer.Assignment.Count == 4, TimeSpan.FromSeconds(20), "new partitions assigned");
        var record = await consumer.ConsumeAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(3, record?.Partition);
        await Assert.ThrowsAsync<InvalidRequestException>(() => Admin.CreatePartitionsAsync(topic, 3));
        await Assert.ThrowsAsync<UnknownTopicException>(() => Admin.CreatePartitionsAsync(NewName("none"), 3));
        await consumer.CloseAsync();
    }

    [Fact]
    public async Task SegmentsRoll_AndRecoveryFromCheckpoints_ReturnsEveryRecord()
    {
        var topic = NewName("roll");
        await Admin.CreateTopicAsync(topic, 1);
        var producer = fixture.Groups.CreateProducer();
        var value = new byte[1_000];
        for (var round = 0; round < 30; round++)
        {
            await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 100).Select(i => new Message(Encoding.UTF8.GetBytes($"{round}-{i}"), value)).ToList(), partition: 0);
        }
        var before = await Partition(topic).GetStats();

        await DeactivateAllAsync();
        var after = await Partition(topic).GetStats();
        var records = await ReadAllAsync(topic);

        Assert.True(before.Segments >= 3, $"expected several 1 MiB segments, got {before.Segments}");
        Assert.True(before.StorageAppends > 0);
        Assert.Equal(0, after.StorageAppends); // a fresh activation: everything below was recovered from storage
        // The new activation claimed the log: it sealed the active segment and opened a fresh one.
        Assert.Equal(before.Segments + 1, after.Segments);
        Assert.Equal(3_000, after.HighWatermark);
        Assert.Equal(Enumerable.Range(0, 3_000).Select(i => (long)i), records.Select(r => r.Offset));
        Assert.Equal("29-99", Encoding.UTF8.GetString(records[^1].Key!));
    }

    [Fact]
    public async Task RetentionBytes_DeletesOldestSegments_AndMovesTheLogStart()
    {
        var topic = NewName("bytes");
        await Admin.CreateTopicAsync(topic, 1, TopicConfig.Default with { RetentionBytes = 1 << 20 });
        var producer = fixture.Groups.CreateProducer();
        for (var round = 0; round < 40; round++)
        {
            await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 100).Select(_ => new Message(null, new byte[1_000])).ToList(), partition: 0);
        }

        var deleted = await Partition(topic).ApplyRetention();
        var stats = await Partition(topic).GetStats();

        Assert.True(deleted >= 2, $"deleted {deleted}");
        Assert.True(stats.LogStartOffset > 0);
        Assert.True(stats.SizeBytes - (1 << 20) < 2 << 20, $"size {stats.SizeBytes} stays near retention.bytes");
        await Assert.ThrowsAsync<OffsetOutOfRangeException>(() => Partition(topic).Fetch(0, 1024, 0));
        var first = RecordBatch.Decode((await Partition(topic).Fetch(stats.LogStartOffset, 1024, 0)).Batches).First(r => r.Offset >= stats.LogStartOffset);
        Assert.Equal(stats.LogStartOffset, first.Offset);
        Assert.Equal(stats.LogStartOffset, (await Admin.ListOffsetsAsync(topic, AdminClient.Earliest))[0].Offset);
    }

    [Fact]
    public async Task RetentionMs_DeletesSegmentsWhoseRecordsAreAllOlder()
    {
        var topic = NewName("age");
        await Admin.CreateTopicAsync(topic, 1, TopicConfig.Default with { RetentionMs = (long)TimeSpan.FromHours(1).TotalMilliseconds });
        var producer = fixture.Groups.CreateProducer();
        var old = DateTimeOffset.UtcNow.AddDays(-1);
        for (var round = 0; round < 15; round++)
        {
            await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 100).Select(_ => new Message(null, new byte[1_000], null, old)).ToList(), partition: 0);
        }
        for (var round = 0; round < 15; round++)
        {
            await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 100).Select(_ => new Message(null, new byte[1_000])).ToList(), partition: 0);
        }

        await Partition(topic).ApplyRetention();
        var remaining = await ReadAllAsync(topic);

        Assert.True(remaining[0].Offset > 0, "old segments were deleted");
        Assert.Equal(3_000, remaining[^1].Offset + 1);
        Assert.All(remaining.Where(r => r.Offset >= 1_500), r => Assert.True(r.Timestamp > old.ToUnixTimeMilliseconds()));
        Assert.True(remaining.Count(r => r.Timestamp <= old.ToUnixTimeMilliseconds()) < 1_100, "at most the segment shared with new records keeps old ones");
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryPartitionLogFeatureTests(MemoryClusterFixture fixture) : PartitionLogFeatureTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuritePartitionLogFeatureTests(AzuriteClusterFixture fixture) : PartitionLogFeatureTests(fixture);
