using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OrleansGroups.Client;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>Topic and group administration through <see cref="IAdminClient"/> as registered by AddOrleansGroupsClient, and topic deletion.</summary>
public abstract class AdminClientTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{
    /// <summary>The admin client as an application gets it: from DI after AddOrleansGroupsClient.</summary>
    private IAdminClient AdminFromServices(out ServiceProvider services)
    {
        services = new ServiceCollection()
            .AddSingleton<IGrainFactory>(Fixture.Cluster.Client)
            .AddOrleansGroupsClient()
            .BuildServiceProvider();
        return services.GetRequiredService<IAdminClient>();
    }

    [Fact]
    public async Task AddOrleansGroupsClient_RegistersOneAdminClient_BehindItsInterface()
    {
        var admin = AdminFromServices(out var services);
        await using var _ = services;

        Assert.Same(services.GetRequiredService<AdminClient>(), admin);
        Assert.Same(services.GetRequiredService<OrleansGroupsClient>().Admin, admin);
    }

    [Fact]
    public async Task TopicsAndGroups_CanBeCreatedListedAndDescribed_ThroughTheInterface()
    {
        var admin = AdminFromServices(out var services);
        await using var _ = services;
        var topic = NewName("adm");
        var group = NewName("g");

        var created = await admin.CreateTopicAsync(topic, 2);
        await admin.CreatePartitionsAsync(topic, 3);
        var producer = Fixture.Groups.CreateProducer();
        await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 10).Select(i => Message.FromStrings(null, $"v{i}")).ToList(), 0);
        var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
        Consumers.Add(consumer);
        consumer.Subscribe(topic);
        for (var i = 0; i < 4; i++)
        {
            Assert.NotNull(await consumer.ConsumeAsync(Deadline));
        }
        await consumer.CommitAsync();

        var listed = await admin.ListTopicsAsync();
        var described = await admin.DescribeTopicAsync(topic);
        var groups = await admin.ListGroupsAsync();
        var lag = (await admin.DescribeGroupAsync(group)).Partitions.Single(p => p.TopicPartition == new TopicPartition(topic, 0));

        Assert.Equal(2, created.PartitionCount);
        Assert.Contains(listed, t => t.Name == topic && t.PartitionCount == 3);
        Assert.Equal([(0, 0L, 10L), (1, 0L, 0L), (2, 0L, 0L)], described.Partitions.Select(p => (p.Partition, p.LogStartOffset, p.LogEndOffset)));
        Assert.Contains(groups, g => g.GroupId == group && g.MemberCount == 1);
        Assert.Equal((4L, 10L, 6L), (lag.CommittedOffset, lag.LogEndOffset, lag.Lag));
        Assert.Equal(consumer.MemberId, lag.Owner);
    }

    [Fact]
    public async Task DeleteTopic_RemovesItsRecords_AndANewTopicOfTheSameNameStartsEmpty()
    {
        IAdminClient admin = Admin;
        var topic = NewName("del");
        await admin.CreateTopicAsync(topic, 2);
        var producer = Fixture.Groups.CreateProducer();
        for (var p = 0; p < 2; p++)
        {
            await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 5).Select(i => Message.FromStrings(null, $"old-{p}-{i}")).ToList(), p);
        }

        await admin.DeleteTopicAsync(topic);

        Assert.DoesNotContain(await admin.ListTopicsAsync(), t => t.Name == topic);
        await Assert.ThrowsAsync<UnknownTopicException>(() => admin.DescribeTopicAsync(topic));
        // A producer that cached the topic's metadata is refused by the partition itself.
        await Assert.ThrowsAsync<UnknownTopicException>(() => producer.ProduceAsync(new TopicPartition(topic, 1), Message.FromStrings(null, "late")));
        await Assert.ThrowsAsync<UnknownTopicException>(() => Fixture.Groups.CreateProducer().ProduceAsync(topic, Message.FromStrings(null, "new producer")));
        await Assert.ThrowsAsync<UnknownTopicException>(() => admin.DeleteTopicAsync(topic));

        await admin.CreateTopicAsync(topic, 1);
        Assert.Equal([(0, 0L, 0L)], (await admin.DescribeTopicAsync(topic)).Partitions.Select(p => (p.Partition, p.LogStartOffset, p.LogEndOffset)));
        var fresh = await Fixture.Groups.CreateProducer().ProduceAsync(topic, Message.FromStrings(null, "new"));
        Assert.Equal(0, fresh.Offset);
        var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(NewName("g")));
        Consumers.Add(consumer);
        consumer.Subscribe(topic);
        var first = await consumer.ConsumeAsync(Deadline);
        Assert.Equal(("new", 0L), (first?.ValueAsString, first?.Offset));
        Assert.Null(await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task DeleteTopic_RacingAppends_AcknowledgesNoneIntoTheDeletedLog_AndTheRecreatedTopicStartsEmpty()
    {
        IAdminClient admin = Admin;
        var topic = NewName("race");
        await admin.CreateTopicAsync(topic, 1);
        var partition = Fixture.Cluster.Client.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(topic, 0)));
        await partition.Append(RecordBatch.Encode(0, [new ProducerRecord(null, "warm"u8.ToArray(), null, 1_000)]));

        // 1. Appends keep arriving (many queue behind the one in storage) while the topic is deleted.
        using var stop = new CancellationTokenSource();
        var outcomes = new System.Collections.Concurrent.ConcurrentBag<string>();
        var appenders = Enumerable.Range(0, 8).Select(a => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested && i < 2_000; i++)
            {
                try
                {
                    await partition.Append(RecordBatch.Encode(0, [new ProducerRecord(null, Encoding.UTF8.GetBytes($"{a}-{i}"), null, 1_000)]));
                    outcomes.Add("acknowledged");
                }
                catch (UnknownTopicException)
                {
                    outcomes.Add("unknown topic");
                }
            }
        })).ToList();
        await Wait.UntilAsync(() => outcomes.Count >= 20, TimeSpan.FromSeconds(20), "appends are flowing");
        await admin.DeleteTopicAsync(topic);
        await Wait.UntilAsync(() => outcomes.Contains("unknown topic"), TimeSpan.FromSeconds(20), "appends see the deletion");
        stop.Cancel();
        await Task.WhenAll(appenders);

        // 2. The topic created again with the name holds nothing of the old one, and takes appends from offset 0.
        await admin.CreateTopicAsync(topic, 1);
        Assert.Equal([(0, 0L, 0L)], (await admin.DescribeTopicAsync(topic)).Partitions.Select(p => (p.Partition, p.LogStartOffset, p.LogEndOffset)));
        var fresh = await partition.Append(RecordBatch.Encode(0, [new ProducerRecord(null, "new"u8.ToArray(), null, 1_000)]));
        var fetched = RecordBatch.Decode((await partition.Fetch(0, 1 << 20, 0)).Batches).ToList();
        Assert.Equal(0, fresh.BaseOffset);
        Assert.Equal(["new"], fetched.Select(r => Encoding.UTF8.GetString(r.Value!)));
    }

    [Fact]
    public async Task DeleteTopic_RejectsAnInvalidName()
    {
        await Assert.ThrowsAsync<InvalidTopicNameException>(() => ((IAdminClient)Admin).DeleteTopicAsync("no spaces"));
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryAdminClientTests(MemoryClusterFixture fixture) : AdminClientTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteAdminClientTests(AzuriteClusterFixture fixture) : AdminClientTests(fixture);
