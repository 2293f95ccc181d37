using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Offsets;
using static OrleansGroups.Core.Coordination.MemberState;
using static OrleansGroups.Core.Tests.Coordination.GroupBuilders;

namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>
/// Admin transitions with Kafka's rules: deleting a group and resetting its offsets both need a group without
/// members. The usual group has one topic "t" with four partitions.
/// </summary>
public class GroupAdminTests
{
    private static readonly long StartMs = Start.ToUnixTimeMilliseconds();

    /// <summary>a joined, committed t/0 = 7 and t/1 = 9 at member epoch 1, and left: an empty group with offsets.</summary>
    private static TestGroup EmptyGroupWithOffsets()
    {
        var group = TestGroup.Stable(4, "a");
        group.Commit("a", 1, (0, 7), (1, 9));
        group.Leave("a");
        return group;
    }

    private static IReadOnlyList<PartitionLogBounds> Logs(params (int Partition, long Start, long End)[] logs) =>
        logs.Select(l => new PartitionLogBounds(Tp(l.Partition), l.Start, l.End)).ToList();

    // ---- Delete ----

    [Fact]
    public void DeleteGroup_Empty_ForgetsOffsetsAndEpochs()
    {
        var group = EmptyGroupWithOffsets();

        var result = group.Coordinator.DeleteGroup();

        AssertEvents([new GroupDeleted()], result.Events);
        AssertSnapshot(new GroupSnapshot { Assignor = Assignors.Default }, group.Snapshot());
        Assert.False(group.Model.HasState);
        Assert.Equal(GroupState.Empty, group.Model.State);
    }

    [Fact]
    public void DeleteGroup_WithMembers_ThrowsNonEmptyGroup_AndChangesNothing()
    {
        var group = TestGroup.Stable(4, "a", "b");
        var before = group.Snapshot();

        var error = Assert.Throws<NonEmptyGroupException>(() => group.Coordinator.DeleteGroup());

        Assert.Equal((OrleansGroupsErrorCode.NonEmptyGroup, GroupId, 2), (error.Code, error.GroupId, error.MemberCount));
        AssertSnapshot(before, group.Snapshot());
    }

    [Fact]
    public void DeleteGroup_NeverUsed_ThrowsGroupIdNotFound()
    {
        var group = TestGroup.WithTopic(4);

        var error = Assert.Throws<GroupIdNotFoundException>(() => group.Coordinator.DeleteGroup());

        Assert.Equal((OrleansGroupsErrorCode.GroupIdNotFound, GroupId), (error.Code, error.GroupId));
    }

    [Fact]
    public void DeleteGroup_Twice_SecondThrowsGroupIdNotFound()
    {
        var group = EmptyGroupWithOffsets();
        group.Coordinator.DeleteGroup();

        Assert.Throws<GroupIdNotFoundException>(() => group.Coordinator.DeleteGroup());
    }

    [Fact]
    public void DeletedGroup_IsRecreatedFromEpochOne_WithNoOffsets()
    {
        var group = EmptyGroupWithOffsets();
        group.Coordinator.DeleteGroup();

        var result = group.Join("b");

        AssertResponse(Response("b", 1, Stable, P(0, 1, 2, 3), groupEpoch: 1), result.Response);
        Assert.Empty(group.Model.Offsets);
    }

    [Fact]
    public void Apply_GroupDeleted_WithMembers_Throws()
    {
        var group = TestGroup.Stable(4, "a");

        var error = Assert.Throws<InvalidOperationException>(() => group.Model.Apply(new GroupDeleted()));

        Assert.Equal("Group 'g': cannot delete a group with 1 member(s).", error.Message);
    }

    // ---- Reset offsets ----

    [Fact]
    public void ResetOffsets_ToEarliest_CommitsLogStartsAsAdmin()
    {
        var group = EmptyGroupWithOffsets();
        group.Advance(500);

        var result = group.Coordinator.ResetOffsets(OffsetResetSpec.ToEarliest(), Logs((0, 2, 10), (2, 0, 5)), dryRun: false);

        Assert.Equal([new(Tp(0), 7, 2), new(Tp(2), null, 0)], result.Response);
        AssertEvents([Committed(Tp(0), 2, -1, Start.AddMilliseconds(500)), Committed(Tp(2), 0, -1, Start.AddMilliseconds(500))], result.Events);
        AssertOffsets(group.Model,
            (Tp(0), new CommittedOffset(2, null, StartMs + 500, -1)),
            (Tp(1), new CommittedOffset(9, null, StartMs, 1)),
            (Tp(2), new CommittedOffset(0, null, StartMs + 500, -1)));
    }

    [Fact]
    public void ResetOffsets_ToLatest_CommitsLogEnds()
    {
        var group = EmptyGroupWithOffsets();

        var result = group.Coordinator.ResetOffsets(OffsetResetSpec.ToLatest(), Logs((0, 2, 10), (1, 0, 30)), dryRun: false);

        Assert.Equal([new(Tp(0), 7, 10), new(Tp(1), 9, 30)], result.Response);
        AssertOffsets(group.Model,
            (Tp(0), new CommittedOffset(10, null, StartMs, -1)),
            (Tp(1), new CommittedOffset(30, null, StartMs, -1)));
    }

    [Fact]
    public void ResetOffsets_ShiftBy_MovesEachCommittedOffset()
    {
        var group = EmptyGroupWithOffsets();

        var result = group.Coordinator.ResetOffsets(OffsetResetSpec.ShiftBy(-3), Logs((0, 0, 10), (1, 8, 30)), dryRun: false);

        // t/0: 7 - 3 = 4; t/1: 9 - 3 = 6 is below the log start 8, so 8.
        Assert.Equal([new(Tp(0), 7, 4), new(Tp(1), 9, 8)], result.Response);
    }

    [Fact]
    public void ResetOffsets_DryRun_ReturnsThePlanAndChangesNothing()
    {
        var group = EmptyGroupWithOffsets();
        var before = group.Snapshot();

        var result = group.Coordinator.ResetOffsets(OffsetResetSpec.ToOffset(5), Logs((0, 0, 10), (1, 0, 10)), dryRun: true);

        Assert.Equal([new(Tp(0), 7, 5), new(Tp(1), 9, 5)], result.Response);
        Assert.False(result.Changed);
        AssertSnapshot(before, group.Snapshot());
    }

    [Fact]
    public void ResetOffsets_WithMembers_ThrowsNonEmptyGroup_EvenForADryRun()
    {
        var group = TestGroup.Stable(4, "a");
        var before = group.Snapshot();

        var error = Assert.Throws<NonEmptyGroupException>(() =>
            group.Coordinator.ResetOffsets(OffsetResetSpec.ToEarliest(), Logs((0, 0, 10)), dryRun: true));

        Assert.Equal((GroupId, 1), (error.GroupId, error.MemberCount));
        AssertSnapshot(before, group.Snapshot());
    }

    [Fact]
    public void ResetOffsets_OnANewGroup_CreatesItsOffsets()
    {
        var group = TestGroup.WithTopic(4);

        var result = group.Coordinator.ResetOffsets(OffsetResetSpec.ToOffset(3), Logs((0, 0, 10)), dryRun: false);

        Assert.Equal([new OffsetResetResult(Tp(0), null, 3)], result.Response);
        Assert.True(group.Model.HasState);
    }

    [Fact]
    public void ResetOffsets_ShiftWithoutCommit_IsRejected_AndWritesNothing()
    {
        var group = EmptyGroupWithOffsets();
        var before = group.Snapshot();

        Assert.Throws<InvalidRequestException>(() =>
            group.Coordinator.ResetOffsets(OffsetResetSpec.ShiftBy(1), Logs((0, 0, 10), (3, 0, 10)), dryRun: false));

        AssertSnapshot(before, group.Snapshot());
    }
}
