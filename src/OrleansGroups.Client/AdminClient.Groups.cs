using OrleansGroups.Core.Offsets;

namespace OrleansGroups.Client;

/// <summary>Group administration with Kafka's rules: destructive operations need a group without members.</summary>
public sealed partial class AdminClient
{
    /// <summary>
    /// Deletes a group and its committed offsets, and removes it from <see cref="ListGroupsAsync"/>. Throws
    /// NonEmptyGroup while the group has members (stop them, or wait for their session timeout) and GroupIdNotFound
    /// when it does not exist.
    /// </summary>
    public Task DeleteGroupAsync(string groupId) => Group(groupId).DeleteGroup();

    /// <summary>
    /// Resets a group's committed offsets in a topic, as Kafka's <c>kafka-consumer-groups --reset-offsets</c>: only while
    /// the group has no members (else NonEmptyGroup); offsets are clamped to each partition's [log start, log end].
    /// Returns, per partition, the committed offset before (null when there was none) and after.
    /// </summary>
    /// <param name="groupId">The group; one that does not exist yet is created with these offsets, as in Kafka.</param>
    /// <param name="topic">The topic whose partitions are reset.</param>
    /// <param name="spec">Where to: <see cref="OffsetResetSpec.ToEarliest"/>, <see cref="OffsetResetSpec.ToLatest"/>,
    /// <see cref="OffsetResetSpec.ToOffset"/>, <see cref="OffsetResetSpec.ToDatetime"/> or <see cref="OffsetResetSpec.ShiftBy"/>.</param>
    /// <param name="dryRun">Return the plan without committing it.</param>
    /// <param name="partitions">Only these partitions of the topic; null or empty for all of them.</param>
    public Task<IReadOnlyList<OffsetResetResult>> ResetOffsetsAsync(
        string groupId, string topic, OffsetResetSpec spec, bool dryRun, IReadOnlyList<int>? partitions = null) =>
        Group(groupId).ResetOffsets(topic, partitions, spec, dryRun);

    private IConsumerGroupGrain Group(string groupId) => grains.GetGrain<IConsumerGroupGrain>(groupId);
}
