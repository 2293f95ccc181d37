using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups;

/// <summary>
/// A consumer group (key: the group id): membership, epochs, server-side assignment and committed offsets.
/// Members join and stay alive through <see cref="Heartbeat"/>; see <c>GroupCoordinator</c> for the protocol.
/// </summary>
public interface IConsumerGroupGrain : IGrainWithStringKey
{
    /// <summary>Joins (epoch 0) or heartbeats; returns the partitions the member owns now.</summary>
    Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request);

    /// <summary>Leaves the group; the member's partitions go to the others at once.</summary>
    Task Leave(string memberId);

    /// <summary>Commits offsets, all or nothing (fenced by ownership and member epoch).</summary>
    Task Commit(CommitRequest request);

    /// <summary>Committed offsets of the given partitions (all when null); partitions without a commit are absent.</summary>
    [ReadOnly]
    Task<IReadOnlyDictionary<TopicPartition, CommittedOffset>> GetCommittedOffsets(IReadOnlyList<TopicPartition>? partitions);

    /// <summary>Members, epochs, assignment and committed offsets.</summary>
    Task<GroupDescription> Describe();
}
