using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using static OrleansGroups.Core.Coordination.MemberState;
using static OrleansGroups.Core.Tests.Coordination.GroupBuilders;

namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>
/// Static membership (KIP-345, with KIP-848's temporary leave): one transition per test. The usual group is
/// <see cref="StableStatic"/>: static members a ("ia") and b ("ib") at group epoch 2, a owning t/0, t/1 and b t/2, t/3.
/// </summary>
public class StaticMembershipTests
{
    private static TestGroup StableStatic()
    {
        var group = TestGroup.WithTopic(4);
        group.JoinStatic("a", "ia");
        group.JoinStatic("b", "ib");
        group.Stabilize();
        AssertMember(Member("a", 2, Stable, P(0, 1), instanceId: "ia"), group["a"]);
        AssertMember(Member("b", 2, Stable, P(2, 3), instanceId: "ib"), group["b"]);
        return group;
    }

    [Fact]
    public void TemporaryLeave_KeepsTheAssignment_AndDoesNotRebalance()
    {
        var group = StableStatic();

        var result = group.LeaveWithEpoch("a", MemberEpochs.TemporaryLeave);

        var left = Member("a", MemberEpochs.TemporaryLeave, Stable, P(0, 1), instanceId: "ia");
        AssertEvents([Upserted(left)], result.Events);
        AssertResponse(new HeartbeatResponse("a", -2, Options.HeartbeatIntervalMs, [], Stable, 2), result.Response);
        AssertMember(left, group["a"]);
        Assert.Equal((2, 2), (group.Model.GroupEpoch, group.Model.AssignmentEpoch));
        Assert.True(P(0, 1).SetEquals(group.Model.TargetOf("a")));
    }

    [Fact]
    public void RestartAfterTemporaryLeave_TakesOverTheAssignment_WithoutEpochBump()
    {
        var group = StableStatic();
        group.LeaveWithEpoch("a", MemberEpochs.TemporaryLeave);
        group.Advance(SessionTimeoutMs - 1);

        var result = group.JoinStatic("a2", "ia");

        AssertEvents([
            new MemberReplaced("a", Member("a2", 0, Stable, P(0, 1), instanceId: "ia")),
            Upserted(Member("a2", 2, Stable, P(0, 1), instanceId: "ia")),
        ], result.Events);
        AssertResponse(Response("a2", 2, Stable, P(0, 1), groupEpoch: 2), result.Response);
        Assert.Equal(["a2", "b"], group.Model.Members.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["a2", "b"], group.Model.TargetAssignment.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((GroupState.Stable, 2, 2), (group.Model.State, group.Model.GroupEpoch, group.Model.AssignmentEpoch));
    }

    [Fact]
    public void RestartWithoutLeaving_WithinTheSessionTimeout_TakesOverTheAssignment()
    {
        var group = StableStatic();
        group.Advance(SessionTimeoutMs - 1); // a crashed: no leave, its session still runs

        var result = group.JoinStatic("a2", "ia");

        AssertEvents([
            new MemberReplaced("a", Member("a2", 0, Stable, P(0, 1), instanceId: "ia")),
            Upserted(Member("a2", 2, Stable, P(0, 1), instanceId: "ia")),
        ], result.Events);
        Assert.Equal(2, group.Model.GroupEpoch);
        // The new incarnation has a fresh session; the old one's clock is gone with it.
        group.Advance(1);
        Assert.Equal(["b"], group.Expire().Response);
    }

    [Fact]
    public void TemporarilyLeftMember_IsEvictedAtItsSessionTimeout_ThenItsPartitionsMove()
    {
        var group = StableStatic();
        group.Advance(1_000);
        group.LeaveWithEpoch("a", MemberEpochs.TemporaryLeave); // its session still counts from its last heartbeat, at Start
        group.Advance(SessionTimeoutMs / 2);
        group.Heartbeat("b");
        Assert.True(P(2, 3).SetEquals(group["b"].AssignedPartitions)); // nothing moved while a was away
        group.Advance(SessionTimeoutMs / 2 - 1_000);

        var expired = group.Expire();
        var next = group.Heartbeat("b");

        Assert.Equal(["a"], expired.Response);
        AssertEvents([Removed("a", "session timeout (10000 ms)"), EpochBumped(3, (T, 4)), TargetComputed(3, ("b", P(0, 1, 2, 3)))], expired.Events);
        AssertResponse(Response("b", 3, Stable, P(0, 1, 2, 3), groupEpoch: 3), next.Response);
    }

    [Fact]
    public void TemporaryLeave_WhileRevoking_ReleasesWhatItWasGivingUp()
    {
        var group = StableStatic();
        group.Join("c");
        group.Heartbeat("a"); // told to give t/1 to c
        AssertMember(Member("a", 2, UnrevokedPartitions, P(0), pending: P(1), instanceId: "ia"), group["a"]);

        var left = group.LeaveWithEpoch("a", MemberEpochs.TemporaryLeave);
        var taken = group.Heartbeat("c");

        AssertEvents([Upserted(Member("a", -2, Stable, P(0), instanceId: "ia"))], left.Events);
        AssertResponse(Response("c", 3, Stable, P(1), groupEpoch: 3), taken.Response);
    }

    [Fact]
    public void ReturnAfterTheTargetChanged_KeepsOnlyWhatItStillTargets()
    {
        var group = StableStatic();
        group.LeaveWithEpoch("a", MemberEpochs.TemporaryLeave);
        group.Join("c"); // the target moves t/1 from a to c, but a (away) still owns it: c waits
        Assert.Equal(UnreleasedPartitions, group["c"].State);

        var back = group.JoinStatic("a2", "ia");
        var taken = group.Heartbeat("c");

        AssertEvents([
            new MemberReplaced("a", Member("a2", 0, Stable, P(0), instanceId: "ia")),
            Upserted(Member("a2", 3, Stable, P(0), instanceId: "ia")),
        ], back.Events);
        AssertResponse(Response("c", 3, Stable, P(1), groupEpoch: 3), taken.Response);
        AssertNoPartitionOwnedTwice(group.Model);
    }

    [Fact]
    public void RestartWithADifferentSubscription_BumpsTheEpoch()
    {
        var group = new TestGroup((T, 4), (U, 2));
        group.JoinStatic("a", "ia");
        group.Stabilize();

        var result = group.JoinStatic("a2", "ia", T, U);

        AssertEvents([
            new MemberReplaced("a", Member("a2", 0, Stable, P(0, 1, 2, 3), topics: [T, U], instanceId: "ia")),
            EpochBumped(2, (T, 4), (U, 2)),
            TargetComputed(2, ("a2", P(0, 1, 2, 3).Union(P(U, 0, 1)))),
            Upserted(Member("a2", 2, Stable, P(0, 1, 2, 3).Union(P(U, 0, 1)), topics: [T, U], instanceId: "ia")),
        ], result.Events);
    }

    [Fact]
    public void DuplicateInstanceId_FencesTheOldMember()
    {
        var group = StableStatic();

        // A second process starts with a's instance id while a is alive: it replaces a.
        group.JoinStatic("x", "ia");
        var before = group.Snapshot();

        var heartbeat = Assert.Throws<FencedInstanceIdException>(() => group.Heartbeat("a", 2, [.. P(0, 1)]));
        var leave = Assert.Throws<FencedInstanceIdException>(() =>
            group.Coordinator.Heartbeat(new HeartbeatRequest("a", MemberEpochs.TemporaryLeave, "ia", "client-a", null, null), group.PartitionCounts));
        var commit = Assert.Throws<UnknownMemberException>(() => group.Commit("a", 2, (0, 5)));

        Assert.Equal((OrleansGroupsErrorCode.FencedInstanceId, GroupId, "a", "ia", "x"),
            (heartbeat.Code, heartbeat.GroupId, heartbeat.MemberId, heartbeat.InstanceId, heartbeat.CurrentMemberId));
        Assert.Equal("Member 'a' of group 'g' is fenced: static instance id 'ia' now belongs to member 'x'.", heartbeat.Message);
        Assert.Equal("x", leave.CurrentMemberId);
        Assert.Equal("a", commit.MemberId);
        AssertSnapshot(before, group.Snapshot());
        AssertMember(Member("x", 2, Stable, P(0, 1), instanceId: "ia"), group["x"]);
    }

    [Fact]
    public void StaticMemberLeavingForGood_Rebalances()
    {
        var group = StableStatic();

        var result = group.LeaveWithEpoch("a", MemberEpochs.Leave);

        AssertEvents([Removed("a", "left the group"), EpochBumped(3, (T, 4)), TargetComputed(3, ("b", P(0, 1, 2, 3)))], result.Events);
        AssertResponse(new HeartbeatResponse("a", -1, Options.HeartbeatIntervalMs, [], Stable, 3), result.Response);
    }

    [Fact]
    public void DynamicMemberSendingTemporaryLeave_LeavesForGood()
    {
        var group = TestGroup.Stable(4, "a", "b");

        var result = group.LeaveWithEpoch("a", MemberEpochs.TemporaryLeave);

        AssertEvents([Removed("a", "left the group"), EpochBumped(3, (T, 4)), TargetComputed(3, ("b", P(0, 1, 2, 3)))], result.Events);
    }

    [Fact]
    public void Leave_UnknownMember_ThrowsUnknownMember()
    {
        var group = StableStatic();

        Assert.Throws<UnknownMemberException>(() => group.LeaveWithEpoch("nobody", MemberEpochs.Leave));
        Assert.Throws<UnknownMemberException>(() =>
            group.Coordinator.Heartbeat(new HeartbeatRequest("z", MemberEpochs.TemporaryLeave, "iz", "client-z", null, null), group.PartitionCounts));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public void BlankInstanceId_IsInvalid(string instanceId)
    {
        var group = TestGroup.WithTopic(4);

        var error = Assert.Throws<InvalidRequestException>(() => group.JoinStatic("a", instanceId));

        Assert.Contains("instance id (group.instance.id) cannot be blank", error.Message);
        Assert.False(group.Model.HasState);
    }

    [Theory]
    [InlineData(-3)]
    [InlineData(int.MinValue)]
    public void NegativeEpochThatIsNotALeave_IsInvalid(int epoch)
    {
        var group = StableStatic();

        var error = Assert.Throws<InvalidRequestException>(() => group.Heartbeat("a", epoch, []));

        Assert.Contains($"Member epoch {epoch} is not valid", error.Message);
    }

    [Fact]
    public void TemporarilyLeftIncarnation_HeartbeatingAgain_IsFencedAndMayRejoin()
    {
        var group = StableStatic();
        group.LeaveWithEpoch("a", MemberEpochs.TemporaryLeave);

        Assert.Throws<FencedMemberEpochException>(() => group.Heartbeat("a", 2, [.. P(0, 1)]));
        var rejoined = group.JoinStatic("a", "ia");

        AssertResponse(Response("a", 2, Stable, P(0, 1), groupEpoch: 2), rejoined.Response);
        Assert.Equal(2, group.Model.GroupEpoch);
    }

    [Fact]
    public void Reload_KeepsTheTemporarilyLeftMember()
    {
        var group = StableStatic();
        group.LeaveWithEpoch("a", MemberEpochs.TemporaryLeave);

        var reloaded = group.Reload();
        var back = reloaded.JoinStatic("a2", "ia");

        AssertResponse(Response("a2", 2, Stable, P(0, 1), groupEpoch: 2), back.Response);
    }

    [Fact]
    public void StaticTransitions_ReplayFromTheirEvents()
    {
        var group = StableStatic();
        var steps = new List<(string Name, Func<IReadOnlyList<GroupEvent>> Run)>
        {
            ("c joins", () => group.Join("c").Events),
            ("a is told to revoke", () => group.Heartbeat("a").Events),
            ("a leaves temporarily", () => group.LeaveWithEpoch("a", MemberEpochs.TemporaryLeave).Events),
            ("a returns as a2", () => group.JoinStatic("a2", "ia").Events),
            ("x takes b's instance id", () => group.JoinStatic("x", "ib").Events),
            ("everyone heartbeats", () => [.. group.Model.Members.Keys.Order(StringComparer.Ordinal).ToList().SelectMany(m => group.Heartbeat(m).Events)]),
        };

        foreach (var (name, run) in steps)
        {
            var before = group.Snapshot();
            var events = run();
            var replayed = ConsumerGroupModel.FromSnapshot(GroupId, before, "uniform");
            foreach (var groupEvent in events)
                replayed.Apply(groupEvent);

            Assert.True(Show(group.Snapshot()) == Show(replayed.ToSnapshot()), $"After '{name}' the replay differs");
            AssertNoPartitionOwnedTwice(group.Model);
        }
        Assert.Equal(GroupState.Stable, group.Model.State);
    }

    [Fact]
    public void Apply_MemberReplaced_OfADynamicMember_Throws()
    {
        var group = TestGroup.Stable(4, "a");

        var error = Assert.Throws<InvalidOperationException>(() =>
            group.Model.Apply(new MemberReplaced("a", Member("a2", 0, instanceId: "ia"))));

        Assert.Equal("Group 'g': 'a2' can only replace a static member with instance id 'ia', not 'a'.", error.Message);
    }

    [Fact]
    public void Apply_MemberUpserted_WithAnInstanceIdHeldByAnother_Throws()
    {
        var group = StableStatic();

        var error = Assert.Throws<InvalidOperationException>(() => group.Model.Apply(Upserted(Member("z", 0, instanceId: "ia"))));

        Assert.Equal("Group 'g': instance id 'ia' given to 'z' is still held by 'a'.", error.Message);
    }
}
