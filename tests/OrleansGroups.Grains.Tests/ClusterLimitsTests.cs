using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// Cluster-wide bounds, on a cluster of their own whose limits are small (<see cref="ClusterFixture.SmallMaxTopics"/>
/// topics, <see cref="ClusterFixture.SmallMaxGroups"/> groups, <see cref="ClusterFixture.SmallMaxGroupSize"/> members
/// per group). Passing one is a typed error that writes nothing; each test gives back what it took.
/// </summary>
[Collection(LimitsClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class ClusterLimitsTests(LimitsClusterFixture fixture) : ClusterTestBase(fixture)
{
    private IConsumerGroupGrain Group(string group) => Fixture.Cluster.Client.GetGrain<IConsumerGroupGrain>(group);

    private IGroupRegistryGrain GroupRegistry => Fixture.Cluster.Client.GetGrain<IGroupRegistryGrain>(GrainKeys.GroupRegistry);

    private Task<HeartbeatResponse> JoinAsync(string group, string member, string topic) =>
        Group(group).Heartbeat(new HeartbeatRequest(member, MemberEpochs.Join, null, "limits", [topic], [], 60_000, 60_000));

    private async Task LeaveAndDeleteAsync(string group, params string[] members)
    {
        foreach (var member in members)
        {
            await Group(group).Leave(member);
        }
        await Admin.DeleteGroupAsync(group);
    }

    [Fact]
    public async Task CreatingATopicPastMaxTopics_IsResourceLimitReached_AndCreatesNothing()
    {
        var created = new List<string>();
        try
        {
            while ((await Admin.ListTopicsAsync()).Count < ClusterFixture.SmallMaxTopics)
            {
                created.Add(NewName("t"));
                await Admin.CreateTopicAsync(created[^1], 1);
            }
            var before = (await Admin.ListTopicsAsync()).Select(t => t.Name).ToList();

            var error = await Assert.ThrowsAsync<ResourceLimitReachedException>(() => Admin.CreateTopicAsync(NewName("over"), 1));

            Assert.Equal((OrleansGroupsErrorCode.ResourceLimitReached, "topics", ClusterFixture.SmallMaxTopics), (error.Code, error.Resource, error.Limit));
            Assert.Equal(before, (await Admin.ListTopicsAsync()).Select(t => t.Name));
            // Deleting one makes room again.
            await Admin.DeleteTopicAsync(created[^1]);
            await Admin.CreateTopicAsync(created[^1], 1);
        }
        finally
        {
            foreach (var topic in created)
            {
                await Admin.DeleteTopicAsync(topic);
            }
        }
    }

    [Fact]
    public async Task ANewGroupPastMaxGroups_IsResourceLimitReached_AndWritesNothing()
    {
        var topic = NewName("t");
        await Admin.CreateTopicAsync(topic, 1);
        var created = new List<string>();
        try
        {
            while ((await GroupRegistry.ListGroups()).Count < ClusterFixture.SmallMaxGroups)
            {
                created.Add(NewName("g"));
                await JoinAsync(created[^1], "m", topic);
            }
            var before = await GroupRegistry.ListGroups();
            var over = NewName("over");

            var error = await Assert.ThrowsAsync<ResourceLimitReachedException>(() => JoinAsync(over, "m", topic));

            Assert.Equal((OrleansGroupsErrorCode.ResourceLimitReached, "groups", ClusterFixture.SmallMaxGroups), (error.Code, error.Resource, error.Limit));
            Assert.Equal(before, await GroupRegistry.ListGroups());
            Assert.Empty((await Group(over).Describe()).Members);
            await Assert.ThrowsAsync<GroupIdNotFoundException>(() => Admin.DescribeGroupAsync(over));
        }
        finally
        {
            foreach (var group in created)
            {
                await LeaveAndDeleteAsync(group, "m");
            }
            await Admin.DeleteTopicAsync(topic);
        }
    }

    [Fact]
    public async Task AJoinPastGroupMaxSize_IsGroupMaxSizeReached_AndChangesNothing()
    {
        var topic = NewName("t");
        await Admin.CreateTopicAsync(topic, 2);
        var group = NewName("g");
        try
        {
            await JoinAsync(group, "m1", topic);
            await JoinAsync(group, "m2", topic);
            var before = await Group(group).Describe();

            var error = await Assert.ThrowsAsync<GroupMaxSizeReachedException>(() => JoinAsync(group, "m3", topic));

            Assert.Equal((OrleansGroupsErrorCode.GroupMaxSizeReached, group, ClusterFixture.SmallMaxGroupSize), (error.Code, error.GroupId, error.MaxSize));
            var after = await Group(group).Describe();
            Assert.Equal(before.GroupEpoch, after.GroupEpoch);
            Assert.Equal(["m1", "m2"], after.Members.Select(m => m.MemberId).Order(StringComparer.Ordinal));
        }
        finally
        {
            await LeaveAndDeleteAsync(group, "m1", "m2");
            await Admin.DeleteTopicAsync(topic);
        }
    }
}
