using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Coordination;

/// <summary>
/// A change to a consumer group. Handlers decide and return events; <see cref="ConsumerGroupModel.Apply"/>
/// is the only place state changes (Kafka's records + replay).
/// </summary>
public abstract record GroupEvent;

/// <summary>A member joined or its state changed.</summary>
public sealed record MemberUpserted(GroupMember Member) : GroupEvent;

/// <summary>
/// A static member's new incarnation took the place of <paramref name="PreviousMemberId"/> (the same instance id): it
/// inherits the previous member's partitions and target, so nothing is rebalanced (KIP-345).
/// </summary>
public sealed record MemberReplaced(string PreviousMemberId, GroupMember Member) : GroupEvent;

/// <summary>A member left or was evicted; whatever it owned is released.</summary>
public sealed record MemberRemoved(string MemberId, string Reason) : GroupEvent;

/// <summary>Membership, subscriptions or topic metadata changed: the group needs a new target assignment.</summary>
public sealed record GroupEpochBumped(int GroupEpoch, IReadOnlyDictionary<string, int> SubscribedPartitionCounts) : GroupEvent;

/// <summary>The assignor computed the target assignment for <paramref name="AssignmentEpoch"/>.</summary>
public sealed record TargetAssignmentComputed(int AssignmentEpoch, IReadOnlyDictionary<string, IReadOnlySet<TopicPartition>> Target) : GroupEvent;

/// <summary>The group switched to the server-side assignor <paramref name="Assignor"/> (its members' preference, or the default).</summary>
public sealed record AssignorSelected(string Assignor) : GroupEvent;

/// <summary>An offset was committed.</summary>
public sealed record OffsetCommitted(TopicPartition Partition, CommittedOffset Offset) : GroupEvent;

/// <summary>The last member left or was evicted at <paramref name="AtMs"/> (unix ms): the offsets retention clock starts (KIP-211).</summary>
public sealed record GroupEmptied(long AtMs) : GroupEvent;

/// <summary>A committed offset of an empty group outlived <c>offsets.retention</c> and was removed.</summary>
public sealed record OffsetExpired(TopicPartition Partition) : GroupEvent;

/// <summary>
/// The group was deleted (by an admin, or because its offsets expired while it was empty): it has no members, and
/// its offsets, epochs and target are gone, as if it had never existed. Kafka writes the group's tombstones.
/// </summary>
public sealed record GroupDeleted : GroupEvent;
