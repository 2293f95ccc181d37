namespace OrleansGroups.Core.Offsets;

/// <summary>A committed position: the offset of the next record the group will read.</summary>
/// <param name="Offset">Next offset to consume (last processed + 1), as in Kafka.</param>
/// <param name="Metadata">Optional application metadata stored with the commit.</param>
/// <param name="CommitTimestampMs">When the commit was accepted (unix ms).</param>
/// <param name="MemberEpoch">Epoch of the member that committed (-1 for an admin or simple commit).</param>
[GenerateSerializer, Immutable, Alias("og.CommittedOffset")]
public sealed record CommittedOffset(
    [property: Id(0)] long Offset,
    [property: Id(1)] string? Metadata,
    [property: Id(2)] long CommitTimestampMs,
    [property: Id(3)] int MemberEpoch);
