using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Errors;
using static OrleansGroups.Core.Tests.Assignment.AssignmentBuilders;

namespace OrleansGroups.Core.Tests.Assignment;

public class UniformAssignorTests
{
    private static readonly UniformAssignor Assignor = UniformAssignor.Instance;

    [Fact]
    public void FourPartitionsTwoMembersSplitTwoTwo()
    {
        var result = Assignor.Assign(new GroupSpec([Member("a", ["t"]), Member("b", ["t"])]), Metadata(("t", 4)));

        Assert.Equal(Partitions("t", 0, 2), result.Partitions["a"]);
        Assert.Equal(Partitions("t", 1, 3), result.Partitions["b"]);
    }

    [Fact]
    public void ThirdMemberJoiningTakesOnePartitionAndNobodyElseMoves()
    {
        var spec = new GroupSpec([
            Member("a", ["t"], Partitions("t", 0, 2)),
            Member("b", ["t"], Partitions("t", 1, 3)),
            Member("c", ["t"])]);

        var result = Assignor.Assign(spec, Metadata(("t", 4)));

        // a is the most loaded with the lowest id, so it gives its highest partition: 1/2/1.
        Assert.Equal(Partitions("t", 0), result.Partitions["a"]);
        Assert.Equal(Partitions("t", 1, 3), result.Partitions["b"]);
        Assert.Equal(Partitions("t", 2), result.Partitions["c"]);
    }

    [Fact]
    public void MemberLeavingHandsItsPartitionsToTheLeastLoaded()
    {
        var spec = new GroupSpec([Member("a", ["t"], Partitions("t", 0, 3)), Member("c", ["t"], Partitions("t", 2))]);

        var result = Assignor.Assign(spec, Metadata(("t", 4)));

        Assert.Equal(Partitions("t", 0, 3), result.Partitions["a"]);
        Assert.Equal(Partitions("t", 1, 2), result.Partitions["c"]);
    }

    [Fact]
    public void LoadMovesAlongAChainWhenNoDirectMoveIsPossible()
    {
        // a can only take x, c only y; b takes both. a→c is impossible, so a gives x to b and b gives y to c.
        var spec = new GroupSpec([
            Member("a", ["x"], Partitions("x", 0, 1, 2, 3)),
            Member("b", ["x", "y"], Partitions("y", 0, 1)),
            Member("c", ["y"])]);

        var result = Assignor.Assign(spec, Metadata(("x", 4), ("y", 2)));

        AssertValid(spec, Metadata(("x", 4), ("y", 2)), result);
        Assert.Equal([2, 2, 2], Loads(result).Values);
        Assert.Equal(Partitions("x", 0, 1), result.Partitions["a"]);
        Assert.Equal(Partitions("y", 0, 1), result.Partitions["c"]);
    }

    [Fact]
    public void UnsubscribedAndVanishedPartitionsAreDropped()
    {
        var spec = new GroupSpec([
            Member("a", ["t"], [Tp("t", 0), Tp("t", 5), Tp("gone", 0), Tp("u", 0)]),
            Member("b", ["t", "u"])]);

        var result = Assignor.Assign(spec, Metadata(("t", 2), ("u", 1)));

        Assert.Equal([Tp("t", 0)], result.Partitions["a"]);
        Assert.Equal([Tp("t", 1), Tp("u", 0)], result.Partitions["b"]);
    }

    [Fact]
    public void PartitionClaimedTwiceGoesToTheLowerMemberId()
    {
        var spec = new GroupSpec([Member("b", ["t"], Tp("t", 0)), Member("a", ["t"], Tp("t", 0))]);

        var result = Assignor.Assign(spec, Metadata(("t", 2)));

        Assert.Equal([Tp("t", 0)], result.Partitions["a"]);
        Assert.Equal([Tp("t", 1)], result.Partitions["b"]);
    }

    [Fact]
    public void MoreMembersThanPartitionsLeavesTheExtrasEmpty()
    {
        var result = Assignor.Assign(
            new GroupSpec([Member("a", ["t"]), Member("b", ["t"]), Member("c", ["t"]), Member("d", ["missing"])]), Metadata(("t", 2)));

        Assert.Equal(new Dictionary<string, int> { ["a"] = 1, ["b"] = 1, ["c"] = 0, ["d"] = 0 }, Loads(result));
    }

    [Fact]
    public void EmptyGroupGetsAnEmptyAssignment() =>
        Assert.Empty(Assignor.Assign(new GroupSpec([]), Metadata(("t", 3))).Partitions);

    [Fact]
    public void DuplicateMemberIdIsRejected() =>
        Assert.Throws<InvalidRequestException>(() => Assignor.Assign(new GroupSpec([Member("a", ["t"]), Member("a", ["t"])]), Metadata(("t", 1))));

    [Fact]
    public void ValidDeterministicAndBalancedForGeneratedGroups()
    {
        for (var seed = 0; seed < 500; seed++)
        {
            var random = new Random(seed);
            var equal = seed % 2 == 0;
            var (spec, topics) = RandomGroup(random, equal);
            var result = Assignor.Assign(spec, topics);

            AssertValid(spec, topics, result);
            Assert.Equal(result, Assignor.Assign(Shuffled(spec, random), Shuffled(topics, random)));
            var loads = spec.Members.Where(m => m.SubscribedTopics.Any(topics.PartitionCounts.ContainsKey))
                .Select(m => result.Partitions[m.MemberId].Count).ToList();
            if (equal && loads.Count > 0)
                Assert.True(loads.Max() - loads.Min() <= 1, $"seed {seed}: loads {string.Join(",", loads)}");
        }
    }

    [Fact]
    public void AsBalancedAsSubscriptionsAllowForSmallGroups()
    {
        for (var seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            var (fresh, topics) = RandomGroup(random, equalSubscriptions: false, maxMembers: 4, maxPartitions: 3);
            // Start from an arbitrary, possibly lopsided, current assignment so stickiness is under test too.
            var current = Assignor.Assign(new GroupSpec(fresh.Members.Take(1).ToList()), topics);
            var spec = new GroupSpec(Adopt(fresh.Members.Take(1), current).Concat(fresh.Members.Skip(1)).ToList());

            var result = Assignor.Assign(spec, topics);

            AssertValid(spec, topics, result);
            Assert.True(BestSumOfSquares(spec, topics) == SumOfSquares(result), $"seed {seed}: not optimally balanced");
        }
    }

    [Fact]
    public void JoinsAndLeavesMoveTheFewestPartitionsPossible()
    {
        var checkedLeaves = 0;
        for (var seed = 0; seed < 500; seed++)
        {
            var random = new Random(seed);
            var (spec, topics) = RandomGroup(random, equalSubscriptions: true, maxMembers: 10, maxPartitions: 30);
            if (!spec.Members[0].SubscribedTopics.Any(topics.PartitionCounts.ContainsKey))
                continue;
            var before = Assignor.Assign(spec, topics);
            var members = Adopt(spec.Members, before);

            var joined = members.Append(Member("zz-new", [.. spec.Members[0].SubscribedTopics])).ToList();
            var afterJoin = Assignor.Assign(new GroupSpec(joined), topics);
            Assert.True(MinimumMoves(before, joined.Select(m => m.MemberId)) == Moved(before, afterJoin), $"seed {seed}: join moved too much");

            if (members.Count == 1)
                continue;
            var leaver = members[random.Next(members.Count)].MemberId;
            var remaining = members.Where(m => m.MemberId != leaver).ToList();
            var afterLeave = Assignor.Assign(new GroupSpec(remaining), topics);
            Assert.True(MinimumMoves(before, remaining.Select(m => m.MemberId)) == Moved(before, afterLeave), $"seed {seed}: leave moved too much");
            checkedLeaves++;
        }
        Assert.True(checkedLeaves > 300);
    }

    [Fact]
    public void FromAnyCurrentAssignmentOnlyTheNecessaryPartitionsMove()
    {
        var checkedGroups = 0;
        for (var seed = 0; seed < 500; seed++)
        {
            var random = new Random(seed);
            var (spec, topics) = RandomGroup(random, equalSubscriptions: true, maxMembers: 8, maxPartitions: 20);
            var all = spec.Members[0].SubscribedTopics.Where(topics.PartitionCounts.ContainsKey)
                .SelectMany(t => Enumerable.Range(0, topics.PartitionCounts[t]).Select(p => Tp(t, p))).ToList();
            if (all.Count == 0)
                continue;
            // Deal each partition to a random member, or to nobody (a new partition or a departed owner's).
            var owner = all.ToDictionary(p => p, _ => random.Next(-1, spec.Members.Count));
            var members = spec.Members.Select((m, i) => m with
            {
                CurrentAssignment = owner.Where(e => e.Value == i).Select(e => e.Key).ToHashSet(),
            }).ToList();
            var before = new GroupAssignment(members.ToDictionary(m => m.MemberId, m => m.CurrentAssignment));

            var after = Assignor.Assign(new GroupSpec(members), topics);

            var total = all.Count;
            var (quota, extra) = (total / members.Count, total % members.Count);
            var held = members.Select(m => m.CurrentAssignment.Count).ToList();
            var minimum = held.Sum(c => Math.Max(0, c - quota)) - Math.Min(extra, held.Count(c => c > quota));
            Assert.True(minimum == Moved(before, after), $"seed {seed}: moved {Moved(before, after)}, minimum {minimum}");
            checkedGroups++;
        }
        Assert.True(checkedGroups > 400);
    }

    /// <summary>
    /// With equal subscriptions and P partitions over M members, each ends with ⌊P/M⌋ or one more, and P mod M
    /// members get the extra. A departed member's partitions must all move; a survivor holding c must shed
    /// c − target. Extras go best to members holding more than ⌊P/M⌋, saving one move each.
    /// </summary>
    private static int MinimumMoves(GroupAssignment before, IEnumerable<string> membersAfter)
    {
        var after = membersAfter.ToList();
        var total = before.Partitions.Values.Sum(s => s.Count);
        var (quota, extra) = (total / after.Count, total % after.Count);
        var held = after.Select(m => before.Partitions.TryGetValue(m, out var s) ? s.Count : 0).ToList();
        var departed = before.Partitions.Where(e => !after.Contains(e.Key)).Sum(e => e.Value.Count);
        return departed + held.Sum(c => Math.Max(0, c - quota)) - Math.Min(extra, held.Count(c => c > quota));
    }
}
