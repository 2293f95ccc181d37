namespace OrleansGroups.Core.Topics;

/// <summary>A partition of a topic: the unit of ordering, ownership and offsets.</summary>
/// <param name="Topic">The topic name.</param>
/// <param name="Partition">The zero-based partition index.</param>
[GenerateSerializer, Immutable, Alias("og.TopicPartition")]
public readonly record struct TopicPartition([property: Id(0)] string Topic, [property: Id(1)] int Partition)
    : IComparable<TopicPartition>
{
    /// <inheritdoc />
    public int CompareTo(TopicPartition other)
    {
        var byTopic = string.CompareOrdinal(Topic, other.Topic);
        return byTopic != 0 ? byTopic : Partition.CompareTo(other.Partition);
    }

    /// <summary>"topic/partition", the form used in grain keys and logs.</summary>
    public override string ToString() => $"{Topic}/{Partition}";
}
