using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client;

/// <summary>
/// Administers topics and consumer groups. Confluent.Kafka's <c>IAdminClient</c> counterparts, which take collections
/// because Kafka batches admin requests on the wire (here each call is one grain call, so calls take one item):
/// <c>CreateTopicsAsync</c> → <see cref="CreateTopicAsync"/>, <c>DeleteTopicsAsync</c> → <see cref="DeleteTopicAsync"/>,
/// <c>CreatePartitionsAsync</c> → <see cref="CreatePartitionsAsync"/>, <c>GetMetadata</c>/<c>DescribeTopicsAsync</c> →
/// <see cref="ListTopicsAsync"/>/<see cref="DescribeTopicAsync"/>, <c>ListOffsetsAsync</c> → <see cref="ListOffsetsAsync"/>,
/// <c>ListConsumerGroupsAsync</c> → <see cref="ListGroupsAsync"/>, <c>DescribeConsumerGroupsAsync</c> and
/// <c>ListConsumerGroupOffsetsAsync</c> (lag) → <see cref="DescribeGroupAsync"/>, <c>DeleteGroupsAsync</c> →
/// <see cref="DeleteGroupAsync"/>, <c>AlterConsumerGroupOffsetsAsync</c> → <see cref="ResetOffsetsAsync"/>.
/// Errors are typed <c>OrleansGroupsException</c>s.
/// </summary>
public interface IAdminClient
{
    /// <summary>Creates a topic. Throws InvalidTopicName, TopicAlreadyExists or InvalidRequest.</summary>
    Task<TopicDescription> CreateTopicAsync(string name, int partitions, TopicConfig? config = null);

    /// <summary>
    /// Deletes a topic and its records. From the moment this starts, producers and consumers of the topic get
    /// UnknownTopic; a topic created again with the name starts empty. Groups keep their committed offsets for it (they
    /// expire with the group, as in Kafka). Throws UnknownTopic.
    /// </summary>
    Task DeleteTopicAsync(string name);

    /// <summary>Raises a topic's partition count (increase only). Throws UnknownTopic or InvalidRequest.</summary>
    Task<TopicDescription> CreatePartitionsAsync(string topic, int totalPartitions);

    /// <summary>Every topic, by name.</summary>
    Task<IReadOnlyList<TopicDescription>> ListTopicsAsync();

    /// <summary>A topic with each partition's log start and end offsets. Throws UnknownTopic.</summary>
    Task<TopicDetails> DescribeTopicAsync(string name);

    /// <summary>
    /// Kafka's ListOffsets for every partition of a topic: the first offset at or after <paramref name="timestampMs"/>
    /// (unix ms), or <see cref="AdminClient.Earliest"/> / <see cref="AdminClient.Latest"/>.
    /// </summary>
    Task<IReadOnlyList<PartitionOffsetResult>> ListOffsetsAsync(string topic, long timestampMs);

    /// <summary>Each partition's log shape and group-commit counters (records per storage append).</summary>
    Task<IReadOnlyList<PartitionStats>> GetPartitionStatsAsync(string topic);

    /// <summary>Every group with its state and member count.</summary>
    Task<IReadOnlyList<GroupListing>> ListGroupsAsync();

    /// <summary>A group's members and, per partition of its topics, committed offset, end offset, lag and owner. Throws GroupIdNotFound.</summary>
    Task<GroupDetails> DescribeGroupAsync(string groupId);

    /// <summary>Deletes a group and its committed offsets; only without members (else NonEmptyGroup). Throws GroupIdNotFound.</summary>
    Task DeleteGroupAsync(string groupId);

    /// <summary>
    /// Resets a group's committed offsets in a topic (Kafka's <c>--reset-offsets</c>), only while the group has no members
    /// (else NonEmptyGroup); offsets are clamped to each partition's log. Returns, per partition, the offset before and after.
    /// </summary>
    Task<IReadOnlyList<OffsetResetResult>> ResetOffsetsAsync(
        string groupId, string topic, OffsetResetSpec spec, bool dryRun, IReadOnlyList<int>? partitions = null);
}
