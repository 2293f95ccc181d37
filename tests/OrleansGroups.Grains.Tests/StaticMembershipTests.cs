using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>Static membership (<c>group.instance.id</c>) through real consumers; on every storage kind.</summary>
public abstract class StaticMembershipTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{

    /// <summary>A static consumer; the session is long enough that a restart in the test comfortably fits in it.</summary>
    private Consumer JoinStatic(string group, string topic, string instanceId, TimeSpan? session = null)
    {
        var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group) with
        {
            InstanceId = instanceId,
            ClientId = instanceId,
            SessionTimeout = session ?? TimeSpan.FromSeconds(10),
        });
        Consumers.Add(consumer);
        consumer.Subscribe(topic);
        return consumer;
    }

    private async Task<string> TopicAsync(int partitions)
    {
        var topic = NewName("t");
        await Admin.CreateTopicAsync(topic, partitions);
        return topic;
    }

    private async Task<GroupDescription> StableAsync(string group, int members)
    {
        GroupDescription? description = null;
        await Wait.UntilAsync(async () =>
        {
            description = (await Admin.DescribeGroupAsync(group)).Group;
            return description.State == GroupState.Stable && description.Members.Count == members;
        }, Deadline, $"group stable with {members} members");
        return description!;
    }

    private static MemberDescription Instance(GroupDescription group, string instanceId) => group.Members.Single(m => m.InstanceId == instanceId);

    private static string Show(MemberDescription m) =>
        $"{m.MemberId} epoch {m.MemberEpoch} {m.State} [{string.Join(",", m.AssignedPartitions.Order())}] pending [{string.Join(",", m.PartitionsPendingRevocation)}]";

    [Fact]
    public async Task RestartedStaticMember_GetsItsPartitionsBack_WithoutARebalance()
    {
        var topic = await TopicAsync(4);
        var group = NewName("g");
        var first = JoinStatic(group, topic, "ia");
        var other = JoinStatic(group, topic, "ib");
        await Wait.UntilAsync(() => first.Assignment.Count == 2 && other.Assignment.Count == 2, Deadline, "2/2");
        var before = await StableAsync(group, 2);
        var owned = first.Assignment;
        await first.CommitAsync([new TopicPartitionOffset(owned[0], 0)]);

        await first.CloseAsync(); // static: a temporary leave
        var away = (await Admin.DescribeGroupAsync(group)).Group;
        var restarted = JoinStatic(group, topic, "ia");
        await Wait.UntilAsync(() => restarted.Assignment.Count == 2, Deadline, "the restarted member owns its partitions");
        var after = await StableAsync(group, 2);

        Assert.Equal(MemberEpochs.TemporaryLeave, Instance(away, "ia").MemberEpoch);
        Assert.Equal(owned, Instance(away, "ia").AssignedPartitions.Order());
        Assert.Equal(before.GroupEpoch, away.GroupEpoch);
        Assert.Equal(owned, restarted.Assignment);
        Assert.Equal((before.GroupEpoch, before.AssignmentEpoch), (after.GroupEpoch, after.AssignmentEpoch));
        Assert.Equal(restarted.MemberId, Instance(after, "ia").MemberId);
        Assert.Equal(Show(Instance(before, "ib")), Show(Instance(after, "ib"))); // b never noticed
        Assert.Equal(before.GroupEpoch, restarted.MemberEpoch);
    }

    [Fact]
    public async Task DuplicateInstanceId_FencesTheOldConsumer()
    {
        var topic = await TopicAsync(2);
        var group = NewName("g");
        var old = JoinStatic(group, topic, "dup");
        await Wait.UntilAsync(() => old.Assignment.Count == 2, Deadline, "the first consumer owns both partitions");
        var epoch = (await StableAsync(group, 1)).GroupEpoch;
        IReadOnlyList<TopicPartition>? lost = null;
        old.PartitionsLost += partitions => lost = partitions;

        var replacement = JoinStatic(group, topic, "dup");
        await Wait.UntilAsync(() => replacement.Assignment.Count == 2, Deadline, "the replacement owns both partitions");
        await Wait.UntilAsync(() => old.Assignment.Count == 0, Deadline, "the old consumer stopped");

        var error = await Assert.ThrowsAsync<FencedInstanceIdException>(() => old.ConsumeAsync(TimeSpan.FromSeconds(1)));
        Assert.Equal((group, old.MemberId, "dup", replacement.MemberId), (error.GroupId, error.MemberId, error.InstanceId, error.CurrentMemberId));
        Assert.Equal(2, lost?.Count);
        var after = await StableAsync(group, 1);
        Assert.Equal(replacement.MemberId, after.Members.Single().MemberId);
        Assert.Equal(epoch, after.GroupEpoch);
        await Assert.ThrowsAsync<UnknownMemberException>(() => Fixture.Cluster.Client.GetGrain<IConsumerGroupGrain>(group)
            .Commit(new CommitRequest(old.MemberId, epoch, [new PartitionOffset(new TopicPartition(topic, 0), 1)])));
    }

    [Fact]
    public async Task StaticMemberThatDoesNotReturn_IsEvictedAtItsSessionTimeout()
    {
        var topic = await TopicAsync(4);
        var group = NewName("g");
        var leaving = JoinStatic(group, topic, "gone", session: TimeSpan.FromMilliseconds(1500));
        var staying = JoinStatic(group, topic, "stays");
        await Wait.UntilAsync(() => leaving.Assignment.Count == 2 && staying.Assignment.Count == 2, Deadline, "2/2");

        await leaving.CloseAsync();
        Assert.Equal(2, staying.Assignment.Count);

        await Wait.UntilAsync(() => staying.Assignment.Count == 4, Deadline, "the remaining member owns everything");
        Assert.Equal(["stays"], (await StableAsync(group, 1)).Members.Select(m => m.InstanceId));
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryStaticMembershipTests(MemoryClusterFixture fixture) : StaticMembershipTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteStaticMembershipTests(AzuriteClusterFixture fixture) : StaticMembershipTests(fixture);
