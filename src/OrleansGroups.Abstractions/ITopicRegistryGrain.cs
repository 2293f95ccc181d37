using OrleansGroups.Core.Topics;

namespace OrleansGroups;

/// <summary>
/// The cluster-wide list of topics and their metadata (key <see cref="GrainKeys.TopicRegistry"/>).
/// One grain owns all topic metadata so creation is atomic; clients and partitions cache what they read.
/// </summary>
public interface ITopicRegistryGrain : IGrainWithStringKey
{
    /// <summary>Creates a topic. Throws InvalidTopicName, TopicAlreadyExists or InvalidRequest.</summary>
    Task<TopicDescription> CreateTopic(string name, int partitionCount, TopicConfig? config);

    /// <summary>
    /// Raises a topic's partition count to <paramref name="totalPartitions"/> (increase only, as in Kafka). Keyed records
    /// map to partitions by count, so keys move: add partitions before relying on key placement.
    /// </summary>
    Task<TopicDescription> CreatePartitions(string name, int totalPartitions);

    /// <summary>
    /// Deletes a topic and its partitions' logs (Kafka's DeleteTopics). The topic disappears from every lookup at once,
    /// so producers and consumers get UnknownTopic; then each partition deletes its segments. A deletion interrupted by a
    /// failure is finished by the next <see cref="DeleteTopic"/> or <see cref="CreateTopic"/> of that name, so a topic
    /// created again never sees the old records. Committed offsets of groups are kept (as in Kafka, they expire with the
    /// group). Throws UnknownTopic.
    /// </summary>
    Task DeleteTopic(string name);

    /// <summary>The topic, or null when it does not exist.</summary>
    [ReadOnly]
    Task<TopicDescription?> GetTopic(string name);

    /// <summary>Every topic, by name.</summary>
    [ReadOnly]
    Task<IReadOnlyList<TopicDescription>> ListTopics();

    /// <summary>Partition counts of the named topics that exist (missing topics are left out).</summary>
    [ReadOnly]
    Task<IReadOnlyDictionary<string, int>> GetPartitionCounts(IReadOnlyCollection<string> topics);
}
