using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Offsets;

/// <summary>Where an admin offset reset moves a group's position (Kafka's <c>kafka-consumer-groups --reset-offsets</c> scenarios).</summary>
public enum OffsetResetMode
{
    /// <summary>To the log start offset: the group re-reads everything still in the log.</summary>
    ToEarliest,
    /// <summary>To the log end offset: the group skips everything written so far.</summary>
    ToLatest,
    /// <summary>To an absolute offset, clamped to [log start, log end].</summary>
    ToOffset,
    /// <summary>To the first record whose timestamp is at or after a time (the log end when there is none).</summary>
    ToDatetime,
    /// <summary>The committed offset moved by a signed amount, clamped to [log start, log end]; needs a committed offset.</summary>
    ShiftBy,
}

/// <summary>What an offset reset does. Build one with the factory methods.</summary>
/// <param name="Mode">The scenario.</param>
/// <param name="Value">The offset (<see cref="OffsetResetMode.ToOffset"/>), the time in Unix milliseconds
/// (<see cref="OffsetResetMode.ToDatetime"/>) or the shift (<see cref="OffsetResetMode.ShiftBy"/>); unused otherwise.</param>
[GenerateSerializer, Immutable, Alias("og.OffsetResetSpec")]
public sealed record OffsetResetSpec([property: Id(0)] OffsetResetMode Mode, [property: Id(1)] long Value = 0)
{
    /// <summary>Reset to the log start offset.</summary>
    public static OffsetResetSpec ToEarliest() => new(OffsetResetMode.ToEarliest);

    /// <summary>Reset to the log end offset.</summary>
    public static OffsetResetSpec ToLatest() => new(OffsetResetMode.ToLatest);

    /// <summary>Reset to <paramref name="offset"/> (clamped to the log's bounds).</summary>
    public static OffsetResetSpec ToOffset(long offset) => new(OffsetResetMode.ToOffset, offset);

    /// <summary>Reset to the first record written at or after <paramref name="time"/>.</summary>
    public static OffsetResetSpec ToDatetime(DateTimeOffset time) => new(OffsetResetMode.ToDatetime, time.ToUnixTimeMilliseconds());

    /// <summary>Move the committed offset by <paramref name="shift"/> (negative: back), clamped to the log's bounds.</summary>
    public static OffsetResetSpec ShiftBy(long shift) => new(OffsetResetMode.ShiftBy, shift);

    /// <summary>"to-earliest", "to-offset 42", ...: the CLI's wording.</summary>
    public override string ToString() => Mode switch
    {
        OffsetResetMode.ToEarliest => "to-earliest",
        OffsetResetMode.ToLatest => "to-latest",
        OffsetResetMode.ToOffset => $"to-offset {Value}",
        OffsetResetMode.ToDatetime => $"to-datetime {DateTimeOffset.FromUnixTimeMilliseconds(Value):O}",
        _ => $"shift-by {Value}",
    };
}

/// <summary>The bounds of one partition's log, as an offset reset needs them.</summary>
/// <param name="Partition">The partition.</param>
/// <param name="LogStartOffset">First offset still in the log.</param>
/// <param name="LogEndOffset">Offset the next record gets (high watermark).</param>
/// <param name="OffsetForTimestamp">For <see cref="OffsetResetMode.ToDatetime"/>: the first offset whose record
/// timestamp is at or after the requested time (the log end when there is none); null for other modes.</param>
public sealed record PartitionLogBounds(TopicPartition Partition, long LogStartOffset, long LogEndOffset, long? OffsetForTimestamp = null);

/// <summary>The outcome of an offset reset for one partition.</summary>
/// <param name="Partition">The partition.</param>
/// <param name="PreviousOffset">The committed offset before the reset; null when the group had none.</param>
/// <param name="NewOffset">The committed offset after the reset (or that a dry run would commit).</param>
[GenerateSerializer, Immutable, Alias("og.OffsetResetResult")]
public sealed record OffsetResetResult(
    [property: Id(0)] TopicPartition Partition,
    [property: Id(1)] long? PreviousOffset,
    [property: Id(2)] long NewOffset);

/// <summary>
/// Plans an offset reset the way Kafka's <c>GroupOffsetsResetter</c> does. Pure: the caller supplies the committed
/// offsets and each partition's log bounds, and decides whether to commit the plan.
/// </summary>
public static class OffsetResetPlanner
{
    /// <summary>
    /// The partitions of <paramref name="topic"/> a reset covers: all of them when <paramref name="requested"/> is
    /// null or empty, otherwise the requested ones (sorted, duplicates dropped).
    /// </summary>
    /// <exception cref="UnknownTopicException"><paramref name="partitionCount"/> is null: the topic does not exist.</exception>
    /// <exception cref="UnknownPartitionException">A requested partition is not in the topic.</exception>
    public static IReadOnlyList<TopicPartition> SelectPartitions(string topic, int? partitionCount, IReadOnlyCollection<int>? requested)
    {
        if (partitionCount is not { } count)
        {
            throw new UnknownTopicException(topic);
        }
        if (requested is null || requested.Count == 0)
        {
            return Enumerable.Range(0, count).Select(p => new TopicPartition(topic, p)).ToList();
        }
        foreach (var partition in requested)
        {
            if (partition < 0 || partition >= count)
            {
                throw new UnknownPartitionException(topic, partition, count);
            }
        }
        return requested.Distinct().Order().Select(p => new TopicPartition(topic, p)).ToList();
    }

    /// <summary>The new committed offset of every partition in <paramref name="partitions"/>, in their order.</summary>
    /// <exception cref="InvalidRequestException">
    /// <see cref="OffsetResetMode.ShiftBy"/> for a partition the group never committed (there is nothing to shift, as in
    /// Kafka), or <see cref="OffsetResetMode.ToDatetime"/> without the partition's offset for the time.
    /// </exception>
    public static IReadOnlyList<OffsetResetResult> Plan(
        OffsetResetSpec spec, IReadOnlyList<PartitionLogBounds> partitions, IReadOnlyDictionary<TopicPartition, CommittedOffset> committed)
    {
        if (spec.Mode == OffsetResetMode.ShiftBy)
        {
            var uncommitted = partitions.Where(p => !committed.ContainsKey(p.Partition)).Select(p => p.Partition).ToList();
            if (uncommitted.Count > 0)
            {
                throw new InvalidRequestException(
                    $"Cannot shift the offset of {string.Join(", ", uncommitted)}: the group has no committed offset there. " +
                    "Reset those partitions to an offset, the earliest or the latest first.");
            }
        }
        return partitions.Select(bounds =>
        {
            long? previous = committed.TryGetValue(bounds.Partition, out var current) ? current.Offset : null;
            var requested = spec.Mode switch
            {
                OffsetResetMode.ToEarliest => bounds.LogStartOffset,
                OffsetResetMode.ToLatest => bounds.LogEndOffset,
                OffsetResetMode.ToOffset => spec.Value,
                OffsetResetMode.ToDatetime => bounds.OffsetForTimestamp ?? throw new InvalidRequestException(
                    $"No offset for time {spec.Value} was supplied for {bounds.Partition}."),
                OffsetResetMode.ShiftBy => SaturatingAdd(previous!.Value, spec.Value),
                _ => throw new InvalidRequestException($"Unknown offset reset mode {spec.Mode}."),
            };
            // Kafka clamps a requested offset into the log (with a warning) rather than failing: a position outside
            // the log would only make the consumer fall back to auto.offset.reset.
            return new OffsetResetResult(bounds.Partition, previous, Math.Clamp(requested, bounds.LogStartOffset, Math.Max(bounds.LogStartOffset, bounds.LogEndOffset)));
        }).ToList();
    }

    private static long SaturatingAdd(long offset, long shift)
    {
        var sum = unchecked(offset + shift);
        // Overflow only when both have the same sign and the sum's sign differs.
        return ((offset ^ sum) & (shift ^ sum)) < 0 ? (shift > 0 ? long.MaxValue : long.MinValue) : sum;
    }
}
