using System.Collections.Immutable;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Coordination;

/// <summary>
/// The persisted form of a group: plain lists so that both the Orleans serializer and
/// System.Text.Json storage serializers handle it, and so a stored group survives refactors of the model.
/// </summary>
[GenerateSerializer, Alias("og.GroupSnapshot")]
public sealed class GroupSnapshot
{
    /// <summary>See <see cref="ConsumerGroupModel.GroupEpoch"/>.</summary>
    [Id(0)] public int GroupEpoch { get; set; }
    /// <summary>See <see cref="ConsumerGroupModel.AssignmentEpoch"/>.</summary>
    [Id(1)] public int AssignmentEpoch { get; set; }
    /// <summary>The assignor the group uses (the target was last computed with it).</summary>
    [Id(2)] public string Assignor { get; set; } = "";
    /// <summary>Members.</summary>
    [Id(3)] public List<MemberSnapshot> Members { get; set; } = [];
    /// <summary>Target assignment.</summary>
    [Id(4)] public List<TargetSnapshot> Target { get; set; } = [];
    /// <summary>Partition counts the target was computed from.</summary>
    [Id(5)] public Dictionary<string, int> SubscribedPartitionCounts { get; set; } = [];
    /// <summary>Committed offsets.</summary>
    [Id(6)] public List<OffsetSnapshot> Offsets { get; set; } = [];
    /// <summary>See <see cref="ConsumerGroupModel.EmptySinceMs"/>.</summary>
    [Id(7)] public long? EmptySinceMs { get; set; }
    /// <summary>
    /// Last heartbeat of each member (unix ms) as of this write, so a reloaded group keeps its members' session clocks
    /// (see <see cref="GroupCoordinator"/>). Empty in snapshots written before it existed: every clock then restarts.
    /// </summary>
    [Id(8)] public Dictionary<string, long> MemberLastSeenMs { get; set; } = [];
}

/// <summary>Persisted form of a <see cref="GroupMember"/>.</summary>
[GenerateSerializer, Alias("og.MemberSnapshot")]
public sealed class MemberSnapshot
{
    /// <summary>Member id.</summary>
    [Id(0)] public string MemberId { get; set; } = "";
    /// <summary>Static instance id.</summary>
    [Id(1)] public string? InstanceId { get; set; }
    /// <summary>Client id.</summary>
    [Id(2)] public string ClientId { get; set; } = "";
    /// <summary>Subscribed topics.</summary>
    [Id(3)] public List<string> SubscribedTopics { get; set; } = [];
    /// <summary>Member epoch.</summary>
    [Id(4)] public int MemberEpoch { get; set; }
    /// <summary>Reconciliation state.</summary>
    [Id(5)] public MemberState State { get; set; }
    /// <summary>Owned partitions.</summary>
    [Id(6)] public List<TopicPartition> AssignedPartitions { get; set; } = [];
    /// <summary>Revoked but unreleased partitions.</summary>
    [Id(7)] public List<TopicPartition> PartitionsPendingRevocation { get; set; } = [];
    /// <summary>Session timeout.</summary>
    [Id(8)] public int SessionTimeoutMs { get; set; }
    /// <summary>Rebalance timeout.</summary>
    [Id(9)] public int RebalanceTimeoutMs { get; set; }
    /// <summary>The assignor the member asked for, or null.</summary>
    [Id(10)] public string? ServerAssignor { get; set; }

    /// <summary>Copies a member.</summary>
    public static MemberSnapshot From(GroupMember m) => new()
    {
        MemberId = m.MemberId,
        InstanceId = m.InstanceId,
        ClientId = m.ClientId,
        SubscribedTopics = [.. m.SubscribedTopics],
        MemberEpoch = m.MemberEpoch,
        State = m.State,
        AssignedPartitions = [.. m.AssignedPartitions],
        PartitionsPendingRevocation = [.. m.PartitionsPendingRevocation],
        SessionTimeoutMs = m.SessionTimeoutMs,
        RebalanceTimeoutMs = m.RebalanceTimeoutMs,
        ServerAssignor = m.ServerAssignor,
    };

    /// <summary>Rebuilds the member.</summary>
    public GroupMember ToMember() => new(
        MemberId, InstanceId, ClientId, SubscribedTopics.ToImmutableSortedSet(StringComparer.Ordinal), MemberEpoch, State,
        AssignedPartitions.ToImmutableSortedSet(), PartitionsPendingRevocation.ToImmutableSortedSet(),
        SessionTimeoutMs, RebalanceTimeoutMs, ServerAssignor);
}

/// <summary>Persisted target assignment of one member.</summary>
[GenerateSerializer, Alias("og.TargetSnapshot")]
public sealed class TargetSnapshot
{
    /// <summary>Member id.</summary>
    [Id(0)] public string MemberId { get; set; } = "";
    /// <summary>Target partitions.</summary>
    [Id(1)] public List<TopicPartition> Partitions { get; set; } = [];
}

/// <summary>Persisted committed offset of one partition.</summary>
[GenerateSerializer, Alias("og.OffsetSnapshot")]
public sealed class OffsetSnapshot
{
    /// <summary>The partition.</summary>
    [Id(0)] public TopicPartition Partition { get; set; }
    /// <summary>The committed offset.</summary>
    [Id(1)] public CommittedOffset Offset { get; set; } = new(0, null, 0, -1);
}
