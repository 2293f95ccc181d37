using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>Deleting groups and resetting their offsets through the admin client, with Kafka's rules; on every storage kind.</summary>
public abstract class GroupAdminTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{

    private Consumer Join(string group, string topic)
    {
        var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
        Consumers.Add(consumer);
        consumer.Subscribe(topic);
        return consumer;
    }

    /// <summary>A topic whose partition p holds <paramref name="recordsPerPartition"/> records, offsets 0..n-1.</summary>
    private async Task<string> TopicAsync(int partitions, int recordsPerPartition)
    {
        var topic = NewName("t");
        await Admin.CreateTopicAsync(topic, partitions);
        var producer = Fixture.Groups.CreateProducer();
        for (var p = 0; p < partitions; p++)
        {
            await producer.ProduceBatchAsync(topic,
                Enumerable.Range(0, recordsPerPartition).Select(i => Message.FromStrings(null, $"p{p}-{i}")).ToList(), p);
        }
        return topic;
    }

    /// <summary>A group that consumed everything in <paramref name="topic"/>, committed it, and left: empty, with offsets.</summary>
    private async Task<string> EmptyGroupThatReadAllAsync(string topic, int records)
    {
        var group = NewName("g");
        var consumer = Join(group, topic);
        var read = 0;
        var deadline = DateTimeOffset.UtcNow + Deadline;
        while (read < records && DateTimeOffset.UtcNow < deadline)
        {
            if (await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(100)) is not null)
            {
                read++;
            }
        }
        Assert.Equal(records, read);
        await consumer.CommitAsync();
        await consumer.CloseAsync();
        return group;
    }

    private async Task<long?[]> CommittedAsync(string group, string topic, int partitions)
    {
        var offsets = await Fixture.Cluster.Client.GetGrain<IConsumerGroupGrain>(group).GetCommittedOffsets(null);
        return Enumerable.Range(0, partitions)
            .Select(p => offsets.TryGetValue(new TopicPartition(topic, p), out var o) ? o.Offset : (long?)null).ToArray();
    }

    [Fact]
    public async Task DeleteGroup_OnlyWhenEmpty_ThenItIsGone()
    {
        var topic = await TopicAsync(2, 5);
        var group = NewName("g");
        var member = Join(group, topic);
        await Wait.UntilAsync(() => member.Assignment.Count == 2, Deadline, "assignment");

        var nonEmpty = await Assert.ThrowsAsync<NonEmptyGroupException>(() => Admin.DeleteGroupAsync(group));
        await member.CommitAsync([new TopicPartitionOffset(new TopicPartition(topic, 0), 3)]);
        await member.CloseAsync();
        await Admin.DeleteGroupAsync(group);

        Assert.Equal((group, 1), (nonEmpty.GroupId, nonEmpty.MemberCount));
        Assert.DoesNotContain(await Admin.ListGroupsAsync(), g => g.GroupId == group);
        await Assert.ThrowsAsync<GroupIdNotFoundException>(() => Admin.DescribeGroupAsync(group));
        await Assert.ThrowsAsync<GroupIdNotFoundException>(() => Admin.DeleteGroupAsync(group));
        Assert.Equal([null, null], await CommittedAsync(group, topic, 2));
    }

    [Fact]
    public async Task DeleteGroup_Unknown_IsGroupIdNotFound()
    {
        var error = await Assert.ThrowsAsync<GroupIdNotFoundException>(() => Admin.DeleteGroupAsync(NewName("nobody")));

        Assert.Equal(OrleansGroupsErrorCode.GroupIdNotFound, error.Code);
    }

    [Fact]
    public async Task DeletedGroup_ComesBackFreshWhenAMemberJoins()
    {
        var topic = await TopicAsync(1, 10);
        var group = await EmptyGroupThatReadAllAsync(topic, 10);
        await Admin.DeleteGroupAsync(group);

        var again = Join(group, topic);
        var first = await again.ConsumeAsync(Deadline);

        // No committed offset survives the delete: auto.offset.reset (earliest) applies again.
        Assert.Equal(0, first?.Offset);
        var details = await Admin.DescribeGroupAsync(group);
        Assert.Equal(1, details.Group.GroupEpoch);
        Assert.Contains(await Admin.ListGroupsAsync(), g => g.GroupId == group);
    }

    [Fact]
    public async Task ResetOffsets_EveryMode_AndDryRun()
    {
        var topic = await TopicAsync(2, 10);
        var group = await EmptyGroupThatReadAllAsync(topic, 20);
        Assert.Equal([10, 10], await CommittedAsync(group, topic, 2));

        var dryRun = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToEarliest(), dryRun: true);
        Assert.Equal([new(new(topic, 0), 10, 0), new(new(topic, 1), 10, 0)], dryRun);
        Assert.Equal([10, 10], await CommittedAsync(group, topic, 2));

        var earliest = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToEarliest(), dryRun: false);
        Assert.Equal([0, 0], earliest.Select(r => r.NewOffset));
        Assert.Equal([0, 0], await CommittedAsync(group, topic, 2));

        var shifted = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ShiftBy(4), dryRun: false);
        Assert.Equal([new(new(topic, 0), 0, 4), new(new(topic, 1), 0, 4)], shifted);

        var onePartition = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToOffset(7), dryRun: false, partitions: [1]);
        Assert.Equal([new OffsetResetResult(new(topic, 1), 4, 7)], onePartition);
        Assert.Equal([4, 7], await CommittedAsync(group, topic, 2));

        var clamped = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToOffset(1_000), dryRun: false);
        Assert.Equal([10, 10], clamped.Select(r => r.NewOffset));

        var latest = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ShiftBy(-3), dryRun: false);
        Assert.Equal([7, 7], latest.Select(r => r.NewOffset));
        var end = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToLatest(), dryRun: false);
        Assert.Equal([new(new(topic, 0), 7, 10), new(new(topic, 1), 7, 10)], end);
    }

    [Fact]
    public async Task ResetOffsets_ToDatetime_FindsTheFirstRecordAtOrAfterTheTime()
    {
        var topic = await TopicAsync(1, 5); // offsets 0..4, written before `between`
        var between = DateTimeOffset.UtcNow.AddMilliseconds(1);
        await Wait.UntilAsync(() => DateTimeOffset.UtcNow > between.AddMilliseconds(1), Deadline, "the clock passes the cut-off");
        await Fixture.Groups.CreateProducer().ProduceBatchAsync(topic,
            Enumerable.Range(5, 5).Select(i => Message.FromStrings(null, $"late-{i}")).ToList(), 0); // offsets 5..9
        var group = await EmptyGroupThatReadAllAsync(topic, 10);

        var middle = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToDatetime(between), dryRun: false);
        var future = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToDatetime(DateTimeOffset.UtcNow.AddDays(1)), dryRun: true);
        var past = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToDatetime(DateTimeOffset.UnixEpoch.AddDays(-1)), dryRun: true);

        Assert.Equal([new OffsetResetResult(new(topic, 0), 10, 5)], middle);
        Assert.Equal([new OffsetResetResult(new(topic, 0), 5, 10)], future); // no record that late: the log end, as Kafka
        Assert.Equal([new OffsetResetResult(new(topic, 0), 5, 0)], past);
    }

    [Fact]
    public async Task ResetOffsets_ConsumersResumeFromTheResetPosition()
    {
        var topic = await TopicAsync(1, 10);
        var group = await EmptyGroupThatReadAllAsync(topic, 10);

        await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToOffset(6), dryRun: false);
        var consumer = Join(group, topic);
        var offsets = new List<long>();
        while (offsets.Count < 4 && await consumer.ConsumeAsync(Deadline) is { } record)
        {
            offsets.Add(record.Offset);
        }

        Assert.Equal([6L, 7L, 8L, 9L], offsets);
    }

    [Fact]
    public async Task ResetOffsets_WithActiveMembers_IsNonEmptyGroup_AndChangesNothing()
    {
        var topic = await TopicAsync(1, 10);
        var group = await EmptyGroupThatReadAllAsync(topic, 10);
        var member = Join(group, topic);
        await Wait.UntilAsync(() => member.Assignment.Count == 1, Deadline, "assignment");

        var error = await Assert.ThrowsAsync<NonEmptyGroupException>(() =>
            Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToEarliest(), dryRun: true));

        Assert.Equal(1, error.MemberCount);
        Assert.Equal([10], await CommittedAsync(group, topic, 1));
    }

    [Fact]
    public async Task ResetOffsets_UnknownTopicOrPartition_AndShiftWithoutCommit_AreRejected()
    {
        var topic = await TopicAsync(2, 3);
        var group = NewName("g");

        await Assert.ThrowsAsync<UnknownTopicException>(() => Admin.ResetOffsetsAsync(group, NewName("none"), OffsetResetSpec.ToLatest(), false));
        var partition = await Assert.ThrowsAsync<UnknownPartitionException>(() =>
            Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToLatest(), false, partitions: [2]));
        await Assert.ThrowsAsync<InvalidRequestException>(() => Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ShiftBy(1), false));

        Assert.Equal((2, 2), (partition.Partition, partition.PartitionCount));
        Assert.DoesNotContain(await Admin.ListGroupsAsync(), g => g.GroupId == group);
    }

    [Fact]
    public async Task ResetOffsets_OfANewGroup_CreatesIt()
    {
        var topic = await TopicAsync(1, 5);
        var group = NewName("g");

        var result = await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToOffset(2), dryRun: false);

        Assert.Equal([new OffsetResetResult(new(topic, 0), null, 2)], result);
        var details = await Admin.DescribeGroupAsync(group);
        Assert.Equal((GroupState.Empty, 2L, 3L), (details.Group.State, details.Partitions[0].CommittedOffset, details.Partitions[0].Lag));
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryGroupAdminTests(MemoryClusterFixture fixture) : GroupAdminTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteGroupAdminTests(AzuriteClusterFixture fixture) : GroupAdminTests(fixture);
