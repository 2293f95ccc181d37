namespace OrleansGroups;

/// <summary>
/// One partition's log (key "topic/partition", see <see cref="GrainKeys.Partition"/>). Appends from many
/// producers are group-committed into one storage write; an append is acknowledged only once durable.
/// </summary>
public interface IPartitionGrain : IGrainWithStringKey
{
    /// <summary>
    /// Appends one record batch encoded by <c>RecordBatch.Encode</c> (its base offset is assigned here).
    /// Throws UnknownTopic, UnknownPartition, RecordTooLarge, CorruptRecord or StorageUnavailable.
    /// </summary>
    Task<AppendResult> Append(byte[] batch);

    /// <summary>
    /// Reads whole batches from <paramref name="offset"/>, up to about <paramref name="maxBytes"/> (at least one
    /// batch). At the end of the log it waits up to <paramref name="maxWaitMs"/> for new records (0: return at once).
    /// Throws OffsetOutOfRange below the log start or past the high watermark.
    /// </summary>
    Task<FetchResult> Fetch(long offset, int maxBytes, int maxWaitMs);

    /// <summary>The log start offset and high watermark.</summary>
    Task<PartitionWatermarks> GetWatermarks();

    /// <summary>
    /// Kafka's ListOffsets: the first offset whose record timestamp is at or after <paramref name="timestampMs"/>
    /// (unix ms), or the high watermark when there is none; -2 gives the log start offset, -1 the high watermark.
    /// </summary>
    Task<long> GetOffsetForTimestamp(long timestampMs);

    /// <summary>The log's shape and its group-commit counters.</summary>
    Task<PartitionStats> GetStats();

    /// <summary>
    /// Deletes every segment of this partition's log of topic incarnation <paramref name="incarnation"/> and forgets it
    /// (topic deletion; called by the topic registry once the topic is hidden, so no new activation accepts appends
    /// meanwhile). Appends queued here fail with UnknownTopic; the partition's writer is fenced before its segments go,
    /// so nothing is acknowledged into the deleted log afterwards. Idempotent.
    /// </summary>
    Task DeleteLog(long incarnation);

    /// <summary>Applies the topic's retention now (it also runs on a timer); returns how many segments were deleted.</summary>
    Task<int> ApplyRetention();
}
