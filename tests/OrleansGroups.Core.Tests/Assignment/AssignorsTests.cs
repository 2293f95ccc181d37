using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;
using static OrleansGroups.Core.Tests.Assignment.AssignmentBuilders;

namespace OrleansGroups.Core.Tests.Assignment;

public class AssignorsTests
{
    [Fact]
    public void LooksAssignorsUpByName()
    {
        Assert.IsType<RangeAssignor>(Assignors.Get("range"));
        Assert.IsType<UniformAssignor>(Assignors.Get("uniform"));
        Assert.Equal("uniform", Assignors.Get(Assignors.Default).Name);
    }

    [Fact]
    public void StickyIsAnAliasOfUniform()
    {
        Assert.Same(UniformAssignor.Instance, Assignors.Get("sticky"));
        Assert.Equal(["uniform", "uniform", "range"], new[] { "sticky", "uniform", "range" }.Select(Assignors.Canonical));
    }

    [Theory]
    [InlineData("Uniform")]
    [InlineData("cooperative-sticky")]
    [InlineData("")]
    public void UnknownNameIsRejected(string name) =>
        Assert.Contains("Unknown assignor", Assert.Throws<InvalidRequestException>(() => Assignors.Get(name)).Message);

    [Fact]
    public void GroupAssignmentsWithEqualContentsAreEqual()
    {
        var one = new GroupAssignment(new Dictionary<string, IReadOnlySet<TopicPartition>>
        {
            ["a"] = new HashSet<TopicPartition> { Tp("t", 0), Tp("t", 1) },
            ["b"] = new HashSet<TopicPartition>(),
        });
        var same = new GroupAssignment(new Dictionary<string, IReadOnlySet<TopicPartition>>
        {
            ["b"] = new SortedSet<TopicPartition>(),
            ["a"] = new SortedSet<TopicPartition> { Tp("t", 1), Tp("t", 0) },
        });
        var moved = new GroupAssignment(new Dictionary<string, IReadOnlySet<TopicPartition>>
        {
            ["a"] = new HashSet<TopicPartition> { Tp("t", 0) },
            ["b"] = new HashSet<TopicPartition> { Tp("t", 1) },
        });

        Assert.Equal(one, same);
        Assert.Equal(one.GetHashCode(), same.GetHashCode());
        Assert.NotEqual(one, moved);
    }
}
