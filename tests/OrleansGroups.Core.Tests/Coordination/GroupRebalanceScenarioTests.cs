using System.Collections.Immutable;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Topics;
using static OrleansGroups.Core.Coordination.MemberState;
using static OrleansGroups.Core.Tests.Coordination.GroupBuilders;

namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>
/// The textbook story driven through heartbeats only, checking after every single heartbeat that no partition
/// has two owners and that members whose partitions do not move never lose any (KIP-848's promise: only the
/// partitions that move pause).
/// </summary>
public class GroupRebalanceScenarioTests
{
    [Fact]
    public void ThirdMemberJoinsThenOneExpires_OnlyMovingPartitionsChangeHands()
    {
        // 4 partitions, 2 members: 2/2.
        var group = TestGroup.WithTopic(4);
        group.Join("a");
        AssertNoPartitionOwnedTwice(group.Model);
        group.Join("b");
        AssertNoPartitionOwnedTwice(group.Model);
        group.Stabilize(() => AssertNoPartitionOwnedTwice(group.Model));
        AssertMember(Member("a", 2, Stable, P(0, 1)), group["a"]);
        AssertMember(Member("b", 2, Stable, P(2, 3)), group["b"]);

        // c joins: the sticky target takes a's t/1 for c; a keeps t/0 and b keeps t/2, t/3 throughout.
        var kept = KeptThroughRebalance(group, () => group.Join("c"));
        Assert.Equal(["a=t/0", "b=t/2,t/3"], kept.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}={Show(k.Value)}"));
        CheckInvariants(group, kept);
        var rounds = group.Stabilize(() => CheckInvariants(group, kept));

        Assert.Equal(2, rounds); // round 1: a is told to revoke t/1; round 2: a confirms, then c takes it
        AssertMember(Member("a", 3, Stable, P(0)), group["a"]);
        AssertMember(Member("b", 3, Stable, P(2, 3)), group["b"]);
        AssertMember(Member("c", 3, Stable, P(1)), group["c"]);

        // b falls silent: a and c keep heartbeating every 2 s, and b is evicted when its 10 s session runs out.
        var steady = new Dictionary<string, ImmutableSortedSet<TopicPartition>> { ["a"] = P(0), ["c"] = P(1) };
        IReadOnlyList<string> expired = [];
        kept = KeptThroughRebalance(group, () =>
        {
            for (var elapsed = 0; expired.Count == 0; elapsed += 2_000)
            {
                Assert.True(elapsed < SessionTimeoutMs, "b was not evicted in time");
                group.Advance(2_000);
                group.Heartbeat("a");
                CheckInvariants(group, steady);
                group.Heartbeat("c");
                CheckInvariants(group, steady);
                expired = group.Expire().Response;
            }
        });
        Assert.Equal(["b"], expired);
        Assert.Equal(Start.AddMilliseconds(SessionTimeoutMs), group.Time.GetUtcNow());
        Assert.Equal(["a=t/0", "c=t/1"], kept.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key}={Show(k.Value)}"));
        CheckInvariants(group, kept);
        group.Stabilize(() => CheckInvariants(group, kept));

        // b's partitions go to the least loaded, one each: back to 2/2.
        AssertMember(Member("a", 4, Stable, P(0, 2)), group["a"]);
        AssertMember(Member("c", 4, Stable, P(1, 3)), group["c"]);
    }

    /// <summary>
    /// Runs the change, then returns for each member what it owned before and is still targeted to own after:
    /// the partitions that must never leave it while the group reconciles.
    /// </summary>
    private static Dictionary<string, ImmutableSortedSet<TopicPartition>> KeptThroughRebalance(TestGroup group, Action change)
    {
        var owned = group.Model.Members.Values.ToDictionary(m => m.MemberId, m => m.AssignedPartitions);
        change();
        return owned
            .Where(o => group.Model.Members.ContainsKey(o.Key))
            .ToDictionary(o => o.Key, o => o.Value.Intersect(group.Model.TargetOf(o.Key)));
    }

    private static void CheckInvariants(TestGroup group, Dictionary<string, ImmutableSortedSet<TopicPartition>> kept)
    {
        AssertNoPartitionOwnedTwice(group.Model);
        foreach (var (memberId, partitions) in kept)
        {
            var member = group[memberId];
            Assert.True(partitions.IsSubsetOf(member.AssignedPartitions),
                $"{memberId} should never lose [{Show(partitions)}] but is {Show(member)}");
        }
    }
}
