using System.Text;
using OrleansGroups.Client;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Grains.Tests;

/// <summary>Topics, produce and fetch through real grains; run on every storage kind.</summary>
public abstract class TopicAndLogTests(ClusterFixture fixture)
{
    private AdminClient Admin => fixture.Groups.Admin;

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task KeyedRecords_LandOnTheirMurmur2Partition_WithContiguousOffsets()
    {
        var topic = NewName("keyed");
        await Admin.CreateTopicAsync(topic, 4);
        var producer = fixture.Groups.CreateProducer();
        var messages = Enumerable.Range(0, 200).Select(i => Message.FromStrings($"key-{i % 17}", $"value-{i}")).ToList();

        var delivered = await producer.ProduceBatchAsync(topic, messages);

        for (var i = 0; i < messages.Count; i++)
        {
            Assert.Equal(Partitioner.ForKey(messages[i].Key, 4), delivered[i].Partition);
        }
        foreach (var partition in delivered.GroupBy(d => d.Partition))
        {
            Assert.Equal(Enumerable.Range(0, partition.Count()).Select(i => (long)i), partition.Select(d => d.Offset).Order());
        }
        var details = await Admin.DescribeTopicAsync(topic);
        Assert.Equal(delivered.GroupBy(d => d.Partition).ToDictionary(g => g.Key, g => (long)g.Count()),
            details.Partitions.Where(p => p.LogEndOffset > 0).ToDictionary(p => p.Partition, p => p.LogEndOffset));
    }

    [Fact]
    public async Task Fetch_ReturnsRecordsWithKeysValuesHeadersAndTimestamps()
    {
        var topic = NewName("fetch");
        await Admin.CreateTopicAsync(topic, 1);
        var producer = fixture.Groups.CreateProducer();
        var timestamp = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        await producer.ProduceAsync(new TopicPartition(topic, 0),
            new Message(Encoding.UTF8.GetBytes("k"), Encoding.UTF8.GetBytes("v"), [new RecordHeader("h", [1, 2])], timestamp));
        await producer.ProduceAsync(new TopicPartition(topic, 0), new Message(null, null));

        var result = await fixture.Cluster.Client.GetGrain<IPartitionGrain>(GrainKeys.Partition(new(topic, 0))).Fetch(0, 1 << 20, 0);
        var records = RecordBatch.Decode(result.Batches).ToList();

        Assert.Equal(2, result.HighWatermark);
        Assert.Equal([0L, 1L], records.Select(r => r.Offset));
        Assert.Equal("k", Encoding.UTF8.GetString(records[0].Key!));
        Assert.Equal("v", Encoding.UTF8.GetString(records[0].Value!));
        Assert.Equal(timestamp.ToUnixTimeMilliseconds(), records[0].Timestamp);
        Assert.Equal("h", Assert.Single(records[0].Headers).Key);
        Assert.Null(records[1].Key);
        Assert.Null(records[1].Value);
    }

    [Fact]
    public async Task ConcurrentProducers_GetUniqueContiguousOffsets()
    {
        var topic = NewName("concurrent");
        await Admin.CreateTopicAsync(topic, 1);
        var producers = Enumerable.Range(0, 4).Select(_ => fixture.Groups.CreateProducer()).ToList();

        var results = await Task.WhenAll(producers.SelectMany((p, n) => Enumerable.Range(0, 100)
            .Select(i => p.ProduceAsync(new TopicPartition(topic, 0), Message.FromStrings(null, $"{n}-{i}")))));

        Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), results.Select(r => r.Offset).Order());
        var fetched = RecordBatch.Decode((await fixture.Cluster.Client.GetGrain<IPartitionGrain>(
            GrainKeys.Partition(new(topic, 0))).Fetch(0, 1 << 22, 0)).Batches).ToList();
        Assert.Equal(400, fetched.Count);
        // Each producer's own messages keep their order in the log.
        foreach (var n in Enumerable.Range(0, 4))
        {
            var mine = fetched.Select(r => Encoding.UTF8.GetString(r.Value!)).Where(v => v.StartsWith($"{n}-", StringComparison.Ordinal));
            Assert.Equal(Enumerable.Range(0, 100).Select(i => $"{n}-{i}"), mine);
        }
    }

    [Fact]
    public async Task Fetch_AtTheEnd_WaitsForNewRecords()
    {
        var topic = NewName("longpoll");
        await Admin.CreateTopicAsync(topic, 1);
        var partition = fixture.Cluster.Client.GetGrain<IPartitionGrain>(GrainKeys.Partition(new(topic, 0)));

        var waiting = partition.Fetch(0, 1 << 20, 5_000);
        await fixture.Groups.CreateProducer().ProduceAsync(new TopicPartition(topic, 0), Message.FromStrings(null, "late"));
        var result = await waiting;

        Assert.Equal("late", Encoding.UTF8.GetString(RecordBatch.Decode(result.Batches).Single().Value!));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("has space")]
    [InlineData("slash/not-allowed")]
    public async Task CreateTopic_InvalidName_IsRejectedTyped(string name)
    {
        var error = await Assert.ThrowsAsync<InvalidTopicNameException>(() =>
            fixture.Cluster.Client.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry).CreateTopic(name, 1, null));
        Assert.Equal(OrleansGroupsErrorCode.InvalidTopicName, error.Code);
    }

    [Fact]
    public async Task CreateTopic_Twice_IsRejected_AndKeepsTheFirst()
    {
        var topic = NewName("twice");
        await Admin.CreateTopicAsync(topic, 3);

        await Assert.ThrowsAsync<TopicAlreadyExistsException>(() => Admin.CreateTopicAsync(topic, 5));

        Assert.Equal(3, (await Admin.DescribeTopicAsync(topic)).Topic.PartitionCount);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(10_001)]
    public async Task CreateTopic_BadPartitionCount_IsRejected(int partitions)
    {
        var topic = NewName("count");
        await Assert.ThrowsAsync<InvalidRequestException>(() => Admin.CreateTopicAsync(topic, partitions));
        Assert.DoesNotContain(await Admin.ListTopicsAsync(), t => t.Name == topic);
    }

    [Fact]
    public async Task Produce_UnknownTopic_IsRejected()
    {
        var error = await Assert.ThrowsAsync<UnknownTopicException>(() =>
            fixture.Groups.CreateProducer().ProduceAsync(NewName("missing"), Message.FromStrings("k", "v")));
        Assert.Equal(OrleansGroupsErrorCode.UnknownTopic, error.Code);
    }

    [Fact]
    public async Task Append_PartitionOutOfRange_IsRejectedByTheGrain()
    {
        var topic = NewName("range");
        await Admin.CreateTopicAsync(topic, 2);
        var batch = RecordBatch.Encode(0, [new ProducerRecord(null, [1], null, 0)]);

        var error = await Assert.ThrowsAsync<UnknownPartitionException>(() =>
            fixture.Cluster.Client.GetGrain<IPartitionGrain>(GrainKeys.Partition(new(topic, 2))).Append(batch));
        Assert.Equal(2, error.PartitionCount);
    }

    [Fact]
    public async Task Append_TooLarge_IsRejected_AndAppendsNothing()
    {
        var topic = NewName("large");
        await Admin.CreateTopicAsync(topic, 1, TopicConfig.Default with { MaxMessageBytes = 1_000 });
        var partition = new TopicPartition(topic, 0);

        var error = await Assert.ThrowsAsync<RecordTooLargeException>(() =>
            fixture.Groups.CreateProducer().ProduceAsync(partition, new Message(null, new byte[2_000])));

        Assert.Equal(1_000, error.MaxBytes);
        Assert.Equal(0, (await Admin.DescribeTopicAsync(topic)).Partitions[0].LogEndOffset);
    }

    [Fact]
    public async Task Append_CorruptBatch_IsRejected()
    {
        var topic = NewName("corrupt");
        await Admin.CreateTopicAsync(topic, 1);
        var batch = RecordBatch.Encode(0, [new ProducerRecord(null, [1, 2, 3], null, 0)]);
        batch[^1] ^= 0xFF;

        await Assert.ThrowsAsync<CorruptRecordException>(() =>
            fixture.Cluster.Client.GetGrain<IPartitionGrain>(GrainKeys.Partition(new(topic, 0))).Append(batch));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(6)]
    [InlineData(long.MaxValue)]
    public async Task Fetch_OutsideTheLog_IsOffsetOutOfRange(long offset)
    {
        var topic = NewName("oor");
        await Admin.CreateTopicAsync(topic, 1);
        await fixture.Groups.CreateProducer().ProduceBatchAsync(topic, Enumerable.Range(0, 5).Select(i => Message.FromStrings(null, $"{i}")).ToList());

        var error = await Assert.ThrowsAsync<OffsetOutOfRangeException>(() =>
            fixture.Cluster.Client.GetGrain<IPartitionGrain>(GrainKeys.Partition(new(topic, 0))).Fetch(offset, 1024, 0));
        Assert.Equal(5, error.HighWatermark);
        Assert.Equal(0, error.LogStartOffset);
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryTopicAndLogTests(MemoryClusterFixture fixture) : TopicAndLogTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteTopicAndLogTests(AzuriteClusterFixture fixture) : TopicAndLogTests(fixture);
