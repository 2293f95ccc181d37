using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Offsets;
using static OrleansGroups.Core.Coordination.MemberState;
using static OrleansGroups.Core.Tests.Coordination.GroupBuilders;

namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>
/// One protocol transition per test. Unless a test says otherwise the group has one topic "t" with four
/// partitions, and <c>TestGroup.Stable(4, "a", "b")</c> is the textbook split: group epoch 2, a owns t/0 and t/1,
/// b owns t/2 and t/3, both at member epoch 2.
/// </summary>
public class GroupCoordinatorTests
{
    // ---- Join and reconciliation ----

    [Fact]
    public void Join_FirstMember_GetsAllPartitionsAndStable()
    {
        var group = TestGroup.WithTopic(4);

        var result = group.Join("a");

        AssertEvents([
            Upserted(Member("a", 0)),
            EpochBumped(1, (T, 4)),
            TargetComputed(1, ("a", P(0, 1, 2, 3))),
            Upserted(Member("a", 1, Stable, P(0, 1, 2, 3))),
        ], result.Events);
        AssertResponse(Response("a", 1, Stable, P(0, 1, 2, 3), groupEpoch: 1), result.Response);
        AssertMember(Member("a", 1, Stable, P(0, 1, 2, 3)), group["a"]);
        Assert.Equal(GroupState.Stable, group.Model.State);
    }

    [Fact]
    public void SecondMemberJoins_WaitsInUnreleasedPartitionsWhileFirstStillOwnsThem()
    {
        var group = TestGroup.WithTopic(4);
        group.Join("a");

        var result = group.Join("b");

        // The sticky target moves a's two highest partitions: a keeps t/0, t/1 and b is to get t/2, t/3 once a lets go.
        AssertEvents([
            Upserted(Member("b", 0)),
            EpochBumped(2, (T, 4)),
            TargetComputed(2, ("a", P(0, 1)), ("b", P(2, 3))),
            Upserted(Member("b", 2, UnreleasedPartitions)),
        ], result.Events);
        AssertResponse(Response("b", 2, UnreleasedPartitions, P(), groupEpoch: 2), result.Response);
        AssertMember(Member("a", 1, Stable, P(0, 1, 2, 3)), group["a"]);
        Assert.Equal(GroupState.Reconciling, group.Model.State);
    }

    [Fact]
    public void SecondMemberJoins_FirstMemberMustRevokeHalf()
    {
        var group = TestGroup.WithTopic(4);
        group.Join("a");
        group.Join("b");

        var result = group.Heartbeat("a");

        // The member keeps its epoch until it confirms the revocation.
        var expected = Member("a", 1, UnrevokedPartitions, assigned: P(0, 1), pending: P(2, 3));
        AssertEvents([Upserted(expected)], result.Events);
        AssertResponse(Response("a", 1, UnrevokedPartitions, P(0, 1), groupEpoch: 2), result.Response);
        AssertMember(expected, group["a"]);
    }

    [Fact]
    public void RevokingMember_StillOwningRevokedPartitions_StaysUnrevoked()
    {
        var group = TestGroup.WithTopic(4);
        group.Join("a");
        group.Join("b");
        group.Heartbeat("a");

        var result = group.Heartbeat("a", 1, [.. P(0, 1, 2, 3)]);

        Assert.Empty(result.Events);
        AssertResponse(Response("a", 1, UnrevokedPartitions, P(0, 1), groupEpoch: 2), result.Response);
        AssertMember(Member("a", 1, UnrevokedPartitions, assigned: P(0, 1), pending: P(2, 3)), group["a"]);
    }

    [Fact]
    public void RevokingMember_HeartbeatWithoutOwnedPartitions_DoesNotConfirmRelease()
    {
        var group = TestGroup.WithTopic(4);
        group.Join("a");
        group.Join("b");
        group.Heartbeat("a");

        // Null owned partitions mean "unchanged", which is not a confirmation.
        var result = group.Heartbeat("a", 1, owned: null);

        Assert.Empty(result.Events);
        AssertMember(Member("a", 1, UnrevokedPartitions, assigned: P(0, 1), pending: P(2, 3)), group["a"]);
    }

    [Fact]
    public void RevokingMember_ConfirmsRelease_NewOwnerGetsPartitionsOnNextHeartbeat()
    {
        var group = TestGroup.WithTopic(4);
        group.Join("a");
        group.Join("b");
        group.Heartbeat("a");

        var confirmed = group.Heartbeat("a");
        var handedOver = group.Heartbeat("b");

        AssertEvents([Upserted(Member("a", 2, Stable, P(0, 1)))], confirmed.Events);
        AssertResponse(Response("a", 2, Stable, P(0, 1), groupEpoch: 2), confirmed.Response);
        AssertEvents([Upserted(Member("b", 2, Stable, P(2, 3)))], handedOver.Events);
        AssertResponse(Response("b", 2, Stable, P(2, 3), groupEpoch: 2), handedOver.Response);
        Assert.Equal(GroupState.Stable, group.Model.State);
    }

    [Fact]
    public void PartitionNotReleased_NewOwnerWaitsInUnreleasedPartitions()
    {
        var group = TestGroup.WithTopic(4);
        group.Join("a");
        group.Join("b");
        group.Heartbeat("a");

        // a was told to revoke t/2 and t/3 but has not confirmed yet: they are still a's.
        var result = group.Heartbeat("b");

        Assert.Empty(result.Events);
        AssertResponse(Response("b", 2, UnreleasedPartitions, P(), groupEpoch: 2), result.Response);
        AssertMember(Member("b", 2, UnreleasedPartitions), group["b"]);
    }

    [Fact]
    public void StableMemberWhoseTargetDidNotChange_MovesToTheNewEpochWithoutPausing()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.Join("c");

        // c takes one of a's partitions; b keeps both and only learns the new epoch.
        var result = group.Heartbeat("b");

        AssertEvents([Upserted(Member("b", 3, Stable, P(2, 3)))], result.Events);
        AssertResponse(Response("b", 3, Stable, P(2, 3), groupEpoch: 3), result.Response);
    }

    [Fact]
    public void HeartbeatInterval_IsShortWhileReconciling()
    {
        var group = TestGroup.WithTopic(4);

        var alone = group.Join("a");
        var waiting = group.Join("b");

        Assert.Equal(1_000, alone.Response.HeartbeatIntervalMs);
        Assert.Equal(100, waiting.Response.HeartbeatIntervalMs);
    }

    [Theory]
    [InlineData(0, 45_000)]
    [InlineData(10, 1_000)]
    [InlineData(20_000, 20_000)]
    [InlineData(5_000_000, 1_800_000)]
    public void Join_SessionTimeout_IsDefaultedAndClamped(int requested, int granted)
    {
        var group = TestGroup.WithTopic(4);

        group.Coordinator.Heartbeat(new HeartbeatRequest("a", 0, null, "client-a", [T], [], requested), group.PartitionCounts);

        Assert.Equal(granted, group["a"].SessionTimeoutMs);
        Assert.Equal(Options.DefaultRebalanceTimeoutMs, group["a"].RebalanceTimeoutMs);
    }

    [Fact]
    public void Join_TopicThatDoesNotExist_GetsNothingAndIsStable()
    {
        var group = TestGroup.WithTopic(4);

        var result = group.Join("a", "missing");

        AssertEvents([
            Upserted(Member("a", 0, topics: ["missing"])),
            EpochBumped(1),
            TargetComputed(1, ("a", P())),
            Upserted(Member("a", 1, Stable, topics: ["missing"])),
        ], result.Events);
        AssertResponse(Response("a", 1, Stable, P(), groupEpoch: 1), result.Response);
    }

    // ---- Bounds on the join path ----

    [Fact]
    public void Join_PastGroupMaxSize_IsRefusedAndChangesNothing()
    {
        var group = TestGroup.WithOptions(GroupBuilders.Options with { MaxGroupSize = 2 }, 4);
        group.Join("a");
        group.Join("b");
        var before = group.Snapshot();

        var error = Assert.Throws<GroupMaxSizeReachedException>(() => group.Join("c"));

        Assert.Equal((OrleansGroupsErrorCode.GroupMaxSizeReached, GroupId, 2), (error.Code, error.GroupId, error.MaxSize));
        AssertSnapshot(before, group.Snapshot());
    }

    [Fact]
    public void Rejoin_OfAMemberOfAFullGroup_IsAccepted()
    {
        var group = TestGroup.WithOptions(GroupBuilders.Options with { MaxGroupSize = 2 }, 4);
        group.Join("a");
        group.Join("b");

        var result = group.Join("b");

        Assert.Equal(2, group.Model.Members.Count);
        Assert.Equal("b", result.Response.MemberId);
    }

    [Fact]
    public void StaticTakeover_InAFullGroup_IsAccepted()
    {
        var group = TestGroup.WithOptions(GroupBuilders.Options with { MaxGroupSize = 2 }, 4);
        group.JoinStatic("a", "instance-a");
        group.Join("b");

        group.JoinStatic("a2", "instance-a");

        Assert.Equal(["a2", "b"], group.Model.Members.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Join_AskingForAHugeRebalanceTimeout_IsClampedToTheMaximum()
    {
        var group = TestGroup.WithOptions(GroupBuilders.Options with { MaxRebalanceTimeoutMs = 60_000 }, 4);

        group.Coordinator.Heartbeat(new HeartbeatRequest("a", 0, null, "x", [T], [], SessionTimeoutMs, int.MaxValue), group.PartitionCounts);

        Assert.Equal(60_000, group["a"].RebalanceTimeoutMs);
    }

    [Fact]
    public void Join_AskingForAHugeSessionTimeout_IsClampedToTheMaximum()
    {
        var group = TestGroup.WithTopic(4);

        group.Coordinator.Heartbeat(new HeartbeatRequest("a", 0, null, "x", [T], [], int.MaxValue, RebalanceTimeoutMs), group.PartitionCounts);

        Assert.Equal(GroupBuilders.Options.MaxSessionTimeoutMs, group["a"].SessionTimeoutMs);
    }

    // ---- Epoch validation ----

    [Fact]
    public void Heartbeat_EpochFromTheFuture_IsFenced()
    {
        var group = TestGroup.Stable(4, "a", "b");
        var before = group.Snapshot();

        var error = Assert.Throws<FencedMemberEpochException>(() => group.Heartbeat("a", 3, [.. P(0, 1)]));

        Assert.Equal(("FencedMemberEpoch", GroupId, "a", 3, 2), (error.Code.ToString(), error.GroupId, error.MemberId, error.SentEpoch, error.CurrentEpoch));
        AssertSnapshot(before, group.Snapshot());
    }

    [Fact]
    public void Heartbeat_OlderEpochAfterLostReply_IsAccepted()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.Leave("b");
        group.Heartbeat("a", 2, [.. P(0, 1)]); // a moves to epoch 3 and gets t/2, t/3, but the reply is lost.

        var result = group.Heartbeat("a", 2, [.. P(0, 1)]);

        Assert.Empty(result.Events);
        AssertResponse(Response("a", 3, Stable, P(0, 1, 2, 3), groupEpoch: 3), result.Response);
        AssertMember(Member("a", 3, Stable, P(0, 1, 2, 3)), group["a"]);
    }

    [Fact]
    public void Heartbeat_OlderEpochClaimingPartitionsItNoLongerOwns_IsFenced()
    {
        var group = TestGroup.Stable(4, "a", "b");
        var before = group.Snapshot();

        // a's view from before b joined: it still thinks it has everything.
        var error = Assert.Throws<FencedMemberEpochException>(() => group.Heartbeat("a", 1, [.. P(0, 1, 2, 3)]));

        Assert.Equal((1, 2), (error.SentEpoch, error.CurrentEpoch));
        AssertSnapshot(before, group.Snapshot());
    }

    [Fact]
    public void Heartbeat_UnknownMember_ThrowsUnknownMember()
    {
        var group = TestGroup.Stable(4, "a");

        var error = Assert.Throws<UnknownMemberException>(() => group.Heartbeat("x", 1, []));

        Assert.Equal(("UnknownMember", GroupId, "x"), (error.Code.ToString(), error.GroupId, error.MemberId));
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public void Heartbeat_WithoutMemberId_IsInvalid(string memberId)
    {
        var group = TestGroup.WithTopic(4);

        Assert.Throws<InvalidRequestException>(() => group.Join(memberId));
        Assert.Empty(group.Model.Members);
    }

    [Fact]
    public void Rejoin_WithEpochZero_ResetsMember()
    {
        var group = TestGroup.Stable(4, "a", "b");

        var result = group.Join("a");

        // The old incarnation's partitions are released with it, so the new one gets them back at once.
        AssertEvents([
            Removed("a", "rejoined"),
            Upserted(Member("a", 0)),
            EpochBumped(3, (T, 4)),
            TargetComputed(3, ("a", P(0, 1)), ("b", P(2, 3))),
            Upserted(Member("a", 3, Stable, P(0, 1))),
        ], result.Events);
        AssertResponse(Response("a", 3, Stable, P(0, 1), groupEpoch: 3), result.Response);
    }

    // ---- Membership and metadata changes ----

    [Fact]
    public void Leave_ReleasesPartitionsImmediately()
    {
        var group = TestGroup.WithTopic(4);
        group.Join("a");
        group.Join("b"); // waits for t/2 and t/3, which a still owns

        var left = group.Leave("a");
        var next = group.Heartbeat("b");

        AssertEvents([Removed("a", "left the group"), EpochBumped(3, (T, 4)), TargetComputed(3, ("b", P(0, 1, 2, 3)))], left.Events);
        Assert.True(left.Response);
        AssertResponse(Response("b", 3, Stable, P(0, 1, 2, 3), groupEpoch: 3), next.Response);
    }

    [Fact]
    public void Leave_UnknownMember_ThrowsUnknownMember()
    {
        var group = TestGroup.Stable(4, "a");

        Assert.Throws<UnknownMemberException>(() => group.Leave("x"));
    }

    [Fact]
    public void SubscriptionChange_BumpsEpoch()
    {
        var group = new TestGroup((T, 4), (U, 2));
        group.Join("a");

        var result = group.Heartbeat("a", 1, [.. P(0, 1, 2, 3)], topics: [T, U]);

        var all = P(0, 1, 2, 3).Union(P(U, 0, 1));
        AssertEvents([
            Upserted(Member("a", 1, Stable, P(0, 1, 2, 3), topics: [T, U])),
            EpochBumped(2, (T, 4), (U, 2)),
            TargetComputed(2, ("a", all)),
            Upserted(Member("a", 2, Stable, all, topics: [T, U])),
        ], result.Events);
        AssertResponse(Response("a", 2, Stable, all, groupEpoch: 2), result.Response);
    }

    [Fact]
    public void SubscriptionChange_DroppingATopic_RevokesItsPartitions()
    {
        var group = new TestGroup((T, 4), (U, 2));
        group.Join("a", T, U);

        var result = group.Heartbeat("a", 1, [.. P(0, 1, 2, 3).Union(P(U, 0, 1))], topics: [U]);

        var expected = Member("a", 1, UnrevokedPartitions, P(U, 0, 1), pending: P(0, 1, 2, 3), topics: [U]);
        AssertEvents([
            Upserted(Member("a", 1, Stable, P(0, 1, 2, 3).Union(P(U, 0, 1)), topics: [U])),
            EpochBumped(2, (U, 2)),
            TargetComputed(2, ("a", P(U, 0, 1))),
            Upserted(expected),
        ], result.Events);
        AssertResponse(Response("a", 1, UnrevokedPartitions, P(U, 0, 1), groupEpoch: 2), result.Response);
    }

    [Fact]
    public void PartitionCountGrows_BumpsEpochAndAssignsNewPartitions()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.PartitionCounts[T] = 6;

        var result = group.Heartbeat("a");

        // a and b keep theirs; the new t/4 and t/5 go to the least loaded, one each.
        AssertEvents([
            EpochBumped(3, (T, 6)),
            TargetComputed(3, ("a", P(0, 1, 4)), ("b", P(2, 3, 5))),
            Upserted(Member("a", 3, Stable, P(0, 1, 4))),
        ], result.Events);
        AssertResponse(Response("a", 3, Stable, P(0, 1, 4), groupEpoch: 3), result.Response);
    }

    [Fact]
    public void Heartbeat_NothingChanged_EmitsNothing()
    {
        var group = TestGroup.Stable(4, "a", "b");

        var result = group.Heartbeat("a");

        Assert.False(result.Changed);
        AssertResponse(Response("a", 2, Stable, P(0, 1), groupEpoch: 2), result.Response);
    }

    // ---- Expiry ----

    [Fact]
    public void SessionTimeout_EvictsSilentMember_AndRebalancesToOthers()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.Advance(SessionTimeoutMs / 2);
        group.Heartbeat("a");
        group.Advance(SessionTimeoutMs / 2); // b has now been silent for exactly its session timeout

        var expired = group.Expire();
        var next = group.Heartbeat("a");

        Assert.Equal(["b"], expired.Response);
        AssertEvents([Removed("b", "session timeout (10000 ms)"), EpochBumped(3, (T, 4)), TargetComputed(3, ("a", P(0, 1, 2, 3)))], expired.Events);
        AssertResponse(Response("a", 3, Stable, P(0, 1, 2, 3), groupEpoch: 3), next.Response);
    }

    [Fact]
    public void SessionTimeout_NotYetElapsed_KeepsMember()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.Advance(SessionTimeoutMs - 1);

        var expired = group.Expire();

        Assert.Empty(expired.Response);
        Assert.False(expired.Changed);
    }

    [Fact]
    public void RebalanceTimeout_EvictsMemberThatNeverReleases()
    {
        var group = TestGroup.WithTopic(4);
        group.Join("a");
        group.Join("b");
        group.Heartbeat("a"); // told to revoke t/2, t/3: it has until Start + 30 s
        for (var elapsed = 5_000; elapsed < RebalanceTimeoutMs; elapsed += 5_000)
        {
            group.Advance(5_000);
            group.Heartbeat("a", 1, [.. P(0, 1, 2, 3)]); // alive, but never lets go
            group.Heartbeat("b");
            Assert.Empty(group.Expire().Response);
        }
        group.Advance(4_999);
        Assert.Empty(group.Expire().Response);
        group.Advance(1);

        var expired = group.Expire();

        Assert.Equal(["a"], expired.Response);
        AssertEvents([
            Removed("a", "rebalance timeout (30000 ms) while revoking"),
            EpochBumped(3, (T, 4)),
            TargetComputed(3, ("b", P(0, 1, 2, 3))),
        ], expired.Events);
    }

    [Fact]
    public void Reload_RestartsSessionClocks()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.Advance(8_000);

        var reloaded = group.Reload();

        reloaded.Advance(SessionTimeoutMs - 1); // 17.999 s after the last heartbeat, but only 9.999 s after the reload
        Assert.Empty(reloaded.Expire().Response);
        reloaded.Advance(1);
        Assert.Equal(["a", "b"], reloaded.Expire().Response.Order());
    }

    [Fact]
    public void Reload_RevokingMember_GetsAFreshRebalanceDeadline()
    {
        var group = TestGroup.WithTopic(4);
        group.Join("a");
        group.Join("b");
        group.Heartbeat("a"); // revoking since Start: would be evicted at Start + 30 s
        group.Advance(20_000);
        var reloaded = group.Reload(); // revoking deadline restarts: Start + 50 s

        void KeepAlive(int milliseconds)
        {
            reloaded.Heartbeat("a", 1, [.. P(0, 1, 2, 3)]);
            reloaded.Heartbeat("b");
            reloaded.Advance(milliseconds);
        }

        KeepAlive(9_000);
        KeepAlive(9_000); // Start + 38 s
        Assert.Empty(reloaded.Expire().Response);
        KeepAlive(9_000);
        KeepAlive(2_999); // Start + 49.999 s
        Assert.Empty(reloaded.Expire().Response);
        reloaded.Advance(1);

        var expired = reloaded.Expire();

        Assert.Equal(["a"], expired.Response);
    }

    // ---- Commits ----

    [Fact]
    public void Commit_ByOwner_WritesOffsets()
    {
        var group = TestGroup.Stable(4, "a", "b");

        var result = group.Commit("a", 2, (1, 100), (0, 50));

        AssertEvents([Committed(Tp(1), 100, 2, Start), Committed(Tp(0), 50, 2, Start)], result.Events);
        AssertOffsets(group.Model,
            (Tp(0), new CommittedOffset(50, null, Start.ToUnixTimeMilliseconds(), 2)),
            (Tp(1), new CommittedOffset(100, null, Start.ToUnixTimeMilliseconds(), 2)));
    }

    [Fact]
    public void Commit_ByZombieAfterEviction_ThrowsUnknownMember_AndWritesNothing()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.Advance(SessionTimeoutMs / 2);
        group.Heartbeat("a");
        group.Advance(SessionTimeoutMs / 2);
        Assert.Equal(["b"], group.Expire().Response);
        var before = group.Snapshot();

        var error = Assert.Throws<UnknownMemberException>(() => group.Commit("b", 2, (2, 10)));

        Assert.Equal((GroupId, "b"), (error.GroupId, error.MemberId));
        Assert.Empty(group.Model.Offsets);
        AssertSnapshot(before, group.Snapshot());
    }

    [Fact]
    public void Commit_PartitionPendingRevocation_IsAccepted()
    {
        var group = TestGroup.WithTopic(4);
        group.Join("a");
        group.Join("b");
        group.Heartbeat("a"); // t/2 and t/3 are pending revocation: a may still commit its final positions

        var result = group.Commit("a", 1, (2, 42), (0, 7));

        AssertEvents([Committed(Tp(2), 42, 1, Start), Committed(Tp(0), 7, 1, Start)], result.Events);
        AssertOffsets(group.Model,
            (Tp(0), new CommittedOffset(7, null, Start.ToUnixTimeMilliseconds(), 1)),
            (Tp(2), new CommittedOffset(42, null, Start.ToUnixTimeMilliseconds(), 1)));
    }

    [Fact]
    public void Commit_PartitionOwnedByOther_ThrowsStaleMemberEpoch()
    {
        var group = TestGroup.Stable(4, "a", "b");
        var before = group.Snapshot();

        // t/0 is a's, t/2 is b's: all or nothing, so t/0 is not written either.
        var error = Assert.Throws<StaleMemberEpochException>(() => group.Commit("a", 2, (0, 5), (2, 5)));

        Assert.Equal(("StaleMemberEpoch", "a", 2, 2), (error.Code.ToString(), error.MemberId, error.SentEpoch, error.CurrentEpoch));
        Assert.Contains("it does not own t/2;", error.Message);
        AssertSnapshot(before, group.Snapshot());
    }

    [Fact]
    public void Commit_EpochFromTheFuture_IsFenced()
    {
        var group = TestGroup.Stable(4, "a", "b");
        var before = group.Snapshot();

        var error = Assert.Throws<FencedMemberEpochException>(() => group.Commit("a", 3, (0, 5)));

        Assert.Equal((3, 2), (error.SentEpoch, error.CurrentEpoch));
        AssertSnapshot(before, group.Snapshot());
    }

    [Fact]
    public void Commit_OlderEpochForPartitionStillOwned_IsAccepted()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.Join("c");
        group.HeartbeatRound(); // a (epoch 2) starts revoking t/1; b moves to epoch 3

        // b committed from a fetch started at epoch 2; it still owns t/2.
        var result = group.Commit("b", 2, (2, 9));

        AssertEvents([Committed(Tp(2), 9, 2, Start)], result.Events);
    }

    [Fact]
    public void SimpleCommit_OnlyWhenGroupEmpty_AcceptedOnEmptyGroup()
    {
        var group = TestGroup.WithTopic(4);
        group.Advance(1_234);

        var result = group.Coordinator.Commit(new CommitRequest("", -1, [new PartitionOffset(Tp(0), 5, "by admin")]));

        AssertEvents([new OffsetCommitted(Tp(0), new CommittedOffset(5, "by admin", Start.ToUnixTimeMilliseconds() + 1_234, -1))], result.Events);
    }

    [Fact]
    public void SimpleCommit_OnlyWhenGroupEmpty_RejectedWithActiveMembers()
    {
        var group = TestGroup.Stable(4, "a");

        var error = Assert.Throws<NonEmptyGroupException>(() => group.Coordinator.Commit(new CommitRequest("", -1, [new PartitionOffset(Tp(0), 5)])));

        Assert.Equal(("NonEmptyGroup", GroupId, 1), (error.Code.ToString(), error.GroupId, error.MemberCount));
        Assert.Empty(group.Model.Offsets);
    }

    [Fact]
    public void NegativeOffset_IsRejected()
    {
        var group = TestGroup.Stable(4, "a", "b");
        var before = group.Snapshot();

        var error = Assert.Throws<InvalidRequestException>(() => group.Commit("a", 2, (0, 5), (1, -1)));

        Assert.Contains("negative offset -1 for t/1", error.Message);
        AssertSnapshot(before, group.Snapshot());
    }
}
