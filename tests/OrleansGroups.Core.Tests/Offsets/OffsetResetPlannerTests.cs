using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Tests.Offsets;

/// <summary>
/// Kafka's <c>--reset-offsets</c> arithmetic. Unless a test says otherwise, partition t/0 holds offsets 10..99
/// (log start 10, log end 100) and the group committed 50 there; t/1 holds 0..19 and has no commit.
/// </summary>
public class OffsetResetPlannerTests
{
    private static readonly TopicPartition P0 = new("t", 0);
    private static readonly TopicPartition P1 = new("t", 1);

    private static readonly IReadOnlyList<PartitionLogBounds> Bounds =
    [
        new(P0, LogStartOffset: 10, LogEndOffset: 100),
        new(P1, LogStartOffset: 0, LogEndOffset: 20),
    ];

    private static readonly Dictionary<TopicPartition, CommittedOffset> Committed = new()
    {
        [P0] = new CommittedOffset(50, "m", 1, 3),
    };

    [Fact]
    public void ToEarliest_IsTheLogStart()
    {
        Assert.Equal([new(P0, 50, 10), new(P1, null, 0)], OffsetResetPlanner.Plan(OffsetResetSpec.ToEarliest(), Bounds, Committed));
    }

    [Fact]
    public void ToLatest_IsTheLogEnd()
    {
        Assert.Equal([new(P0, 50, 100), new(P1, null, 20)], OffsetResetPlanner.Plan(OffsetResetSpec.ToLatest(), Bounds, Committed));
    }

    [Theory]
    [InlineData(15, 15, 15)]
    [InlineData(5, 10, 5)]     // below t/0's log start: clamped up, as Kafka does
    [InlineData(150, 100, 20)] // past both log ends: clamped down
    public void ToOffset_IsClampedIntoEachLog(long requested, long expectedP0, long expectedP1)
    {
        Assert.Equal([new(P0, 50, expectedP0), new(P1, null, expectedP1)],
            OffsetResetPlanner.Plan(OffsetResetSpec.ToOffset(requested), Bounds, Committed));
    }

    [Theory]
    [InlineData(-20, 30)]
    [InlineData(-45, 10)]             // would be 5: clamped to the log start
    [InlineData(30, 80)]
    [InlineData(70, 100)]             // would be 120: clamped to the log end
    [InlineData(long.MaxValue, 100)]  // no overflow
    [InlineData(long.MinValue, 10)]
    public void ShiftBy_MovesTheCommittedOffset_Clamped(long shift, long expected)
    {
        var plan = OffsetResetPlanner.Plan(OffsetResetSpec.ShiftBy(shift), [Bounds[0]], Committed);

        Assert.Equal([new OffsetResetResult(P0, 50, expected)], plan);
    }

    [Fact]
    public void ShiftBy_WithoutACommittedOffset_IsRejected()
    {
        var error = Assert.Throws<InvalidRequestException>(() => OffsetResetPlanner.Plan(OffsetResetSpec.ShiftBy(-1), Bounds, Committed));

        Assert.Equal(OrleansGroupsErrorCode.InvalidRequest, error.Code);
        Assert.StartsWith("Cannot shift the offset of t/1: the group has no committed offset there.", error.Message);
    }

    [Fact]
    public void ToDatetime_UsesEachPartitionsOffsetForTheTime()
    {
        IReadOnlyList<PartitionLogBounds> bounds = [Bounds[0] with { OffsetForTimestamp = 42 }, Bounds[1] with { OffsetForTimestamp = 20 }];

        var plan = OffsetResetPlanner.Plan(OffsetResetSpec.ToDatetime(DateTimeOffset.FromUnixTimeMilliseconds(1_000)), bounds, Committed);

        Assert.Equal([new(P0, 50, 42), new(P1, null, 20)], plan);
    }

    [Fact]
    public void ToDatetime_WithoutTheOffsetForTheTime_IsRejected()
    {
        Assert.Throws<InvalidRequestException>(() =>
            OffsetResetPlanner.Plan(OffsetResetSpec.ToDatetime(DateTimeOffset.UnixEpoch), Bounds, Committed));
    }

    [Fact]
    public void EmptyLog_ResetsToItsStart()
    {
        var plan = OffsetResetPlanner.Plan(OffsetResetSpec.ToOffset(7), [new PartitionLogBounds(P1, 0, 0)], Committed);

        Assert.Equal([new OffsetResetResult(P1, null, 0)], plan);
    }

    [Fact]
    public void SelectPartitions_AllWhenNoneNamed()
    {
        Assert.Equal([P0, P1, new TopicPartition("t", 2)], OffsetResetPlanner.SelectPartitions("t", 3, null));
        Assert.Equal([P0, P1, new TopicPartition("t", 2)], OffsetResetPlanner.SelectPartitions("t", 3, []));
    }

    [Fact]
    public void SelectPartitions_NamedOnesSortedAndDistinct()
    {
        Assert.Equal([P0, new TopicPartition("t", 2)], OffsetResetPlanner.SelectPartitions("t", 3, [2, 0, 2]));
    }

    [Fact]
    public void SelectPartitions_UnknownTopic()
    {
        var error = Assert.Throws<UnknownTopicException>(() => OffsetResetPlanner.SelectPartitions("t", null, null));

        Assert.Equal("t", error.Topic);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(-1)]
    public void SelectPartitions_UnknownPartition(int partition)
    {
        var error = Assert.Throws<UnknownPartitionException>(() => OffsetResetPlanner.SelectPartitions("t", 3, [0, partition]));

        Assert.Equal(("t", partition, 3), (error.Topic, error.Partition, error.PartitionCount));
    }

    [Fact]
    public void Spec_ReadsLikeTheCommandLine()
    {
        Assert.Equal(
            ["to-earliest", "to-latest", "to-offset 5", "shift-by -3", "to-datetime 2025-01-01T00:00:00.0000000+00:00"],
            [
                OffsetResetSpec.ToEarliest().ToString(), OffsetResetSpec.ToLatest().ToString(), OffsetResetSpec.ToOffset(5).ToString(),
                OffsetResetSpec.ShiftBy(-3).ToString(), OffsetResetSpec.ToDatetime(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero)).ToString(),
            ]);
    }
}
