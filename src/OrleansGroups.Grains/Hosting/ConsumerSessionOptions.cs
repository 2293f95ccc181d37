namespace OrleansGroups.Hosting;

/// <summary>Which Orleans stream provider carries the partitions' "appended" notifications.</summary>
public enum NotificationStreams
{
    /// <summary>Memory streams (the default): fast, in the cluster's memory. A notification lost in a silo crash only delays.</summary>
    Memory,
    /// <summary>Azure Queue streams on the storage account: notifications survive silo restarts, at queue-polling latency.</summary>
    AzureQueue,
}

/// <summary>How consumer sessions (the per-member consumer grains) prefetch and learn about new records.</summary>
public sealed class ConsumerSessionOptions
{
    /// <summary>Bytes read ahead per partition of a session before it waits for the consumer (default 1 MiB).</summary>
    public long PrefetchMaxBytes { get; set; } = 1 << 20;

    /// <summary>Records read ahead per partition of a session before it waits for the consumer (default 20,000).</summary>
    public int PrefetchMaxRecords { get; set; } = 20_000;

    /// <summary>Bytes asked per fetch from a partition (default 512 KiB).</summary>
    public int FetchMaxBytes { get; set; } = 512 << 10;

    /// <summary>
    /// A session fetches every partition it reads at least this often even without a notification (default 2 s): the
    /// longest a lost notification can delay a record.
    /// </summary>
    public TimeSpan FallbackFetchInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A partition nobody asked a session for during this long is released; a session without partitions ends (default 60 s).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The stream provider of the notifications (default <see cref="NotificationStreams.Memory"/>).</summary>
    public NotificationStreams Streams { get; set; } = NotificationStreams.Memory;

    /// <summary>
    /// How often stream pulling agents look for notifications (default 100 ms). It bounds how soon a session prefetches
    /// for a consumer that is busy elsewhere; a consumer waiting at the log end is answered by a long poll, not by this.
    /// </summary>
    public TimeSpan StreamPollPeriod { get; set; } = TimeSpan.FromMilliseconds(100);
}
