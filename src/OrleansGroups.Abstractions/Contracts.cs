using OrleansGroups.Core.Topics;

namespace OrleansGroups;

/// <summary>A topic: its partition count and configuration.</summary>
/// <param name="Name">Topic name.</param>
/// <param name="PartitionCount">Number of partitions.</param>
/// <param name="Config">Topic configuration.</param>
/// <param name="CreatedAt">When the topic was created.</param>
/// <param name="Incarnation">
/// Which topic of this name it is: every creation gets a new one, and the log's storage path carries it, so a topic
/// created again after a deletion starts empty whatever the deletion left behind. 0 for topics older than incarnations.
/// </param>
[GenerateSerializer, Immutable, Alias("og.TopicDescription")]
public sealed record TopicDescription(
    [property: Id(0)] string Name,
    [property: Id(1)] int PartitionCount,
    [property: Id(2)] TopicConfig Config,
    [property: Id(3)] DateTimeOffset CreatedAt,
    [property: Id(4)] long Incarnation = 0);

/// <summary>The bounds of a partition's log.</summary>
/// <param name="LogStartOffset">First offset still in the log.</param>
/// <param name="HighWatermark">Offset the next appended record gets (the log end offset).</param>
[GenerateSerializer, Immutable, Alias("og.Watermarks")]
public sealed record PartitionWatermarks(
    [property: Id(0)] long LogStartOffset,
    [property: Id(1)] long HighWatermark);

/// <summary>Where an appended batch landed.</summary>
/// <param name="BaseOffset">Offset of the batch's first record; record i has BaseOffset + i.</param>
/// <param name="RecordCount">Number of records appended.</param>
/// <param name="LogAppendTime">When the partition accepted the batch (unix ms).</param>
[GenerateSerializer, Immutable, Alias("og.AppendResult")]
public sealed record AppendResult(
    [property: Id(0)] long BaseOffset,
    [property: Id(1)] int RecordCount,
    [property: Id(2)] long LogAppendTime);

/// <summary>Records read from a partition.</summary>
/// <param name="Batches">Whole record batches, concatenated (decode with <c>RecordBatch.Decode</c>); the first may start before the requested offset.</param>
/// <param name="LogStartOffset">First offset in the log.</param>
/// <param name="HighWatermark">Log end offset at the time of the read.</param>
[GenerateSerializer, Immutable, Alias("og.FetchResult")]
public sealed record FetchResult(
    [property: Id(0)] byte[] Batches,
    [property: Id(1)] long LogStartOffset,
    [property: Id(2)] long HighWatermark);

/// <summary>A partition log's shape and counters (since the partition's activation).</summary>
/// <param name="LogStartOffset">First offset in the log.</param>
/// <param name="HighWatermark">Log end offset.</param>
/// <param name="Segments">Segments in the log.</param>
/// <param name="SizeBytes">Bytes in all segments.</param>
/// <param name="StorageAppends">Storage writes since activation.</param>
/// <param name="RecordsAppended">Records appended since activation; divided by <paramref name="StorageAppends"/> it is the group-commit factor.</param>
/// <param name="Producers">Idempotent producers the partition remembers.</param>
[GenerateSerializer, Immutable, Alias("og.PartitionStats")]
public sealed record PartitionStats(
    [property: Id(0)] long LogStartOffset,
    [property: Id(1)] long HighWatermark,
    [property: Id(2)] int Segments,
    [property: Id(3)] long SizeBytes,
    [property: Id(4)] long StorageAppends,
    [property: Id(5)] long RecordsAppended,
    [property: Id(6)] int Producers)
{
    /// <summary>Records per storage append (0 before the first append).</summary>
    public double RecordsPerAppend => StorageAppends == 0 ? 0 : (double)RecordsAppended / StorageAppends;
}

/// <summary>An idempotent producer's identity: its batches carry it so partitions can drop retried duplicates.</summary>
/// <param name="ProducerId">Unique producer id.</param>
/// <param name="Epoch">Producer epoch.</param>
[GenerateSerializer, Immutable, Alias("og.ProducerIdentity")]
public sealed record ProducerIdentity([property: Id(0)] long ProducerId, [property: Id(1)] short Epoch);
