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
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryConsumerApiTests(MemoryClusterFixture fixture) : ConsumerApiTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteConsumerApiTests(AzuriteClusterFixture fixture) : ConsumerApiTests(fixture);
