using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client;

/// <summary>An offset found by <see cref="AdminClient.ListOffsetsAsync"/>.</summary>
/// <param name="Partition">Partition index.</param>
/// <param name="Offset">The offset.</param>
public sealed record PartitionOffsetResult(int Partition, long Offset);

public sealed partial class AdminClient
{
    /// <summary>Kafka's ListOffsets code for "the log start".</summary>
    public const long Earliest = -2;

    /// <summary>Kafka's ListOffsets code for "the log end".</summary>
    public const long Latest = -1;

    /// <summary>Raises a topic's partition count (increase only). Throws UnknownTopic or InvalidRequest.</summary>
    public Task<TopicDescription> CreatePartitionsAsync(string topic, int totalPartitions)
    {
        TopicName.Validate(topic);
        return Topics.CreatePartitions(topic, totalPartitions);
    }

    /// <summary>
    /// Kafka's ListOffsets for every partition of a topic: the first offset at or after <paramref name="timestampMs"/>
    /// (unix ms), or <see cref="Earliest"/> / <see cref="Latest"/>.
    /// </summary>
    public async Task<IReadOnlyList<PartitionOffsetResult>> ListOffsetsAsync(string topic, long timestampMs)
    {
        TopicName.Validate(topic);
        var description = await Topics.GetTopic(topic) ?? throw new UnknownTopicException(topic);
        var offsets = await Task.WhenAll(Enumerable.Range(0, description.PartitionCount).Select(p =>
            grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(topic, p))).GetOffsetForTimestamp(timestampMs)));
        return offsets.Select((offset, p) => new PartitionOffsetResult(p, offset)).ToList();
    }

    /// <summary>Each partition's log shape and group-commit counters.</summary>
    public async Task<IReadOnlyList<PartitionStats>> GetPartitionStatsAsync(string topic)
    {
        TopicName.Validate(topic);
        var description = await Topics.GetTopic(topic) ?? throw new UnknownTopicException(topic);
        return await Task.WhenAll(Enumerable.Range(0, description.PartitionCount).Select(p =>
            grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(topic, p))).GetStats()));
    }
}
