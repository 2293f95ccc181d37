using OrleansGroups.Core.Coordination;
using static OrleansGroups.Core.Coordination.MemberState;
using static OrleansGroups.Core.Tests.Coordination.GroupBuilders;

namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>
/// One live group state and member liveness across a move of the group, one transition per test. The default fixture
/// is <c>TestGroup.Stable(4, "a", "b")</c> (a owns t/0 and t/1, b owns t/2 and t/3, epoch 2, session 10 s) written by
/// its host at <see cref="GroupBuilders.Start"/>; a member's confirmation staleness is then a third of its session,
/// <see cref="Staleness"/> = 3,333 ms. <see cref="TestGroup.Reactivate"/> is the group after its grain moved: rebuilt
/// from what was last written.
/// </summary>
public class GroupLivenessTests
{
    private const int Staleness = SessionTimeoutMs / 3;

    private static TestGroup WrittenStable()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.Write();
        return group;
    }

    // ---- A reply is backed by a write no older than the staleness bound ----

    [Fact]
    public void Heartbeat_WrittenLastSeenWithinStaleness_ConfirmsFromMemory()
    {
        var group = WrittenStable();
        group.Advance(Staleness);

        var result = group.Heartbeat("a");

        Assert.Empty(result.Events);
        Assert.False(result.MustConfirm);
        AssertResponse(Response("a", 2, Stable, P(0, 1), groupEpoch: 2), result.Response);
    }

    [Fact]
    public void Heartbeat_WrittenLastSeenOlderThanStaleness_MustConfirmWithAWrite()
    {
        var group = WrittenStable();
        group.Advance(Staleness + 1);

        var result = group.Heartbeat("a");

        // Nothing changed, but a stale activation would answer the same from memory: the reply needs a write behind it.
        Assert.Empty(result.Events);
        Assert.True(result.MustConfirm);
        AssertResponse(Response("a", 2, Stable, P(0, 1), groupEpoch: 2), result.Response);
        AssertMember(Member("a", 2, Stable, P(0, 1)), group["a"]);
    }

    [Fact]
    public void Heartbeat_NeverWritten_MustConfirmWithAWrite()
    {
        var group = TestGroup.Stable(4, "a", "b");

        var result = group.Heartbeat("a");

        Assert.Empty(result.Events);
        Assert.True(result.MustConfirm);
    }

    [Fact]
    public void Write_RecordsEveryMembersLastHeartbeat_AndBacksTheirReplies()
    {
        var group = WrittenStable();
        group.Advance(1_000);
        group.Heartbeat("a");
        group.Advance(Staleness);

        var stored = group.Write();
        var result = group.Heartbeat("b");

        Assert.Equal(
            new Dictionary<string, long>
            {
                ["a"] = Start.AddMilliseconds(1_000).ToUnixTimeMilliseconds(),
                ["b"] = Start.ToUnixTimeMilliseconds(),
            },
            stored.MemberLastSeenMs);
        // The write recorded b's last heartbeat (Start), not the write time: 4,333 ms ago, past the bound, so b's
        // next reply needs a write of its own.
        Assert.True(result.MustConfirm);
    }

    // ---- Liveness survives reactivation ----

    [Fact]
    public void Reactivated_MemberSilentSinceBeforeTheMove_EvictedAtLastSeenPlusSessionPlusStaleness()
    {
        var group = WrittenStable();
        // a goes on heartbeating (and is written); b died right after Start.
        group.Advance(Staleness + 1);
        group.Heartbeat("a");
        group.Write();
        group.Advance(9_000 - Staleness - 1);
        var moved = group.Reactivate();
        moved.Advance(SessionTimeoutMs + Staleness - 9_000);

        var expired = moved.Expire();

        // Restarting the clock on reactivation would have kept b until 9 s + 10 s after Start.
        AssertEvents([Removed("b", "session timeout (10000 ms)"), EpochBumped(3, (T, 4)), TargetComputed(3, ("a", P(0, 1, 2, 3)))], expired.Events);
        Assert.Equal(["b"], expired.Response);
    }

    [Fact]
    public void Reactivated_MemberConfirmedFromMemoryAfterTheLastWrite_KeepsItsPartitionsForAWholeSessionAfterThatReply()
    {
        var group = WrittenStable();
        // The old activation's last confirmation comes from memory, just within the bound: b believes it owns
        // t/2 and t/3 until Start + Staleness + session.
        group.Advance(Staleness);
        Assert.False(group.Heartbeat("b").MustConfirm);
        group.Heartbeat("a");
        var moved = group.Reactivate();
        moved.Advance(SessionTimeoutMs - 1);

        var expired = moved.Expire();

        Assert.Empty(expired.Events);
        AssertMember(Member("b", 2, Stable, P(2, 3)), moved["b"]);
    }

    [Fact]
    public void Reactivated_FromASnapshotWithoutLastSeen_RestartsTheSessionClock()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.Write().MemberLastSeenMs.Clear();
        group.Advance(SessionTimeoutMs);
        var moved = group.Reactivate();
        moved.Advance(SessionTimeoutMs - 1);

        var expired = moved.Expire();

        // A group written before last-seen was recorded cannot know better than a fresh session.
        Assert.Empty(expired.Events);
    }
}
