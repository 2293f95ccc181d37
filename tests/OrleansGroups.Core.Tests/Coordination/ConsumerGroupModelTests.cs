using System.Text.Json;
using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Coordination;
using static OrleansGroups.Core.Coordination.MemberState;
using static OrleansGroups.Core.Tests.Coordination.GroupBuilders;

namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>The group state on its own: <see cref="ConsumerGroupModel.Apply"/>, its invariants, and snapshots.</summary>
public class ConsumerGroupModelTests
{
    [Fact]
    public void Apply_MemberUpserted_WithPartitionOwnedByAnother_Throws()
    {
        var model = new ConsumerGroupModel(GroupId, Assignors.Default);
        model.Apply(Upserted(Member("a", 1, Stable, P(0, 1))));
        var before = model.ToSnapshot();

        var error = Assert.Throws<InvalidOperationException>(() => model.Apply(Upserted(Member("b", 1, Stable, P(1, 2)))));

        Assert.Equal("Group 'g': partition t/1 given to 'b' is still owned by 'a'.", error.Message);
        AssertSnapshot(before, model.ToSnapshot());
    }

    [Fact]
    public void Apply_MemberUpserted_WithPartitionPendingRevocationByAnother_Throws()
    {
        var model = new ConsumerGroupModel(GroupId, Assignors.Default);
        model.Apply(Upserted(Member("a", 1, UnrevokedPartitions, P(0), pending: P(1))));

        var error = Assert.Throws<InvalidOperationException>(() => model.Apply(Upserted(Member("b", 2, Stable, P(1)))));

        Assert.Contains("t/1 given to 'b' is still owned by 'a'", error.Message);
        Assert.False(model.Members.ContainsKey("b"));
    }

    [Fact]
    public void Apply_MemberUpserted_SameMemberKeepingItsPartitions_IsAccepted()
    {
        var model = new ConsumerGroupModel(GroupId, Assignors.Default);
        model.Apply(Upserted(Member("a", 1, Stable, P(0, 1))));

        model.Apply(Upserted(Member("a", 1, UnrevokedPartitions, P(0), pending: P(1))));

        AssertMember(Member("a", 1, UnrevokedPartitions, P(0), pending: P(1)), model.Members["a"]);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public void Apply_GroupEpochBumped_ThatDoesNotGrow_Throws(int epoch)
    {
        var model = new ConsumerGroupModel(GroupId, Assignors.Default);
        model.Apply(EpochBumped(3, (T, 4)));

        var error = Assert.Throws<InvalidOperationException>(() => model.Apply(EpochBumped(epoch, (T, 8))));

        Assert.Equal($"Group 'g': epoch must grow, got {epoch} after 3.", error.Message);
        Assert.Equal(3, model.GroupEpoch);
        Assert.Equal(4, model.SubscribedPartitionCounts[T]);
    }

    [Fact]
    public void Apply_MemberRemoved_DropsMemberAndItsTarget()
    {
        var model = new ConsumerGroupModel(GroupId, Assignors.Default);
        model.Apply(Upserted(Member("a", 1, Stable, P(0, 1))));
        model.Apply(Upserted(Member("b", 1, Stable, P(2, 3))));
        model.Apply(TargetComputed(1, ("a", P(0, 1)), ("b", P(2, 3))));

        model.Apply(Removed("a", "left the group"));

        Assert.Equal(["b"], model.Members.Keys);
        Assert.Equal(["b"], model.TargetAssignment.Keys);
        Assert.Null(model.OwnerOf(Tp(0)));
        Assert.Empty(model.TargetOf("a"));
    }

    [Fact]
    public void State_FollowsMembersAndEpochs()
    {
        var model = new ConsumerGroupModel(GroupId, Assignors.Default);
        Assert.Equal(GroupState.Empty, model.State);

        model.Apply(Upserted(Member("a", 0)));
        model.Apply(EpochBumped(1, (T, 4)));
        model.Apply(TargetComputed(1, ("a", P(0, 1, 2, 3))));
        Assert.Equal(GroupState.Reconciling, model.State); // a is Stable, but at epoch 0

        model.Apply(Upserted(Member("a", 1, Stable, P(0, 1, 2, 3))));
        Assert.Equal(GroupState.Stable, model.State);

        model.Apply(EpochBumped(2, (T, 4)));
        Assert.Equal(GroupState.Reconciling, model.State); // the target is older than the group epoch
    }

    [Fact]
    public void Snapshot_RoundTrip_PreservesGroup()
    {
        var group = MixedGroup();
        var original = group.Model;

        var snapshot = original.ToSnapshot();
        var restored = ConsumerGroupModel.FromSnapshot(GroupId, snapshot, defaultAssignor: "range");

        Assert.Equal((GroupId, "uniform", original.GroupEpoch, original.AssignmentEpoch), (restored.GroupId, restored.Assignor, restored.GroupEpoch, restored.AssignmentEpoch));
        Assert.Equal(original.Members.Keys.Order(), restored.Members.Keys.Order());
        foreach (var (memberId, member) in original.Members)
        {
            AssertMember(member, restored.Members[memberId]);
            Assert.True(original.TargetOf(memberId).SetEquals(restored.TargetOf(memberId)), $"target of {memberId}");
        }
        Assert.Equal(original.SubscribedPartitionCounts.OrderBy(c => c.Key), restored.SubscribedPartitionCounts.OrderBy(c => c.Key));
        Assert.Equal(original.Offsets.OrderBy(o => o.Key), restored.Offsets.OrderBy(o => o.Key));
        Assert.Equal(original.State, restored.State);
        AssertSnapshot(snapshot, restored.ToSnapshot());
    }

    [Fact]
    public void Snapshot_JsonRoundTrip_PreservesGroup()
    {
        var snapshot = MixedGroup().Model.ToSnapshot();

        var json = JsonSerializer.Serialize(snapshot);
        var restored = ConsumerGroupModel.FromSnapshot(GroupId, JsonSerializer.Deserialize<GroupSnapshot>(json)!, Assignors.Default);

        AssertSnapshot(snapshot, restored.ToSnapshot());
    }

    [Fact]
    public void Snapshot_WithoutAssignor_UsesTheDefault()
    {
        var restored = ConsumerGroupModel.FromSnapshot(GroupId, new GroupSnapshot(), defaultAssignor: "range");

        Assert.Equal("range", restored.Assignor);
        Assert.Equal(GroupState.Empty, restored.State);
    }

    [Fact]
    public void EventsAreTheOnlyWayStateChanges()
    {
        var group = new TestGroup((T, 4), (U, 2));
        var steps = new List<(string Name, Func<IReadOnlyList<GroupEvent>> Run)>
        {
            ("a joins", () => group.Join("a", T, U).Events),
            ("b joins", () => group.Join("b").Events),
            ("a is told to revoke", () => group.Heartbeat("a").Events),
            ("a commits a partition it is releasing", () => group.Commit("a", 1, (2, 10)).Events),
            ("a confirms", () => group.Heartbeat("a").Events),
            ("b takes over", () => group.Heartbeat("b").Events),
            ("t grows", () => { group.PartitionCounts[T] = 6; return group.Heartbeat("b").Events; }),
            ("c joins", () => group.Join("c", U).Events),
            ("b changes subscription", () => group.Heartbeat("b", group.Views["b"].MemberEpoch, group.Views["b"].Assignment, [T, U]).Events),
            ("b leaves", () => group.Leave("b").Events),
            ("c's session expires", () =>
            {
                group.Advance(SessionTimeoutMs / 2);
                var heartbeat = group.Heartbeat("a").Events;
                group.Advance(SessionTimeoutMs / 2);
                return [.. heartbeat, .. group.Expire().Events];
            }),
            ("a rejoins", () => group.Join("a").Events),
        };

        foreach (var (name, run) in steps)
        {
            var before = group.Snapshot();
            var events = run();
            var replayed = ConsumerGroupModel.FromSnapshot(GroupId, before, Assignors.Default);
            foreach (var groupEvent in events)
                replayed.Apply(groupEvent);

            Assert.True(Show(group.Snapshot()) == Show(replayed.ToSnapshot()),
                $"After '{name}' the replayed events gave{Environment.NewLine}{Show(replayed.ToSnapshot())}but the coordinator has{Environment.NewLine}{Show(group.Snapshot())}");
        }
    }

    /// <summary>Two topics, a member revoking, a member waiting, offsets committed: every part of a snapshot in use.</summary>
    private static TestGroup MixedGroup()
    {
        var group = new TestGroup((T, 4), (U, 2));
        group.Join("a", T, U);
        group.Commit("a", 1, (0, 11), (3, 33));
        group.Join("b", T);
        group.Heartbeat("a");
        Assert.Equal(UnrevokedPartitions, group["a"].State);
        Assert.Equal(UnreleasedPartitions, group["b"].State);
        return group;
    }
}
