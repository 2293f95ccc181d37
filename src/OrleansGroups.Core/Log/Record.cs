namespace OrleansGroups.Core.Log;

/// <summary>A record header: a UTF-8 key with an optional opaque value, as in Kafka.</summary>
/// <param name="Key">The header key; never null.</param>
/// <param name="Value">The header value, or null.</param>
[GenerateSerializer, Immutable, Alias("og.Header")]
public sealed record RecordHeader([property: Id(0)] string Key, [property: Id(1)] byte[]? Value);

/// <summary>A record as read back from the log.</summary>
/// <param name="Offset">The record's absolute offset in its partition.</param>
/// <param name="Timestamp">Unix time in milliseconds, as the producer set it.</param>
/// <param name="Key">The key, or null.</param>
/// <param name="Value">The value, or null (a tombstone in Kafka terms).</param>
/// <param name="Headers">The headers, in the order they were written.</param>
public sealed record Record(long Offset, long Timestamp, byte[]? Key, byte[]? Value, IReadOnlyList<RecordHeader> Headers);

/// <summary>A record to append; its offset is assigned when the batch is written.</summary>
/// <param name="Key">The key, or null. It also selects the partition (see <see cref="Partitioner.ForKey"/>).</param>
/// <param name="Value">The value, or null.</param>
/// <param name="Headers">The headers, or null for none.</param>
/// <param name="Timestamp">Unix time in milliseconds.</param>
public readonly record struct ProducerRecord(byte[]? Key, byte[]? Value, IReadOnlyList<RecordHeader>? Headers, long Timestamp);
