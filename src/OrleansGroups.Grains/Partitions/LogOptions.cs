namespace OrleansGroups.Partitions;

/// <summary>How partition logs write and cache. Defaults suit Azure append blobs.</summary>
public sealed class LogOptions
{
    /// <summary>Default of <see cref="SegmentMaxBytes"/>: 64 MiB.</summary>
    public const long DefaultSegmentMaxBytes = 64L << 20;

    /// <summary>
    /// Roll to a new segment past this size (default 64 MiB). Recovery reads the active segment whole (sealed ones
    /// have index checkpoints), so this bounds activation time: 64 MiB is about 3 s from Azurite. Smaller segments
    /// also make retention finer.
    /// </summary>
    public long SegmentMaxBytes { get; set; } = DefaultSegmentMaxBytes;

    /// <summary>
    /// Roll after this many appends: an append blob holds at most 50,000 blocks. Recovery counts batches
    /// (an upper bound on blocks), hence the margin.
    /// </summary>
    public int SegmentMaxBlocks { get; set; } = 45_000;

    /// <summary>
    /// Most bytes in one storage append (default 4 MiB, Azure's classic append-block limit). Must be at least
    /// the largest batch a topic accepts (<c>max.message.bytes</c>).
    /// </summary>
    public int MaxAppendBytes { get; set; } = 4 << 20;

    /// <summary>Recent appended bytes kept in memory per partition (default 4 MiB): fetches at the tail are served from here.</summary>
    public long TailCacheBytes { get; set; } = 4L << 20;

    /// <summary>Default of <see cref="TailCacheBudgetBytes"/>: 256 MiB.</summary>
    public const long DefaultTailCacheBudgetBytes = 256L << 20;

    /// <summary>
    /// All partitions of a silo together keep at most this many bytes in their tail caches (default 256 MiB; 0 turns
    /// tail caching off). Tuning: about (partitions read at the tail per silo) × (bytes those readers lag behind), within
    /// a tenth of the silo's memory; past the budget, tail fetches read storage instead of failing.
    /// </summary>
    public long TailCacheBudgetBytes { get; set; } = DefaultTailCacheBudgetBytes;

    /// <summary>Default of <see cref="MaxQueuedAppendBytes"/>: 32 MiB.</summary>
    public const long DefaultMaxQueuedAppendBytes = 32L << 20;

    /// <summary>
    /// Bytes of batches a partition holds while they wait for their storage append (default 32 MiB, in the spirit of
    /// Kafka's <c>queued.max.request.bytes</c>). A batch that would go past it is refused at once with the retriable
    /// <c>AppendQueueFull</c>, so producers back off instead of the silo buffering without bound. Tuning: at least
    /// a few storage appends' worth (<see cref="MaxAppendBytes"/>), so group commit keeps its batches full.
    /// </summary>
    public long MaxQueuedAppendBytes { get; set; } = DefaultMaxQueuedAppendBytes;

    /// <summary>Roll the active segment once its first record is this old (Kafka's <c>segment.ms</c>, default 7 days), so time retention can delete it.</summary>
    public TimeSpan SegmentMaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Bytes between entries of a sealed segment's sparse index (default 64 KiB, Kafka's is 4 KiB of a local file).</summary>
    public int IndexIntervalBytes { get; set; } = 64 << 10;

    /// <summary>How often partitions apply retention (default 5 min, Kafka's <c>log.retention.check.interval.ms</c>).</summary>
    public TimeSpan RetentionCheckInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Upper bound on a fetch's long-poll wait (default 10 s), below the client's response timeout.</summary>
    public TimeSpan MaxFetchWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Default of <see cref="FetchMaxBytes"/>: 50 MiB, Kafka's <c>fetch.max.bytes</c>.</summary>
    public const int DefaultFetchMaxBytes = 50 << 20;

    /// <summary>
    /// Most bytes one fetch returns, whatever the caller asks (Kafka's <c>fetch.max.bytes</c>, default 50 MiB): a
    /// fetch of <c>int.MaxValue</c> bytes would otherwise load the partition into silo memory. As in Kafka, a fetch
    /// still returns the first batch whole when that batch alone is larger.
    /// </summary>
    /// <remarks>
    /// Tuning rule: keep it at least the largest <c>max.message.bytes</c> of any topic, and small enough that the
    /// concurrent fetches a silo serves fit its memory (100 consumers fetching at the cap need 5 GiB).
    /// </remarks>
    public int FetchMaxBytes { get; set; } = DefaultFetchMaxBytes;

    /// <summary>
    /// How long a partition remembers an idempotent producer that stopped writing to it (Kafka's
    /// <c>producer.id.expiration.ms</c>, default 1 day), measured from its last batch's append time. Applied with
    /// <see cref="Core.Log.ProducerStateTable.ExpireIdle"/>.
    /// </summary>
    /// <remarks>
    /// Without it the producer table grows by one entry per producer id that ever wrote, forever. Tuning rule: far
    /// longer than a producer's delivery timeout (a batch retried after its producer was forgotten is written again),
    /// and long enough to cover the longest pause of a producer that keeps its id.
    /// </remarks>
    public TimeSpan ProducerIdExpiration { get; set; } = TimeSpan.FromDays(1);

    /// <summary>
    /// Most idempotent producers a partition remembers (default 10,000, about 4 MB): past it the least recently active
    /// are forgotten first, as if expired. Kafka has no such bound; raise it when more producers write to one partition.
    /// </summary>
    public int MaxProducersPerPartition { get; set; } = 10_000;
}
