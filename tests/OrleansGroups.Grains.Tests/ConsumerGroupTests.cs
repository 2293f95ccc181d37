using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>Consumer groups end to end through real grains and the client library; run on every storage kind.</summary>
public abstract class ConsumerGroupTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{

    private Consumer Join(string group, string topic, AutoOffsetReset reset = AutoOffsetReset.Earliest)
    {
        var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group, reset));
        Consumers.Add(consumer);
        consumer.Subscribe(topic);
        return consumer;
    }

    private async Task<string> TopicWithRecordsAsync(int partitions, int records)
    {
        var topic = NewName("t");
        await Admin.CreateTopicAsync(topic, partitions);
        if (records > 0)
        {
            await Fixture.Groups.CreateProducer().ProduceBatchAsync(topic,
                Enumerable.Range(0, records).Select(i => Message.FromStrings($"key-{i}", $"value-{i}")).ToList());
        }
        return topic;
    }

    private static async Task WaitForAssignmentAsync(IReadOnlyList<Consumer> consumers, int partitions, params int[] sizes)
    {
        await Wait.UntilAsync(() =>
        {
            var owned = consumers.Select(c => c.Assignment).ToList();
            return owned.Select(o => o.Count).Order().SequenceEqual(sizes.Order()) &&
                   owned.SelectMany(o => o).Distinct().Count() == partitions;
        }, Deadline, $"assignment {string.Join("/", sizes)} over {partitions} partitions");
    }

    /// <summary>Consumes from all consumers until <paramref name="expected"/> records arrived in total.</summary>
    private static async Task<List<(Consumer Consumer, ConsumeResult Record)>> DrainAsync(IReadOnlyList<Consumer> consumers, int expected)
    {
        var results = new List<(Consumer, ConsumeResult)>();
        var deadline = DateTimeOffset.UtcNow + Deadline;
        while (results.Count < expected && DateTimeOffset.UtcNow < deadline)
        {
            foreach (var consumer in consumers)
            {
                while (await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(20)) is { } record)
                {
                    results.Add((consumer, record));
                }
                await consumer.CommitAsync();
            }
        }
        return results;
    }

    [Fact]
    public async Task TwoConsumers_SplitFourPartitions_ThirdJoins_TwoOneOne_OneLeaves_BackToTwoTwo()
    {
        var topic = await TopicWithRecordsAsync(4, 0);
        var group = NewName("g");
        var first = Join(group, topic);
        var second = Join(group, topic);
        await WaitForAssignmentAsync([first, second], 4, 2, 2);

        var third = Join(group, topic);
        await WaitForAssignmentAsync([first, second, third], 4, 2, 1, 1);

        await third.CloseAsync();
        await WaitForAssignmentAsync([first, second], 4, 2, 2);
        // Members whose partitions did not move still adopt the new epoch on their next heartbeat.
        await Wait.UntilAsync(async () => (await Admin.DescribeGroupAsync(group)).Group.State == GroupState.Stable, Deadline, "stable group");
        Assert.Equal(2, (await Admin.DescribeGroupAsync(group)).Group.Members.Count);
    }

    [Fact]
    public async Task Group_ReadsEveryRecordExactlyOnce_AndASecondGroupReadsThemAllAgain()
    {
        var topic = await TopicWithRecordsAsync(4, 1_000);
        var groupA = NewName("a");
        var a1 = Join(groupA, topic);
        var a2 = Join(groupA, topic);
        await WaitForAssignmentAsync([a1, a2], 4, 2, 2);

        var readByA = await DrainAsync([a1, a2], 1_000);
        var b = Join(NewName("b"), topic);
        var readByB = await DrainAsync([b], 1_000);

        Assert.Equal(1_000, readByA.Count);
        Assert.Equal(1_000, readByA.Select(r => (r.Record.Partition, r.Record.Offset)).Distinct().Count());
        Assert.True(readByA.Any(r => r.Consumer == a1) && readByA.Any(r => r.Consumer == a2), "both members read");
        Assert.Equal(1_000, readByB.Select(r => (r.Record.Partition, r.Record.Offset)).Distinct().Count());
        var details = await Admin.DescribeGroupAsync(groupA);
        Assert.All(details.Partitions, p => Assert.Equal(0, p.Lag));
    }

    [Fact]
    public async Task NewOwner_ResumesFromTheCommittedOffset()
    {
        var topic = await TopicWithRecordsAsync(1, 100);
        var group = NewName("g");
        var first = Join(group, topic);
        var firstHalf = new List<long>();
        while (firstHalf.Count < 40)
        {
            if (await first.ConsumeAsync(Deadline) is { } record)
            {
                firstHalf.Add(record.Offset);
            }
        }
        await first.CommitAsync();
        await first.CloseAsync();

        var second = Join(group, topic);
        var rest = await DrainAsync([second], 60);

        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), firstHalf);
        Assert.Equal(Enumerable.Range(40, 60).Select(i => (long)i), rest.Select(r => r.Record.Offset));
    }

    [Fact]
    public async Task AutoOffsetResetLatest_SkipsOldRecords_AndReadsNewOnes()
    {
        var topic = await TopicWithRecordsAsync(1, 10);
        var consumer = Join(NewName("latest"), topic, AutoOffsetReset.Latest);
        await Wait.UntilAsync(() => consumer.Assignment.Count == 1, Deadline, "assignment");

        await Fixture.Groups.CreateProducer().ProduceAsync(new TopicPartition(topic, 0), Message.FromStrings(null, "new"));
        var record = await consumer.ConsumeAsync(Deadline);

        Assert.NotNull(record);
        Assert.Equal(10, record.Offset);
        Assert.Equal("new", record.ValueAsString);
    }

    [Fact]
    public async Task SilentMember_IsEvicted_AndItsPartitionsMoveToTheOthers()
    {
        var topic = await TopicWithRecordsAsync(4, 0);
        var group = NewName("g");
        var survivor = Join(group, topic);
        var doomed = Join(group, topic);
        await WaitForAssignmentAsync([survivor, doomed], 4, 2, 2);

        await doomed.AbandonAsync();

        await Wait.UntilAsync(() => survivor.Assignment.Count == 4, Deadline, "survivor owns all partitions");
        var description = await Admin.DescribeGroupAsync(group);
        Assert.Equal([survivor.MemberId], description.Group.Members.Select(m => m.MemberId));
    }

    [Fact]
    public async Task Commit_ByAnEvictedMember_IsRejected_AndDoesNotMoveTheOffset()
    {
        var topic = await TopicWithRecordsAsync(1, 10);
        var group = NewName("g");
        var zombie = Join(group, topic);
        await Wait.UntilAsync(() => zombie.Assignment.Count == 1, Deadline, "assignment");
        var epoch = zombie.MemberEpoch;
        await zombie.AbandonAsync();
        var owner = Join(group, topic);
        await Wait.UntilAsync(() => owner.Assignment.Count == 1, Deadline, "new owner");
        await DrainAsync([owner], 10);

        var grain = Fixture.Cluster.Client.GetGrain<IConsumerGroupGrain>(group);
        await Assert.ThrowsAsync<UnknownMemberException>(() => grain.Commit(
            new CommitRequest(zombie.MemberId, epoch, [new PartitionOffset(new TopicPartition(topic, 0), 3)])));
        await Assert.ThrowsAsync<FencedMemberEpochException>(() => grain.Commit(
            new CommitRequest(owner.MemberId, owner.MemberEpoch + 5, [new PartitionOffset(new TopicPartition(topic, 0), 3)])));

        var committed = await grain.GetCommittedOffsets([new TopicPartition(topic, 0)]);
        Assert.Equal(10, committed[new TopicPartition(topic, 0)].Offset);
    }

    [Fact]
    public async Task Commit_OfAPartitionOwnedByAnotherMember_IsStale()
    {
        var topic = await TopicWithRecordsAsync(2, 0);
        var group = NewName("g");
        var first = Join(group, topic);
        var second = Join(group, topic);
        await WaitForAssignmentAsync([first, second], 2, 1, 1);
        var notMine = second.Assignment.Single();

        await Assert.ThrowsAsync<StaleMemberEpochException>(() => first.CommitAsync([new TopicPartitionOffset(notMine, 1)]));
    }

    [Fact]
    public async Task DescribeGroup_Unknown_IsGroupIdNotFound()
    {
        await Assert.ThrowsAsync<GroupIdNotFoundException>(() => Admin.DescribeGroupAsync(NewName("nobody")));
    }

    [Fact]
    public async Task ListGroups_ShowsGroupsWithTheirState()
    {
        var topic = await TopicWithRecordsAsync(1, 0);
        var group = NewName("listed");
        var consumer = Join(group, topic);
        await Wait.UntilAsync(() => consumer.Assignment.Count == 1, Deadline, "assignment");

        await Wait.UntilAsync(async () => (await Admin.ListGroupsAsync()).Any(g => g.GroupId == group && g.MemberCount == 1 && g.State == GroupState.Stable),
            Deadline, "group listed as stable with one member");
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryConsumerGroupTests(MemoryClusterFixture fixture) : ConsumerGroupTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteConsumerGroupTests(AzuriteClusterFixture fixture) : ConsumerGroupTests(fixture);
