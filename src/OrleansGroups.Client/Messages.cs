using System.Text;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client;

/// <summary>A message to produce (Confluent.Kafka's <c>Message</c>, with byte keys and values).</summary>
/// <param name="Key">The key, or null; keyed messages go to the partition of the key's murmur2 hash, as in Kafka.</param>
/// <param name="Value">The value, or null.</param>
/// <param name="Headers">Headers, or null.</param>
/// <param name="Timestamp">Create time; null for now.</param>
public sealed record Message(byte[]? Key, byte[]? Value, IReadOnlyList<RecordHeader>? Headers = null, DateTimeOffset? Timestamp = null)
{
    /// <summary>A message with UTF-8 key and value.</summary>
    public static Message FromStrings(string? key, string? value) =>
        new(key is null ? null : Encoding.UTF8.GetBytes(key), value is null ? null : Encoding.UTF8.GetBytes(value));
}

/// <summary>Where a produced message landed.</summary>
/// <param name="Topic">Topic.</param>
/// <param name="Partition">Partition.</param>
/// <param name="Offset">Offset assigned by the partition.</param>
/// <param name="Timestamp">The message's timestamp.</param>
public sealed record DeliveryResult(string Topic, int Partition, long Offset, DateTimeOffset Timestamp)
{
    /// <summary>The topic partition.</summary>
    public TopicPartition TopicPartition => new(Topic, Partition);
}

/// <summary>A consumed message.</summary>
/// <param name="Topic">Topic.</param>
/// <param name="Partition">Partition.</param>
/// <param name="Offset">Offset in the partition.</param>
/// <param name="Key">Key, or null.</param>
/// <param name="Value">Value, or null.</param>
/// <param name="Headers">Headers.</param>
/// <param name="Timestamp">The producer's timestamp.</param>
public sealed record ConsumeResult(
    string Topic, int Partition, long Offset, byte[]? Key, byte[]? Value, IReadOnlyList<RecordHeader> Headers, DateTimeOffset Timestamp)
{
    /// <summary>The topic partition.</summary>
    public TopicPartition TopicPartition => new(Topic, Partition);

    /// <summary>The key as UTF-8 text, or null.</summary>
    public string? KeyAsString => Key is null ? null : Encoding.UTF8.GetString(Key);

    /// <summary>The value as UTF-8 text, or null.</summary>
    public string? ValueAsString => Value is null ? null : Encoding.UTF8.GetString(Value);
}

/// <summary>A partition and an offset, as in Confluent.Kafka.</summary>
/// <param name="TopicPartition">The partition.</param>
/// <param name="Offset">The offset (for commits: the next offset to read).</param>
public sealed record TopicPartitionOffset(TopicPartition TopicPartition, long Offset);

/// <summary>Special offsets for <see cref="Consumer.Assign"/>, with Confluent.Kafka's values.</summary>
public static class Offset
{
    /// <summary>The oldest record still in the log.</summary>
    public const long Beginning = -2;

    /// <summary>The log end: only records produced from now on.</summary>
    public const long End = -1;

    /// <summary>The group's committed offset, or <see cref="ConsumerOptions.AutoOffsetReset"/> without one.</summary>
    public const long Stored = -1000;
}

/// <summary>The outcome of <see cref="IProducer.Produce(string, Message, Action{DeliveryReport}?)"/>, given to its delivery handler.</summary>
/// <param name="Topic">Topic.</param>
/// <param name="Partition">Partition, or -1 when it failed before a partition was chosen.</param>
/// <param name="Offset">Offset assigned by the partition, or -1 when it failed.</param>
/// <param name="Timestamp">The message's timestamp (its own, or the time it was produced).</param>
/// <param name="Message">The message produced.</param>
/// <param name="Error">Why it was not delivered (typed, e.g. UnknownTopicException), or null when it was.</param>
public sealed record DeliveryReport(string Topic, int Partition, long Offset, DateTimeOffset Timestamp, Message Message, Exception? Error)
{
    /// <summary>True when the message is durable in its partition.</summary>
    public bool IsDelivered => Error is null;

    /// <summary>The topic partition.</summary>
    public TopicPartition TopicPartition => new(Topic, Partition);
}
