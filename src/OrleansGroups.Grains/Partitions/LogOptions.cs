namespace OrleansGroups.Partitions;

/// <summary>How partition logs write and cache. Defaults suit Azure append blobs.</summary>
public sealed class LogOptions
{
    /// <summary>Default of <see cref="SegmentMaxBytes"/>: 256 MiB.</summary>
    public const long DefaultSegmentMaxBytes = 256L << 20;

    /// <summary>Roll to a new segment past this size. Smaller segments make retention finer and recovery shorter.</summary>
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

    /// <summary>Upper bound on a fetch's long-poll wait (default 10 s), below the client's response timeout.</summary>
    public TimeSpan MaxFetchWait { get; set; } = TimeSpan.FromSeconds(10);
}
