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

/// <summary>A member left or was evicted; whatever it owned is released.</summary>
public sealed record MemberRemoved(string MemberId, string Reason) : GroupEvent;

/// <summary>Membership, subscriptions or topic metadata changed: the group needs a new target assignment.</summary>
public sealed record GroupEpochBumped(int GroupEpoch, IReadOnlyDictionary<string, int> SubscribedPartitionCounts) : GroupEvent;

/// <summary>The assignor computed the target assignment for <paramref name="AssignmentEpoch"/>.</summary>
public sealed record TargetAssignmentComputed(int AssignmentEpoch, IReadOnlyDictionary<string, IReadOnlySet<TopicPartition>> Target) : GroupEvent;

/// <summary>An offset was committed.</summary>
public sealed record OffsetCommitted(TopicPartition Partition, CommittedOffset Offset) : GroupEvent;
