using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Errors;
using static OrleansGroups.Core.Tests.Assignment.AssignmentBuilders;

namespace OrleansGroups.Core.Tests.Assignment;

public class RangeAssignorTests
{
    private static readonly RangeAssignor Assignor = RangeAssignor.Instance;

    [Fact]
    public void SevenPartitionsThreeMembersGiveContiguousThreeTwoTwo()
    {
        var result = Assignor.Assign(
            new GroupSpec([Member("c", ["t"]), Member("a", ["t"]), Member("b", ["t"])]), Metadata(("t", 7)));

        Assert.Equal(Partitions("t", 0, 1, 2), result.Partitions["a"]);
        Assert.Equal(Partitions("t", 3, 4), result.Partitions["b"]);
        Assert.Equal(Partitions("t", 5, 6), result.Partitions["c"]);
    }

    [Fact]
    public void EqualSubscriptionsAreCoPartitioned()
    {
        var result = Assignor.Assign(new GroupSpec([Member("a", ["x", "y"]), Member("b", ["x", "y"])]), Metadata(("x", 2), ("y", 2)));

        Assert.Equal([Tp("x", 0), Tp("y", 0)], result.Partitions["a"]);
        Assert.Equal([Tp("x", 1), Tp("y", 1)], result.Partitions["b"]);
    }

    [Fact]
    public void EachTopicIsSplitAmongItsOwnSubscribersOnly()
    {
        var result = Assignor.Assign(new GroupSpec([Member("a", ["x"]), Member("b", ["x", "y"])]), Metadata(("x", 2), ("y", 3)));

        Assert.Equal([Tp("x", 0)], result.Partitions["a"]);
        Assert.Equal([Tp("x", 1), Tp("y", 0), Tp("y", 1), Tp("y", 2)], result.Partitions["b"]);
    }

    [Fact]
    public void MissingTopicsAndExtraMembersGetNothing()
    {
        var result = Assignor.Assign(
            new GroupSpec([Member("a", ["t", "missing"]), Member("b", ["t"]), Member("c", ["t"]), Member("d", [])]), Metadata(("t", 2)));

        Assert.Equal([Tp("t", 0)], result.Partitions["a"]);
        Assert.Equal([Tp("t", 1)], result.Partitions["b"]);
        Assert.Empty(result.Partitions["c"]);
        Assert.Empty(result.Partitions["d"]);
    }

    [Fact]
    public void DuplicateMemberIdIsRejected() =>
        Assert.Throws<InvalidRequestException>(() => Assignor.Assign(new GroupSpec([Member("a", ["t"]), Member("a", ["t"])]), Metadata(("t", 1))));

    [Fact]
    public void PropertiesHoldForGeneratedGroups()
    {
        for (var seed = 0; seed < 500; seed++)
        {
            var random = new Random(seed);
            var (spec, topics) = RandomGroup(random, equalSubscriptions: seed % 2 == 0);
            var result = Assignor.Assign(spec, topics);

            AssertValid(spec, topics, result);
            Assert.Equal(result, Assignor.Assign(Shuffled(spec, random), Shuffled(topics, random)));
            foreach (var topic in topics.PartitionCounts.Keys)
            {
                var perSubscriber = spec.Members.Where(m => m.SubscribedTopics.Contains(topic))
                    .Select(m => result.Partitions[m.MemberId].Count(p => p.Topic == topic)).ToList();
                if (perSubscriber.Count > 0)
                    Assert.True(perSubscriber.Max() - perSubscriber.Min() <= 1, $"seed {seed}: topic {topic} unbalanced");
            }
        }
    }
}
