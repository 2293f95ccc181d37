using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Offsets;
using static OrleansGroups.Core.Tests.Coordination.GroupBuilders;

namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>
/// Offsets retention (KIP-211): committed offsets of an empty group expire <c>offsets.retention</c> after the group
/// became empty; a group with members keeps them. Retention here is one day; the clock is a <c>FakeTimeProvider</c>.
/// </summary>
public class OffsetRetentionTests
{
    private static readonly TimeSpan Retention = TimeSpan.FromDays(1);
    private const int Hour = 3_600_000;
    private const int Day = 24 * Hour;

    /// <summary>a joins, commits t/0 = 5 and t/1 = 6 at Start, and leaves an hour later.</summary>
    private static TestGroup EmptiedAfterAnHour()
    {
        var group = TestGroup.Stable(4, "a");
        group.Commit("a", 1, (0, 5), (1, 6));
        group.Advance(Hour);
        group.Leave("a");
        return group;
    }

    [Fact]
    public void LastMemberLeaving_StartsTheRetentionClock()
    {
        var group = TestGroup.Stable(4, "a");
        group.Advance(1_000);

        var result = group.Leave("a");

        AssertEvents([
            Removed("a", "left the group"),
            EpochBumped(2),
            TargetComputed(2),
            new GroupEmptied(Start.AddMilliseconds(1_000).ToUnixTimeMilliseconds()),
        ], result.Events);
        Assert.Equal(Start.AddMilliseconds(1_000).ToUnixTimeMilliseconds(), group.Model.EmptySinceMs);
    }

    [Fact]
    public void LastMemberEvicted_StartsTheRetentionClock()
    {
        var group = TestGroup.Stable(4, "a");
        group.Advance(SessionTimeoutMs);

        var result = group.Expire();

        Assert.Equal(new GroupEmptied(Start.AddMilliseconds(SessionTimeoutMs).ToUnixTimeMilliseconds()), result.Events[^1]);
    }

    [Fact]
    public void OffsetsExpire_ARetentionAfterTheGroupEmptied_ThenTheGroupIsDeleted()
    {
        var group = EmptiedAfterAnHour();
        group.Advance(Day - 1);
        Assert.False(group.Coordinator.ExpireOffsets(Retention).Changed);
        group.Advance(1);

        var result = group.Coordinator.ExpireOffsets(Retention);

        // The commits are from Start, a day and an hour ago, but the clock started when the group emptied.
        Assert.Equal([Tp(0), Tp(1)], result.Response);
        AssertEvents([new OffsetExpired(Tp(0)), new OffsetExpired(Tp(1)), new GroupDeleted()], result.Events);
        Assert.False(group.Model.HasState);
    }

    [Fact]
    public void GroupWithMembers_KeepsItsOffsets()
    {
        var group = TestGroup.Stable(4, "a");
        group.Commit("a", 1, (0, 5));
        group.Time.Advance(TimeSpan.FromDays(30));

        var result = group.Coordinator.ExpireOffsets(Retention);

        Assert.False(result.Changed);
        Assert.Single(group.Model.Offsets);
    }

    [Fact]
    public void TemporarilyLeftStaticMember_StillCountsAsAMember()
    {
        var group = TestGroup.WithTopic(4);
        group.JoinStatic("a", "ia");
        group.Commit("a", 1, (0, 5));
        group.LeaveWithEpoch("a", MemberEpochs.TemporaryLeave);
        group.Advance(SessionTimeoutMs - 1);

        Assert.False(group.Coordinator.ExpireOffsets(TimeSpan.FromMilliseconds(1)).Changed);
        Assert.Null(group.Model.EmptySinceMs);
    }

    [Fact]
    public void AMemberJoining_StopsTheClock_AndTheNextEmptyingRestartsIt()
    {
        var group = EmptiedAfterAnHour();
        group.Advance(Day - 1);
        group.Join("b");
        Assert.Null(group.Model.EmptySinceMs);
        group.Advance(Hour);
        Assert.False(group.Coordinator.ExpireOffsets(Retention).Changed);

        group.Leave("b");
        group.Advance(Day - 1);
        Assert.False(group.Coordinator.ExpireOffsets(Retention).Changed);
        group.Advance(1);

        Assert.Equal([Tp(0), Tp(1)], group.Coordinator.ExpireOffsets(Retention).Response);
    }

    [Fact]
    public void AnOffsetCommittedWhileEmpty_LivesARetentionFromItsCommit()
    {
        // The worked example of GroupCoordinator.ExpireOffsets, in days: emptied on day 0, t/1 reset by an admin on day 2.
        var group = TestGroup.Stable(4, "a");
        group.Commit("a", 1, (0, 5));
        group.Leave("a");
        group.Advance(2 * Day);
        group.Coordinator.ResetOffsets(OffsetResetSpec.ToOffset(3), [new PartitionLogBounds(Tp(1), 0, 10)], dryRun: false);
        group.Advance(Day);

        var first = group.Coordinator.ExpireOffsets(TimeSpan.FromDays(3));
        group.Advance(2 * Day - 1);
        var nothing = group.Coordinator.ExpireOffsets(TimeSpan.FromDays(3));
        group.Advance(1);
        var last = group.Coordinator.ExpireOffsets(TimeSpan.FromDays(3));

        AssertEvents([new OffsetExpired(Tp(0))], first.Events);
        Assert.False(nothing.Changed);
        AssertEvents([new OffsetExpired(Tp(1)), new GroupDeleted()], last.Events);
    }

    [Fact]
    public void EmptyGroupThatNeverCommitted_IsDeletedAfterARetention()
    {
        var group = TestGroup.Stable(4, "a");
        group.Leave("a");
        group.Advance(Day - 1);
        Assert.False(group.Coordinator.ExpireOffsets(Retention).Changed);
        group.Advance(1);

        var result = group.Coordinator.ExpireOffsets(Retention);

        Assert.Empty(result.Response);
        AssertEvents([new GroupDeleted()], result.Events);
    }

    [Fact]
    public void NeverUsedGroup_HasNothingToExpire()
    {
        var group = TestGroup.WithTopic(4);
        group.Time.Advance(TimeSpan.FromDays(30));

        Assert.False(group.Coordinator.ExpireOffsets(Retention).Changed);
    }

    [Fact]
    public void Reload_KeepsWhenTheGroupEmptied()
    {
        var group = EmptiedAfterAnHour();
        group.Advance(Day - 1);

        var reloaded = group.Reload();
        reloaded.Advance(1);

        Assert.Equal(Start.AddMilliseconds(Hour).ToUnixTimeMilliseconds(), reloaded.Model.EmptySinceMs);
        Assert.Equal([Tp(0), Tp(1)], reloaded.Coordinator.ExpireOffsets(Retention).Response);
    }

    [Fact]
    public void Apply_OffsetExpired_WhileTheGroupHasMembers_Throws()
    {
        var group = TestGroup.Stable(4, "a");
        group.Commit("a", 1, (0, 5));

        var error = Assert.Throws<InvalidOperationException>(() => group.Model.Apply(new OffsetExpired(Tp(0))));

        Assert.Equal("Group 'g': the offset of t/0 can only expire while the group is empty and has one (1 member(s)).", error.Message);
    }

    [Fact]
    public void Apply_GroupEmptied_WithMembers_Throws()
    {
        var group = TestGroup.Stable(4, "a");

        Assert.Throws<InvalidOperationException>(() => group.Model.Apply(new GroupEmptied(0)));
    }
}
