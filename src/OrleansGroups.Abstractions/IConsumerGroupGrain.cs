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

    /// <summary>
    /// Registers a member's doorbell (see <see cref="IGroupMemberObserver"/>). Kept in memory only: register again
    /// after a rejoin and now and then, since the group may have moved to another silo.
    /// </summary>
    Task Watch(string memberId, IGroupMemberObserver observer);

    /// <summary>Leaves the group; the member's partitions go to the others at once.</summary>
    Task Leave(string memberId);

    /// <summary>Commits offsets, all or nothing (fenced by ownership and member epoch).</summary>
    Task Commit(CommitRequest request);

    /// <summary>Committed offsets of the given partitions (all when null); partitions without a commit are absent.</summary>
    [ReadOnly]
    Task<IReadOnlyDictionary<TopicPartition, CommittedOffset>> GetCommittedOffsets(IReadOnlyList<TopicPartition>? partitions);

    /// <summary>Members, epochs, assignment and committed offsets.</summary>
    Task<GroupDescription> Describe();

    /// <summary>
    /// Deletes the group with its offsets and removes it from the group list. Throws NonEmptyGroup while it has
    /// members and GroupIdNotFound when it does not exist (Kafka's rules).
    /// </summary>
    Task DeleteGroup();

    /// <summary>
    /// Resets the committed offsets of a topic's partitions (all when <paramref name="partitions"/> is null or empty)
    /// while the group has no members (else NonEmptyGroup), as Kafka's <c>--reset-offsets</c>: offsets are clamped
    /// to each partition's log. A dry run returns the plan and writes nothing. Throws UnknownTopic, UnknownPartition,
    /// or InvalidRequest (a shift of a partition without a committed offset).
    /// </summary>
    Task<IReadOnlyList<OffsetResetResult>> ResetOffsets(string topic, IReadOnlyList<int>? partitions, OffsetResetSpec spec, bool dryRun);
}
