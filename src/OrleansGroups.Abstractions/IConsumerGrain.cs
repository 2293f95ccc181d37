using OrleansGroups.Core.Topics;

namespace OrleansGroups;

/// <summary>
/// One group member's fetch session (key: <see cref="GrainKeys.Consumer"/>): for each partition the member reads, it
/// listens to the partition's "appended" stream and prefetches into a bounded buffer, so a fetch is answered from
/// memory. Holds no persistent state: positions come from the caller, which owns them (and commits them to the group).
/// </summary>
public interface IConsumerGrain : IGrainWithStringKey
{
    /// <summary>
    /// Records of <paramref name="partition"/> from <paramref name="offset"/>, as <see cref="IPartitionGrain.Fetch"/>:
    /// whole batches, about <paramref name="maxBytes"/>, waiting up to <paramref name="maxWaitMs"/> when none is there
    /// yet. Asking for an offset the session has not buffered (a seek) restarts its prefetch there. Throws
    /// OffsetOutOfRange, UnknownTopic or UnknownPartition as the partition does.
    /// </summary>
    Task<FetchResult> Fetch(TopicPartition partition, long offset, int maxBytes, int maxWaitMs);

    /// <summary>Stops prefetching these partitions (revoked, or no longer read) and drops their buffers.</summary>
    Task Release(IReadOnlyList<TopicPartition> partitions);

    /// <summary>Releases every partition and ends the session.</summary>
    Task Close();

    /// <summary>What the session holds and has done since its activation.</summary>
    Task<ConsumerSessionStats> GetStats();
}

/// <summary>A consumer session's buffers and counters (since activation).</summary>
/// <param name="Partitions">Partitions it prefetches.</param>
/// <param name="BufferedBytes">Bytes prefetched and not yet consumed.</param>
/// <param name="NotificationsReceived">"Appended" notifications heard.</param>
/// <param name="PartitionFetches">Fetches it sent to partitions.</param>
[GenerateSerializer, Immutable, Alias("og.ConsumerSessionStats")]
public sealed record ConsumerSessionStats(
    [property: Id(0)] int Partitions,
    [property: Id(1)] long BufferedBytes,
    [property: Id(2)] long NotificationsReceived,
    [property: Id(3)] long PartitionFetches);

/// <summary>
/// Published on a partition's notification stream after appends became durable: wakes the consumer sessions reading
/// it. Only a hint: the log is the truth, and sessions also fetch on a timer, so a lost notification only delays.
/// </summary>
/// <param name="HighWatermark">The partition's log end offset after the append.</param>
[GenerateSerializer, Immutable, Alias("og.PartitionAppended")]
public sealed record PartitionAppended([property: Id(0)] long HighWatermark);
