using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using static OrleansGroups.Core.Coordination.MemberState;
using static OrleansGroups.Core.Tests.Coordination.GroupBuilders;

namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>
/// The server-side assignor per group (KIP-848's <c>ServerAssignor</c>): members name the one they prefer, the
/// group uses the most wanted one, and its default ("uniform" here) when nobody states a preference.
/// </summary>
public class AssignorSelectionTests
{
    private static GroupResult<HeartbeatResponse> JoinWith(TestGroup group, string memberId, string? assignor, params string[] topics)
    {
        var result = group.Coordinator.Heartbeat(new HeartbeatRequest(memberId, 0, null, ClientIdOf(memberId),
            topics.Length == 0 ? [T] : topics, [], SessionTimeoutMs, RebalanceTimeoutMs, assignor), group.PartitionCounts);
        group.Views[memberId] = result.Response;
        return result;
    }

    [Fact]
    public void Join_AskingForRange_SwitchesTheGroupToRange()
    {
        var group = TestGroup.WithTopic(4);

        var result = JoinWith(group, "a", "range");

        AssertEvents([
            Upserted(Member("a", 0, assignor: "range")),
            EpochBumped(1, (T, 4)),
            new AssignorSelected("range"),
            TargetComputed(1, ("a", P(0, 1, 2, 3))),
            Upserted(Member("a", 1, Stable, P(0, 1, 2, 3), assignor: "range")),
        ], result.Events);
        Assert.Equal("range", group.Model.Assignor);
        Assert.Equal("range", group.Coordinator.Describe().Assignor);
    }

    [Fact]
    public void RangeGroup_AssignsContiguousRanges_WhereUniformWouldStick()
    {
        var group = TestGroup.WithTopic(3);
        JoinWith(group, "b", "range");
        group.Stabilize();

        JoinWith(group, "a", "range");
        group.Stabilize();

        // Range sorts members by id, so a (joined last) takes the first range: a {0, 1}, b {2}. The sticky uniform
        // assignor would have left b its first partitions.
        AssertMember(Member("a", 2, Stable, P(0, 1), assignor: "range"), group["a"]);
        AssertMember(Member("b", 2, Stable, P(2), assignor: "range"), group["b"]);
    }

    [Fact]
    public void MostWantedAssignorWins()
    {
        var group = TestGroup.WithTopic(4);
        JoinWith(group, "a", "range");
        JoinWith(group, "b", "uniform");

        JoinWith(group, "c", "uniform");

        Assert.Equal("uniform", group.Model.Assignor);
    }

    [Fact]
    public void OnATie_TheGroupKeepsItsAssignor()
    {
        var group = TestGroup.WithTopic(4);
        JoinWith(group, "a", "range");

        var result = JoinWith(group, "b", "uniform");

        Assert.DoesNotContain(result.Events, e => e is AssignorSelected);
        Assert.Equal("range", group.Model.Assignor);
    }

    [Fact]
    public void StickyIsStoredAsUniform()
    {
        var group = TestGroup.WithTopic(4);

        JoinWith(group, "a", "sticky");

        Assert.Equal("uniform", group["a"].ServerAssignor);
        Assert.Equal("uniform", group.Model.Assignor);
    }

    [Fact]
    public void UnknownAssignor_IsRejected_AndNothingChanges()
    {
        var group = TestGroup.Stable(4, "a");
        var before = group.Snapshot();

        var error = Assert.Throws<InvalidRequestException>(() => JoinWith(group, "b", "roundrobin"));

        Assert.StartsWith("Unknown assignor 'roundrobin'", error.Message);
        AssertSnapshot(before, group.Snapshot());
    }

    [Fact]
    public void ChangingThePreferenceInAHeartbeat_BumpsTheEpochAndSwitches()
    {
        var group = TestGroup.Stable(4, "a");

        var result = group.Coordinator.Heartbeat(
            new HeartbeatRequest("a", 1, null, ClientIdOf("a"), null, [.. P(0, 1, 2, 3)], ServerAssignor: "range"), group.PartitionCounts);

        AssertEvents([
            Upserted(Member("a", 1, Stable, P(0, 1, 2, 3), assignor: "range")),
            EpochBumped(2, (T, 4)),
            new AssignorSelected("range"),
            TargetComputed(2, ("a", P(0, 1, 2, 3))),
            Upserted(Member("a", 2, Stable, P(0, 1, 2, 3), assignor: "range")),
        ], result.Events);
    }

    [Fact]
    public void HeartbeatWithoutAnAssignor_KeepsThePreference()
    {
        var group = TestGroup.WithTopic(4);
        JoinWith(group, "a", "range");

        var result = group.Heartbeat("a");

        Assert.False(result.Changed);
        Assert.Equal("range", group["a"].ServerAssignor);
    }

    [Fact]
    public void WhenTheLastMemberWantingRangeLeaves_TheDefaultReturns()
    {
        var group = TestGroup.WithTopic(4);
        JoinWith(group, "a", "range");
        JoinWith(group, "b", null);

        var result = group.Leave("a");

        AssertEvents([
            Removed("a", "left the group"),
            EpochBumped(3, (T, 4)),
            new AssignorSelected("uniform"),
            TargetComputed(3, ("b", P(0, 1, 2, 3))),
        ], result.Events);
    }

    [Fact]
    public void Snapshot_KeepsMemberPreferencesAndTheGroupsAssignor()
    {
        var group = TestGroup.WithTopic(4);
        JoinWith(group, "a", "range");

        var reloaded = group.Reload();

        Assert.Equal(("range", "range", "uniform"), (reloaded.Model.Assignor, reloaded["a"].ServerAssignor, reloaded.Model.DefaultAssignor));
        AssertSnapshot(group.Snapshot(), reloaded.Snapshot());
    }
}
