using OrleansGroups.Client;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>Position, seek, pause/resume and max.poll.interval of the client consumer, as Confluent.Kafka users expect them.</summary>
public abstract class ConsumerApiTests(ClusterFixture fixture)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private async Task<string> TopicAsync(int partitions, int recordsPerPartition)
    {
        var topic = NewName("api");
        await fixture.Groups.Admin.CreateTopicAsync(topic, partitions);
        var producer = fixture.Groups.CreateProducer();
        for (var p = 0; p < partitions; p++)
        {
            await producer.ProduceBatchAsync(topic, Enumerable.Range(0, recordsPerPartition).Select(i => Message.FromStrings(null, $"{p}-{i}")).ToList(), p);
        }
        return topic;
    }

    private async Task<Consumer> JoinAsync(string topic, int partitions, ConsumerOptions? options = null)
    {
        var consumer = fixture.Groups.CreateConsumer(options ?? ClusterFixture.FastConsumer(NewName("g")));
        consumer.Subscribe(topic);
        await Wait.UntilAsync(() => consumer.Assignment.Count == partitions, Deadline, "assignment");
        return consumer;
    }

    [Fact]
    public async Task Seek_ReplaysFromTheGivenOffset_AndPositionFollows()
    {
        var topic = await TopicAsync(1, 20);
        var consumer = await JoinAsync(topic, 1);
        var partition = new TopicPartition(topic, 0);
        for (var i = 0; i < 10; i++)
        {
            Assert.NotNull(await consumer.ConsumeAsync(Deadline));
        }
        Assert.Equal(10, consumer.Position(partition));

        consumer.Seek(new TopicPartitionOffset(partition, 3));
        var next = await consumer.ConsumeAsync(Deadline);

        Assert.Equal(3, next?.Offset);
        Assert.Equal(4, consumer.Position(partition));
        Assert.Null(consumer.Position(new TopicPartition(topic, 7)));
        Assert.Throws<InvalidRequestException>(() => consumer.Seek(new TopicPartitionOffset(new TopicPartition(topic, 7), 0)));
        await consumer.CloseAsync();
    }

    [Fact]
    public async Task Pause_HoldsBackAPartition_UntilResume()
    {
        var topic = await TopicAsync(2, 5);
        var consumer = await JoinAsync(topic, 2);
        var paused = new TopicPartition(topic, 0);

        consumer.Pause([paused]);
        var whilePaused = new List<ConsumeResult>();
        while (await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(500)) is { } record)
        {
            whilePaused.Add(record);
        }
        Assert.Equal([paused], consumer.Paused);
        consumer.Resume([paused]);
        Assert.Empty(consumer.Paused);
        var afterResume = new List<ConsumeResult>();
        while (afterResume.Count < 5 && await consumer.ConsumeAsync(Deadline) is { } record)
        {
            afterResume.Add(record);
        }

        Assert.Equal(5, whilePaused.Count);
        Assert.All(whilePaused, r => Assert.Equal(1, r.Partition));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (long)i), afterResume.Select(r => r.Offset));
        Assert.All(afterResume, r => Assert.Equal(0, r.Partition));
        await consumer.CloseAsync();
    }

    [Fact]
    public async Task ConsumerNotPolledPastMaxPollInterval_LeavesTheGroup_AndItsNextCallFailsClearly()
    {
        var topic = await TopicAsync(2, 1);
        var group = NewName("slow");
        var consumer = await JoinAsync(topic, 2, ClusterFixture.FastConsumer(group) with { MaxPollInterval = TimeSpan.FromSeconds(3) });

        await Wait.UntilAsync(async () => (await fixture.Groups.Admin.DescribeGroupAsync(group)).Group.Members.Count == 0, Deadline, "the idle member left");

        var error = await Assert.ThrowsAsync<MaxPollIntervalExceededException>(() => consumer.ConsumeAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal(OrleansGroupsErrorCode.MaxPollIntervalExceeded, error.Code);
        Assert.Empty(consumer.Assignment);
        await consumer.CloseAsync();
    }

    private async Task<List<long>> ReadAsync(Consumer consumer, int count)
    {
        var offsets = new List<long>();
        while (offsets.Count < count)
        {
            offsets.Add((await consumer.ConsumeAsync(Deadline) ?? throw new TimeoutException("no record")).Offset);
        }
        return offsets;
    }

    [Fact]
    public async Task Assign_ReadsExactlyTheGivenPartitions_FromTheGivenOffsets_WithoutJoining()
    {
        var topic = await TopicAsync(3, 10);
        var group = NewName("assign");
        await using var consumer = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));

        consumer.Assign([new TopicPartitionOffset(new TopicPartition(topic, 1), 4), new TopicPartitionOffset(new TopicPartition(topic, 2), Offset.Beginning)]);
        var records = new List<ConsumeResult>();
        while (records.Count < 16)
        {
            records.Add(await consumer.ConsumeAsync(Deadline) ?? throw new TimeoutException("no record"));
        }

        Assert.Equal(Enumerable.Range(4, 6).Select(i => (long)i), records.Where(r => r.Partition == 1).Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), records.Where(r => r.Partition == 2).Select(r => r.Offset));
        Assert.Null(await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(2, consumer.Assignment.Count);
        Assert.Equal(10, consumer.Position(new TopicPartition(topic, 1)));
        await Assert.ThrowsAsync<GroupIdNotFoundException>(() => fixture.Groups.Admin.DescribeGroupAsync(group));
    }

    [Fact]
    public async Task Assign_AtEnd_GetsOnlyNewRecords_AndStored_StartsAtTheCommittedOffset()
    {
        var topic = await TopicAsync(1, 10);
        var partition = new TopicPartition(topic, 0);
        var group = NewName("assign");
        await using var standalone = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group) with { EnableAutoCommit = false });
        standalone.Assign([new TopicPartitionOffset(partition, 7)]);
        Assert.Equal([7L], await ReadAsync(standalone, 1));
        // A standalone consumer commits as Kafka's does: accepted while the group has no members.
        await standalone.CommitAsync();

        await using var atEnd = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(NewName("other")));
        atEnd.Assign([new TopicPartitionOffset(partition, Offset.End)]);
        await using var stored = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
        stored.Assign([new TopicPartitionOffset(partition, Offset.Stored)]);
        await Wait.UntilAsync(() => atEnd.Position(partition) is not null, Deadline, "the end offset resolved");
        await using var producer = fixture.Groups.CreateProducer();
        await producer.ProduceAsync(partition, Message.FromStrings(null, "new"));

        Assert.Equal([10L], await ReadAsync(atEnd, 1));
        Assert.Equal([8L, 9L, 10L], await ReadAsync(stored, 3));
    }

    [Fact]
    public async Task Assign_AndSubscribe_DoNotMix_AndUnknownTopicsFailClearly()
    {
        var topic = await TopicAsync(1, 1);
        await using var subscribed = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(NewName("mix")));
        subscribed.Subscribe(topic);
        await using var assigned = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(NewName("mix")));
        assigned.Assign([new TopicPartitionOffset(new TopicPartition(NewName("missing"), 0), 0)]);

        Assert.Throws<InvalidRequestException>(() => subscribed.Assign([new TopicPartitionOffset(new TopicPartition(topic, 0), 0)]));
        Assert.Throws<InvalidRequestException>(() => assigned.Subscribe(topic));
        Assert.Throws<InvalidRequestException>(() => assigned.Assign([new TopicPartitionOffset(new TopicPartition(topic, 0), -5)]));
        await Assert.ThrowsAsync<UnknownTopicException>(() => assigned.ConsumeAsync(Deadline));
    }

    [Fact]
    public async Task TheSynchronousConfluentCalls_ConsumeCommitClose_WorkThroughIConsumer()
    {
        var topic = await TopicAsync(2, 5);
        var group = NewName("sync");
        IConsumer consumer = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group) with { EnableAutoCommit = false });

        var offsets = await Task.Run(() =>
        {
            consumer.Subscribe(topic);
            var read = new List<TopicPartitionOffset>();
            using var deadline = new CancellationTokenSource(Deadline);
            while (read.Count < 10)
            {
                var record = consumer.Consume(deadline.Token);
                read.Add(new TopicPartitionOffset(record.TopicPartition, record.Offset));
            }
            consumer.Commit();
            Assert.Null(consumer.Consume(TimeSpan.FromMilliseconds(200)));
            Assert.Equal([topic], consumer.Subscription);
            consumer.Close();
            return read;
        });

        Assert.Equal(10, offsets.Distinct().Count());
        var details = await fixture.Groups.Admin.DescribeGroupAsync(group);
        Assert.All(details.Partitions, p => Assert.Equal(5, p.CommittedOffset));
        Assert.Empty(details.Group.Members);
        Assert.Throws<OperationCanceledException>(() => consumer.Consume(new CancellationToken(canceled: true)));
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryConsumerApiTests(MemoryClusterFixture fixture) : ConsumerApiTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteConsumerApiTests(AzuriteClusterFixture fixture) : ConsumerApiTests(fixture);
