namespace OrleansGroups.IntegrationTests.Chaos;

/// <summary>The consumer-group chaos oracle on its own: it passes a clean run and fails each kind of damage it claims to catch.</summary>
public sealed class GroupChaosCheckerTests
{
    private static Delivery Printed(string consumer, int partition, long offset, double seconds) =>
        new(consumer, partition, offset, Payload(partition, offset), TimeSpan.FromSeconds(seconds));

    private static string Payload(int partition, long offset) => $"p{partition}-{offset}";

    private static OwnershipSnapshot Snapshot(double seconds, int groupEpoch, Dictionary<int, long> committed, params MemberOwnership[] members) =>
        new(TimeSpan.FromSeconds(seconds), groupEpoch, members, committed);

    private static MemberOwnership Member(string id, int epoch, params int[] partitions) => new(id, epoch, partitions);

    /// <summary>Partition 0 holds offsets 0..3, all acknowledged; c1 prints 0..2 and commits 2, is killed, c2 takes over at 2.</summary>
    private static ChaosObservations CleanRun(
        IReadOnlyList<Delivery>? deliveries = null,
        IReadOnlyList<OwnershipSnapshot>? snapshots = null,
        Dictionary<int, long>? finalCommitted = null) => new(
        Acknowledged: Enumerable.Range(0, 4).ToDictionary(o => (0, (long)o), o => Payload(0, o)),
        Deliveries: deliveries ??
        [
            Printed("c1", 0, 0, 1), Printed("c1", 0, 1, 1), Printed("c1", 0, 2, 2),
            Printed("c2", 0, 2, 9), Printed("c2", 0, 3, 9),
        ],
        Killed: new HashSet<string> { "c1" },
        Snapshots: snapshots ??
        [
            Snapshot(1.5, 1, new() { [0] = 2 }, Member("m1", 1, 0)),
            Snapshot(5, 2, new() { [0] = 2 }, Member("m1", 1, 0), Member("m2", 2)),
            Snapshot(10, 3, new() { [0] = 4 }, Member("m2", 3, 0)),
        ],
        LogEnd: new Dictionary<int, long> { [0] = 4 },
        FinalCommitted: finalCommitted ?? new Dictionary<int, long> { [0] = 4 });

    [Fact]
    public void RedeliveryOfTheUncommittedWindowAfterAKill_PassesAndIsCounted()
    {
        var report = GroupChaosChecker.Check(CleanRun());

        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Problems));
        Assert.Equal((4, 5, 4, 0), (report.Acknowledged, report.Delivered, report.DistinctDelivered, report.Lost));
        Assert.Equal((1, 1, 0, 0), (report.Duplicates, report.DuplicatesAfterKill, report.DuplicatesAfterHandOver, report.CommittedRedeliveries));
        Assert.Equal((3, 3, 2), (report.Snapshots, report.MaxGroupEpoch, report.MembersSeen));
    }

    [Fact]
    public void AcknowledgedRecordNobodyPrinted_IsLost()
    {
        var report = GroupChaosChecker.Check(CleanRun(deliveries:
        [
            Printed("c1", 0, 0, 1), Printed("c1", 0, 1, 1), Printed("c2", 0, 3, 9),
        ]));

        Assert.False(report.Passed);
        Assert.Equal(1, report.Lost);
        Assert.Contains(report.Problems, p => p.StartsWith("LOST: acknowledged p0@2", StringComparison.Ordinal));
    }

    [Fact]
    public void PrintedValueOtherThanTheAcknowledgedOne_IsWrongData()
    {
        var deliveries = CleanRun().Deliveries.Select(d => d.Offset == 3 ? d with { Value = "other" } : d).ToList();

        var report = GroupChaosChecker.Check(CleanRun(deliveries: deliveries));

        Assert.False(report.Passed);
        Assert.Contains(report.Problems, p => p.StartsWith("WRONG DATA: c2 printed p0@3", StringComparison.Ordinal));
    }

    [Fact]
    public void CommittedOffsetGoingDown_IsCommitBackwards()
    {
        var report = GroupChaosChecker.Check(CleanRun(snapshots:
        [
            Snapshot(1.5, 1, new() { [0] = 2 }, Member("m1", 1, 0)),
            Snapshot(5, 2, new() { [0] = 1 }, Member("m2", 2, 0)),
            Snapshot(10, 3, new() { [0] = 4 }, Member("m2", 3, 0)),
        ]));

        Assert.False(report.Passed);
        Assert.Contains(report.Problems, p => p.StartsWith("COMMIT BACKWARDS: p0 committed 2", StringComparison.Ordinal));
    }

    [Fact]
    public void CommittedOffsetDisappearing_IsCommitVanished()
    {
        var report = GroupChaosChecker.Check(CleanRun(snapshots:
        [
            Snapshot(1.5, 1, new() { [0] = 2 }, Member("m1", 1, 0)),
            Snapshot(5, 2, new(), Member("m2", 2, 0)),
        ]));

        Assert.False(report.Passed);
        Assert.Contains(report.Problems, p => p.StartsWith("COMMIT VANISHED: p0", StringComparison.Ordinal));
    }

    [Fact]
    public void GroupOrMemberEpochGoingDown_IsReported()
    {
        var report = GroupChaosChecker.Check(CleanRun(snapshots:
        [
            Snapshot(1.5, 3, new() { [0] = 2 }, Member("m1", 3, 0)),
            Snapshot(5, 2, new() { [0] = 2 }, Member("m1", 2, 0)),
            Snapshot(10, 4, new() { [0] = 4 }, Member("m2", 4, 0)),
        ]));

        Assert.False(report.Passed);
        Assert.Contains(report.Problems, p => p.StartsWith("GROUP EPOCH BACKWARDS: 3", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.StartsWith("MEMBER EPOCH BACKWARDS: m1 at epoch 3", StringComparison.Ordinal));
    }

    [Fact]
    public void PartitionOwnedByTwoMembersInOneSnapshot_IsTwoOwners()
    {
        var report = GroupChaosChecker.Check(CleanRun(snapshots:
        [
            Snapshot(1.5, 1, new() { [0] = 2 }, Member("m1", 1, 0)),
            Snapshot(5, 2, new() { [0] = 2 }, Member("m1", 1, 0), Member("m2", 2, 0)),
            Snapshot(10, 3, new() { [0] = 4 }, Member("m2", 3, 0)),
        ]));

        Assert.False(report.Passed);
        Assert.Contains(report.Problems, p => p.StartsWith("TWO OWNERS: p0 owned by m1 and m2", StringComparison.Ordinal));
    }

    [Fact]
    public void PartitionOwnedByTwoMembersAtOneEpoch_InDifferentSnapshots_IsTwoOwnersInOneEpoch()
    {
        var report = GroupChaosChecker.Check(CleanRun(snapshots:
        [
            Snapshot(1.5, 2, new() { [0] = 2 }, Member("m1", 2, 0)),
            Snapshot(5, 2, new() { [0] = 2 }, Member("m2", 2, 0)),
            Snapshot(10, 3, new() { [0] = 4 }, Member("m2", 3, 0)),
        ]));

        Assert.False(report.Passed);
        Assert.Contains(report.Problems, p => p.StartsWith("TWO OWNERS IN ONE EPOCH: p0 at member epoch 2 owned by m1", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Problems, p => p.StartsWith("TWO OWNERS:", StringComparison.Ordinal));
    }

    [Fact]
    public void RedeliveryLongAfterTheGroupCommittedPastIt_IsRedeliveredAfterCommit()
    {
        var report = GroupChaosChecker.Check(CleanRun(deliveries:
        [
            Printed("c1", 0, 0, 1), Printed("c1", 0, 1, 1), Printed("c1", 0, 2, 2),
            Printed("c2", 0, 0, 9), Printed("c2", 0, 1, 9), Printed("c2", 0, 2, 9), Printed("c2", 0, 3, 9),
        ]));

        Assert.False(report.Passed);
        Assert.Equal((3, 2), (report.Duplicates, report.CommittedRedeliveries));
        Assert.Contains(report.Problems, p => p.StartsWith("REDELIVERED AFTER COMMIT: p0@0 printed by c1", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.StartsWith("REDELIVERED AFTER COMMIT: p0@1 printed by c1", StringComparison.Ordinal));
    }

    [Fact]
    public void RedeliveryReadWithinTheReadLagOfTheCommit_IsNotBlamed()
    {
        // The commit of 2 is seen at 1.5 s; c2's copy of offset 1 was read 1 s later, so it may have been printed before.
        var report = GroupChaosChecker.Check(CleanRun(deliveries:
        [
            Printed("c1", 0, 0, 1), Printed("c1", 0, 1, 1), Printed("c1", 0, 2, 2),
            Printed("c2", 0, 1, 2.5), Printed("c2", 0, 2, 9), Printed("c2", 0, 3, 9),
        ]));

        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Problems));
        Assert.Equal((2, 0), (report.Duplicates, report.CommittedRedeliveries));
    }

    [Fact]
    public void DuplicateFromALiveConsumer_IsCountedAsAHandOver()
    {
        var deliveries = CleanRun().Deliveries.Select(d => d with { Consumer = d.Consumer == "c1" ? "c3" : d.Consumer }).ToList();

        var report = GroupChaosChecker.Check(CleanRun(deliveries: deliveries));

        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Problems));
        Assert.Equal((1, 0, 1), (report.Duplicates, report.DuplicatesAfterKill, report.DuplicatesAfterHandOver));
    }

    [Fact]
    public void FinalCommitShortOfTheLogEnd_IsNotDrained()
    {
        var report = GroupChaosChecker.Check(CleanRun(finalCommitted: new() { [0] = 3 }));

        Assert.False(report.Passed);
        Assert.Contains(report.Problems, p => p.StartsWith("NOT DRAINED: p0 ends at 4 but the group committed 3", StringComparison.Ordinal));
    }
}
