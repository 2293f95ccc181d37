namespace OrleansGroups.IntegrationTests.Chaos;

/// <summary>One record a consumer process printed.</summary>
/// <param name="Consumer">The consumer process that printed it (one name per process, restarts get new names).</param>
/// <param name="Partition">The partition.</param>
/// <param name="Offset">Its offset.</param>
/// <param name="Value">Its value as text.</param>
/// <param name="ReceivedAt">When the test read the line (since the run started); the process printed it earlier.</param>
public sealed record Delivery(string Consumer, int Partition, long Offset, string Value, TimeSpan ReceivedAt);

/// <summary>What one member of the group owned in one snapshot.</summary>
/// <param name="MemberId">The member id.</param>
/// <param name="MemberEpoch">Its member epoch.</param>
/// <param name="Partitions">Partitions it owns: assigned, or revoked but not yet released.</param>
public sealed record MemberOwnership(string MemberId, int MemberEpoch, IReadOnlyList<int> Partitions);

/// <summary>The group as one describe call returned it.</summary>
/// <param name="TakenAt">When the answer arrived (since the run started); snapshots are taken one after the other.</param>
/// <param name="GroupEpoch">The group epoch.</param>
/// <param name="Members">Every member with what it owns.</param>
/// <param name="Committed">Committed offset per partition (partitions never committed are absent).</param>
public sealed record OwnershipSnapshot(TimeSpan TakenAt, int GroupEpoch, IReadOnlyList<MemberOwnership> Members, IReadOnlyDictionary<int, long> Committed);

/// <summary>Everything a chaos run observed, for <see cref="GroupChaosChecker.Check"/>.</summary>
/// <param name="Acknowledged">Every acknowledged record: its position and its payload.</param>
/// <param name="Deliveries">Every record every consumer printed, the final drain included.</param>
/// <param name="Killed">Consumers killed with SIGKILL.</param>
/// <param name="Snapshots">The group, polled during the run, in the order taken.</param>
/// <param name="LogEnd">Each partition's log end offset once producing stopped.</param>
/// <param name="FinalCommitted">The group's committed offsets after the final drain.</param>
public sealed record ChaosObservations(
    IReadOnlyDictionary<(int Partition, long Offset), string> Acknowledged,
    IReadOnlyList<Delivery> Deliveries,
    IReadOnlySet<string> Killed,
    IReadOnlyList<OwnershipSnapshot> Snapshots,
    IReadOnlyDictionary<int, long> LogEnd,
    IReadOnlyDictionary<int, long> FinalCommitted);

/// <summary>
/// The oracle of the consumer-group chaos test: from what the producer was told, what the consumers printed and how
/// the group looked while silos and consumers were killed, it checks the group's promises:
/// <list type="number">
/// <item>every acknowledged record is delivered at least once, with its acknowledged payload;</item>
/// <item>committed offsets never go backwards, nor do group and member epochs;</item>
/// <item>no partition is owned by two members in one snapshot, nor by two members at the same member epoch ever;</item>
/// <item>a record is delivered again only while it is uncommitted: never after the group committed past it.</item>
/// </list>
/// Duplicates are counted, split by whether the first consumer to print the record was later killed or handed the
/// partition over while alive (revoked, evicted or fenced).
/// </summary>
/// <remarks>
/// Times are when the test read a consumer's line, which is after the consumer printed it. A redelivery is only
/// blamed on a commit seen in a snapshot at least <see cref="ReadLagAllowance"/> before the test read the line, so a
/// slow pipe can hide a violation but never invent one. A stale committed offset served after a crash redelivers
/// records committed seconds earlier, which this still catches.
/// </remarks>
public static class GroupChaosChecker
{
    /// <summary>How much later than its printing the test may read a consumer's line.</summary>
    public static readonly TimeSpan ReadLagAllowance = TimeSpan.FromSeconds(2);

    /// <summary>Checks a run; <see cref="ChaosReport.Problems"/> is empty when every promise held.</summary>
    public static ChaosReport Check(ChaosObservations run)
    {
        var report = new ChaosReport
        {
            Acknowledged = run.Acknowledged.Count,
            Delivered = run.Deliveries.Count,
            Snapshots = run.Snapshots.Count,
            MaxGroupEpoch = run.Snapshots.Count == 0 ? 0 : run.Snapshots.Max(s => s.GroupEpoch),
            MembersSeen = run.Snapshots.SelectMany(s => s.Members).Select(m => m.MemberId).Distinct(StringComparer.Ordinal).Count(),
        };
        CheckDeliveredEverything(run, report);
        CheckNothingGoesBackwards(run, report);
        CheckSingleOwnership(run, report);
        CheckDuplicates(run, report);
        CheckFinalDrain(run, report);
        return report;
    }

    private static void CheckDeliveredEverything(ChaosObservations run, ChaosReport report)
    {
        var delivered = new Dictionary<(int, long), Delivery>();
        foreach (var delivery in run.Deliveries)
        {
            delivered.TryAdd((delivery.Partition, delivery.Offset), delivery);
            if (run.Acknowledged.TryGetValue((delivery.Partition, delivery.Offset), out var payload) && payload != delivery.Value)
            {
                report.Problems.Add($"WRONG DATA: {delivery.Consumer} printed p{delivery.Partition}@{delivery.Offset} = '{delivery.Value}', acknowledged as '{payload}'");
            }
        }
        report.DistinctDelivered = delivered.Count;
        report.DeliveredUnacknowledged = delivered.Keys.Count(p => !run.Acknowledged.ContainsKey(p));
        foreach (var ((partition, offset), payload) in run.Acknowledged.OrderBy(a => a.Key))
        {
            if (!delivered.ContainsKey((partition, offset)))
            {
                report.Lost++;
                report.Problems.Add($"LOST: acknowledged p{partition}@{offset} ('{payload}') was never delivered");
            }
        }
    }

    private static void CheckNothingGoesBackwards(ChaosObservations run, ChaosReport report)
    {
        var committed = new Dictionary<int, (long Offset, TimeSpan At)>();
        var memberEpochs = new Dictionary<string, (int Epoch, TimeSpan At)>(StringComparer.Ordinal);
        (int Epoch, TimeSpan At)? groupEpoch = null;
        foreach (var snapshot in run.Snapshots)
        {
            if (groupEpoch is { } previous && snapshot.GroupEpoch < previous.Epoch)
            {
                report.Problems.Add($"GROUP EPOCH BACKWARDS: {previous.Epoch} at {Seconds(previous.At)}, then {snapshot.GroupEpoch} at {Seconds(snapshot.TakenAt)}");
            }
            groupEpoch = (snapshot.GroupEpoch, snapshot.TakenAt);
            foreach (var (partition, offset) in snapshot.Committed)
            {
                if (committed.TryGetValue(partition, out var before) && offset < before.Offset)
                {
                    report.Problems.Add($"COMMIT BACKWARDS: p{partition} committed {before.Offset} at {Seconds(before.At)}, then {offset} at {Seconds(snapshot.TakenAt)}");
                }
                committed[partition] = (offset, snapshot.TakenAt);
            }
            foreach (var partition in committed.Keys.Where(p => !snapshot.Committed.ContainsKey(p)).ToList())
            {
                report.Problems.Add($"COMMIT VANISHED: p{partition} committed {committed[partition].Offset} at {Seconds(committed[partition].At)}, absent at {Seconds(snapshot.TakenAt)}");
                committed.Remove(partition);
            }
            foreach (var member in snapshot.Members)
            {
                if (memberEpochs.TryGetValue(member.MemberId, out var before) && member.MemberEpoch < before.Epoch)
                {
                    report.Problems.Add($"MEMBER EPOCH BACKWARDS: {member.MemberId} at epoch {before.Epoch} at {Seconds(before.At)}, then {member.MemberEpoch} at {Seconds(snapshot.TakenAt)}");
                }
                memberEpochs[member.MemberId] = (member.MemberEpoch, snapshot.TakenAt);
            }
        }
    }

    private static void CheckSingleOwnership(ChaosObservations run, ChaosReport report)
    {
        var ownerAtEpoch = new Dictionary<(int Partition, int Epoch), string>();
        foreach (var snapshot in run.Snapshots)
        {
            var owners = new Dictionary<int, string>();
            foreach (var member in snapshot.Members)
            {
                foreach (var partition in member.Partitions)
                {
                    if (!owners.TryAdd(partition, member.MemberId) && owners[partition] != member.MemberId)
                    {
                        report.Problems.Add($"TWO OWNERS: p{partition} owned by {owners[partition]} and {member.MemberId} at {Seconds(snapshot.TakenAt)} (group epoch {snapshot.GroupEpoch})");
                    }
                    if (!ownerAtEpoch.TryAdd((partition, member.MemberEpoch), member.MemberId) && ownerAtEpoch[(partition, member.MemberEpoch)] != member.MemberId)
                    {
                        report.Problems.Add($"TWO OWNERS IN ONE EPOCH: p{partition} at member epoch {member.MemberEpoch} owned by {ownerAtEpoch[(partition, member.MemberEpoch)]} and, at {Seconds(snapshot.TakenAt)}, by {member.MemberId}");
                    }
                }
            }
        }
    }

    private static void CheckDuplicates(ChaosObservations run, ChaosReport report)
    {
        // Per partition, the committed offsets seen and when: the highest one seen by a time is what the group had
        // committed by then at least.
        var commits = run.Snapshots
            .SelectMany(s => s.Committed.Select(c => (Partition: c.Key, Offset: c.Value, s.TakenAt)))
            .GroupBy(c => c.Partition)
            .ToDictionary(g => g.Key, g => g.OrderBy(c => c.TakenAt).Select(c => (c.TakenAt, c.Offset)).ToList());

        foreach (var copies in run.Deliveries.GroupBy(d => (d.Partition, d.Offset)).Where(g => g.Count() > 1))
        {
            var ordered = copies.OrderBy(d => d.ReceivedAt).ToList();
            var first = ordered[0];
            foreach (var again in ordered.Skip(1))
            {
                report.Duplicates++;
                if (run.Killed.Contains(first.Consumer))
                {
                    report.DuplicatesAfterKill++;
                }
                else
                {
                    report.DuplicatesAfterHandOver++;
                }
                var committedBefore = CommittedBy(commits, again.Partition, again.ReceivedAt - ReadLagAllowance);
                if (committedBefore is { } committed && committed.Offset > again.Offset)
                {
                    report.CommittedRedeliveries++;
                    report.Problems.Add(
                        $"REDELIVERED AFTER COMMIT: p{again.Partition}@{again.Offset} printed by {first.Consumer} at {Seconds(first.ReceivedAt)} " +
                        $"and again by {again.Consumer} at {Seconds(again.ReceivedAt)}, but the group had committed {committed.Offset} by {Seconds(committed.At)}");
                }
            }
        }
    }

    private static (long Offset, TimeSpan At)? CommittedBy(Dictionary<int, List<(TimeSpan TakenAt, long Offset)>> commits, int partition, TimeSpan time)
    {
        if (!commits.TryGetValue(partition, out var seen))
        {
            return null;
        }
        (long, TimeSpan)? highest = null;
        foreach (var (takenAt, offset) in seen)
        {
            if (takenAt > time)
            {
                break;
            }
            if (highest is null || offset > highest.Value.Item1)
            {
                highest = (offset, takenAt);
            }
        }
        return highest;
    }

    private static void CheckFinalDrain(ChaosObservations run, ChaosReport report)
    {
        foreach (var (partition, end) in run.LogEnd.OrderBy(e => e.Key))
        {
            var committed = run.FinalCommitted.TryGetValue(partition, out var c) ? c : (long?)null;
            if (committed != end)
            {
                report.Problems.Add($"NOT DRAINED: p{partition} ends at {end} but the group committed {committed?.ToString() ?? "nothing"} after the final drain");
            }
        }
    }

    private static string Seconds(TimeSpan time) => $"{time.TotalSeconds:0.0} s";
}

/// <summary>The outcome of <see cref="GroupChaosChecker.Check"/>.</summary>
public sealed class ChaosReport
{
    /// <summary>Records the producer was told were written.</summary>
    public int Acknowledged { get; set; }

    /// <summary>Lines printed by all consumers together.</summary>
    public int Delivered { get; set; }

    /// <summary>Distinct positions printed.</summary>
    public int DistinctDelivered { get; set; }

    /// <summary>Positions printed that no acknowledgement names (written, but the acknowledgement was lost).</summary>
    public int DeliveredUnacknowledged { get; set; }

    /// <summary>Acknowledged records nobody printed.</summary>
    public int Lost { get; set; }

    /// <summary>Prints beyond the first of a position.</summary>
    public int Duplicates { get; set; }

    /// <summary>Duplicates whose first printer was later killed.</summary>
    public int DuplicatesAfterKill { get; set; }

    /// <summary>Duplicates whose first printer lived on (its partition was revoked, or it was evicted or fenced).</summary>
    public int DuplicatesAfterHandOver { get; set; }

    /// <summary>Duplicates printed after the group had committed past them (a broken promise).</summary>
    public int CommittedRedeliveries { get; set; }

    /// <summary>Group snapshots taken.</summary>
    public int Snapshots { get; set; }

    /// <summary>The highest group epoch seen.</summary>
    public int MaxGroupEpoch { get; set; }

    /// <summary>Distinct member ids seen.</summary>
    public int MembersSeen { get; set; }

    /// <summary>Every broken promise, by kind.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>True when every promise held.</summary>
    public bool Passed => Problems.Count == 0;

    /// <inheritdoc />
    public override string ToString() =>
        $"acked {Acknowledged}, delivered {Delivered} ({DistinctDelivered} distinct, {DeliveredUnacknowledged} unacknowledged), lost {Lost}, " +
        $"duplicates {Duplicates} ({DuplicatesAfterKill} after a kill, {DuplicatesAfterHandOver} after a live hand-over, " +
        $"{CommittedRedeliveries} after a commit), {Snapshots} group snapshots, {MembersSeen} members, group epoch up to {MaxGroupEpoch}, " +
        $"{Problems.Count} problems";
}
