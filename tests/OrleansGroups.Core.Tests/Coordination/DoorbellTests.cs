namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>Which members the group wakes after a change (<see cref="Core.Coordination.GroupCoordinator.MembersThatCanProgress"/>).</summary>
public sealed class DoorbellTests
{
    [Fact]
    public void StableGroup_WakesNobody()
    {
        var group = TestGroup.Stable(4, "a", "b");

        Assert.Empty(group.Coordinator.MembersThatCanProgress());
    }

    [Fact]
    public void NewcomerJoins_WakesTheMembersThatMustGiveUpPartitions_NotTheNewcomerYet()
    {
        var group = TestGroup.Stable(4, "a", "b");

        group.Join("c");

        // 2/2 becomes 2/1/1: exactly one of a and b gives up a partition. c's partition is still owned, so
        // waking c would change nothing yet.
        var woken = Assert.Single(group.Coordinator.MembersThatCanProgress());
        Assert.Contains(woken, new[] { "a", "b" });
        Assert.Equal(2, group[woken].AssignedPartitions.Count);
        Assert.Single(group.Model.TargetOf(woken));
    }

    [Fact]
    public void RevokingMember_ConfirmsRelease_WakesTheNewOwner()
    {
        var group = TestGroup.Stable(4, "a", "b");
        group.Join("c");
        var giver = group.Coordinator.MembersThatCanProgress().Single();
        group.Heartbeat(giver); // told to revoke one partition
        Assert.DoesNotContain(giver, group.Coordinator.MembersThatCanProgress()); // it acts on its side first

        group.Heartbeat(giver); // confirms: owns only what the last reply left it

        Assert.Contains("c", group.Coordinator.MembersThatCanProgress());
    }

    [Fact]
    public void MemberOnlyBehindOnEpoch_IsNotWoken()
    {
        var group = TestGroup.Stable(4, "a", "b", "c");
        group.Leave("c");
        group.Heartbeat("a");
        group.Heartbeat("b");
        group.Heartbeat("a");
        group.Heartbeat("b");

        // Everything moved; nobody is woken just to adopt an epoch.
        Assert.Empty(group.Coordinator.MembersThatCanProgress());
    }
}
