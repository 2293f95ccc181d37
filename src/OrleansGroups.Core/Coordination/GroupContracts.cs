using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Coordination;

/// <summary>The special member epochs of a heartbeat (Kafka's ConsumerGroupHeartbeatRequest constants).</summary>
public static class MemberEpochs
{
    /// <summary>Joins the group (or, for a static member, takes over its previous incarnation).</summary>
    public const int Join = 0;

    /// <summary>Leaves the group: the member's partitions go to the others at once.</summary>
    public const int Leave = -1;

    /// <summary>
    /// A static member leaves for a while (a restart): it keeps its assignment, and nothing is rebalanced, until it
    /// comes back under the same instance id or its session times out. A dynamic member leaves for good.
    /// </summary>
    public const int TemporaryLeave = -2;
}

/// <summary>
/// A member's heartbeat, which is also how it joins (epoch 0). Modelled on Kafka's
/// ConsumerGroupHeartbeat (KIP-848): the member reports what it owns, the group answers what it may own.
/// </summary>
/// <param name="MemberId">Client-chosen unique id of this member session.</param>
/// <param name="MemberEpoch">0 to join; -1 to leave; -2 for a static member to leave temporarily (see <see cref="MemberEpochs"/>);
/// otherwise the epoch the group last returned.</param>
/// <param name="InstanceId">Static member id (<c>group.instance.id</c>), or null. A join with the instance id of an existing
/// member replaces that member and keeps its assignment (KIP-345).</param>
/// <param name="ClientId">Free-form client name.</param>
/// <param name="SubscribedTopics">Topics to consume; null means unchanged.</param>
/// <param name="OwnedPartitions">Partitions the member currently owns; null means unchanged since the last heartbeat.</param>
/// <param name="SessionTimeoutMs">Requested session timeout (clamped by the server); 0 for the default.</param>
/// <param name="RebalanceTimeoutMs">Requested rebalance timeout; 0 for the default.</param>
/// <param name="ServerAssignor">The server-side assignor the member prefers ("uniform", alias "sticky", or "range"; KIP-848's
/// <c>ServerAssignor</c>, the client's <c>group.remote.assignor</c>); null means unchanged, or no preference at a join.
/// The group uses the assignor most of its members prefer, and its default when none states one.</param>
[GenerateSerializer, Immutable, Alias("og.HeartbeatRequest")]
public sealed record HeartbeatRequest(
    [property: Id(0)] string MemberId,
    [property: Id(1)] int MemberEpoch,
    [property: Id(2)] string? InstanceId,
    [property: Id(3)] string ClientId,
    [property: Id(4)] IReadOnlyList<string>? SubscribedTopics,
    [property: Id(5)] IReadOnlyList<TopicPartition>? OwnedPartitions,
    [property: Id(6)] int SessionTimeoutMs = 0,
    [property: Id(7)] int RebalanceTimeoutMs = 0,
    [property: Id(8)] string? ServerAssignor = null);

/// <summary>The group's answer to a heartbeat.</summary>
/// <param name="MemberId">The member id.</param>
/// <param name="MemberEpoch">The member's epoch after this heartbeat; send it with commits.</param>
/// <param name="HeartbeatIntervalMs">When to heartbeat next; short while the member is reconciling.</param>
/// <param name="Assignment">The partitions the member owns now. Anything it holds outside this set it must stop fetching, commit, and report as released.</param>
/// <param name="State">The member's reconciliation state.</param>
/// <param name="GroupEpoch">The group's epoch, for diagnostics.</param>
[GenerateSerializer, Immutable, Alias("og.HeartbeatResponse")]
public sealed record HeartbeatResponse(
    [property: Id(0)] string MemberId,
    [property: Id(1)] int MemberEpoch,
    [property: Id(2)] int HeartbeatIntervalMs,
    [property: Id(3)] IReadOnlyList<TopicPartition> Assignment,
    [property: Id(4)] MemberState State,
    [property: Id(5)] int GroupEpoch);

/// <summary>Offsets to commit for a member of the group.</summary>
/// <param name="MemberId">The committing member; empty for a simple (group-less) commit, allowed only while the group is empty.</param>
/// <param name="MemberEpoch">The member's epoch; -1 for a simple commit.</param>
/// <param name="Offsets">Partition → next offset to read, with optional metadata.</param>
[GenerateSerializer, Immutable, Alias("og.CommitRequest")]
public sealed record CommitRequest(
    [property: Id(0)] string MemberId,
    [property: Id(1)] int MemberEpoch,
    [property: Id(2)] IReadOnlyList<PartitionOffset> Offsets);

/// <summary>A partition and an offset (with optional metadata) to commit.</summary>
[GenerateSerializer, Immutable, Alias("og.PartitionOffset")]
public sealed record PartitionOffset(
    [property: Id(0)] TopicPartition Partition,
    [property: Id(1)] long Offset,
    [property: Id(2)] string? Metadata = null);

/// <summary>The group's overall state, as Kafka's describe reports it.</summary>
public enum GroupState
{
    /// <summary>No members.</summary>
    Empty,
    /// <summary>Members are moving partitions toward the target assignment.</summary>
    Reconciling,
    /// <summary>Every member owns its target assignment.</summary>
    Stable,
}

/// <summary>One member as describe shows it.</summary>
[GenerateSerializer, Immutable, Alias("og.MemberDescription")]
public sealed record MemberDescription(
    [property: Id(0)] string MemberId,
    [property: Id(1)] string? InstanceId,
    [property: Id(2)] string ClientId,
    [property: Id(3)] int MemberEpoch,
    [property: Id(4)] MemberState State,
    [property: Id(5)] IReadOnlyList<string> SubscribedTopics,
    [property: Id(6)] IReadOnlyList<TopicPartition> AssignedPartitions,
    [property: Id(7)] IReadOnlyList<TopicPartition> PartitionsPendingRevocation,
    [property: Id(8)] IReadOnlyList<TopicPartition> TargetPartitions,
    [property: Id(9)] string? ServerAssignor = null);

/// <summary>A group as describe shows it (lag is added by the caller, which knows the log end offsets).</summary>
[GenerateSerializer, Immutable, Alias("og.GroupDescription")]
public sealed record GroupDescription(
    [property: Id(0)] string GroupId,
    [property: Id(1)] GroupState State,
    [property: Id(2)] int GroupEpoch,
    [property: Id(3)] int AssignmentEpoch,
    [property: Id(4)] string Assignor,
    [property: Id(5)] IReadOnlyList<MemberDescription> Members,
    [property: Id(6)] IReadOnlyDictionary<TopicPartition, CommittedOffset> CommittedOffsets);
