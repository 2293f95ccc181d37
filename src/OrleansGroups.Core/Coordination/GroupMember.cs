using System.Collections.Immutable;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Coordination;

/// <summary>Where a member stands on its way to its target assignment (Kafka KIP-848 reconciliation).</summary>
public enum MemberState
{
    /// <summary>The member owns exactly its target assignment at the current assignment epoch.</summary>
    Stable,
    /// <summary>The member was asked to give up partitions and has not yet confirmed it did.</summary>
    UnrevokedPartitions,
    /// <summary>The member waits for partitions that another member has not released yet.</summary>
    UnreleasedPartitions,
}

/// <summary>One member of a consumer group, immutable: reconciliation returns a new instance.</summary>
/// <param name="MemberId">Unique id of the member's session, chosen by the client.</param>
/// <param name="InstanceId">Static member id (<c>group.instance.id</c>), or null for a dynamic member.</param>
/// <param name="ClientId">Free-form client name for diagnostics.</param>
/// <param name="SubscribedTopics">Topics the member consumes.</param>
/// <param name="MemberEpoch">The epoch the member last reconciled to; commits carry it.</param>
/// <param name="State">Reconciliation state.</param>
/// <param name="AssignedPartitions">Partitions the member owns and may fetch and commit.</param>
/// <param name="PartitionsPendingRevocation">Partitions taken from the member that it has not confirmed releasing; it may still commit them, nobody else owns them yet.</param>
/// <param name="SessionTimeoutMs">Silence after which the member is evicted.</param>
/// <param name="RebalanceTimeoutMs">Time the member has to release revoked partitions before it is evicted.</param>
/// <param name="ServerAssignor">The server-side assignor the member asked for (canonical name), or null for the group's default.</param>
public sealed record GroupMember(
    string MemberId,
    string? InstanceId,
    string ClientId,
    ImmutableSortedSet<string> SubscribedTopics,
    int MemberEpoch,
    MemberState State,
    ImmutableSortedSet<TopicPartition> AssignedPartitions,
    ImmutableSortedSet<TopicPartition> PartitionsPendingRevocation,
    int SessionTimeoutMs,
    int RebalanceTimeoutMs,
    string? ServerAssignor = null)
{
    /// <summary>True when the member owns the partition: assigned, or revoked but not yet released.</summary>
    public bool Owns(TopicPartition partition) =>
        AssignedPartitions.Contains(partition) || PartitionsPendingRevocation.Contains(partition);

    /// <summary>A member-equality check that compares set contents, not references.</summary>
    public bool SameAs(GroupMember other) =>
        MemberId == other.MemberId && InstanceId == other.InstanceId && ClientId == other.ClientId &&
        MemberEpoch == other.MemberEpoch && State == other.State &&
        SessionTimeoutMs == other.SessionTimeoutMs && RebalanceTimeoutMs == other.RebalanceTimeoutMs &&
        ServerAssignor == other.ServerAssignor &&
        SubscribedTopics.SetEquals(other.SubscribedTopics) &&
        AssignedPartitions.SetEquals(other.AssignedPartitions) &&
        PartitionsPendingRevocation.SetEquals(other.PartitionsPendingRevocation);
}
