namespace OrleansGroups.Client;

/// <summary>Where a consumer starts in a partition its group has no committed offset for (Kafka's <c>auto.offset.reset</c>).</summary>
public enum AutoOffsetReset
{
    /// <summary>From the newest record on (Kafka's default).</summary>
    Latest,
    /// <summary>From the oldest record still in the log.</summary>
    Earliest,
    /// <summary>Fail: the application must decide.</summary>
    Error,
}

/// <summary>Producer settings. Immutable; defaults in the remarks.</summary>
public sealed record ProducerOptions
{
    /// <summary>
    /// Largest batch sent to one partition in one call (default 512 KiB). While a batch is in flight, new
    /// messages for that partition queue up and leave together in the next one.
    /// </summary>
    public int BatchMaxBytes { get; init; } = 512 * 1024;

    /// <summary>Most messages in one batch (default 10,000).</summary>
    public int BatchMaxMessages { get; init; } = 10_000;

    /// <summary>Default of <see cref="Linger"/>: zero (see there why not Kafka's 5 ms).</summary>
    public static readonly TimeSpan DefaultLinger = TimeSpan.Zero;

    /// <summary>
    /// How long a batch that is not full may wait for more messages before it is sent (Kafka's <c>linger.ms</c>). The
    /// wait counts from the batch's oldest message and includes time spent behind the previous append; a full batch
    /// (<see cref="BatchMaxBytes"/>, <see cref="BatchMaxMessages"/>) or a flush cuts it short.
    /// </summary>
    /// <remarks>
    /// Default 0, unlike Kafka 4.0's 5 ms (KIP-1030): each partition already keeps one append in flight and sends
    /// everything that queued meanwhile as the next batch, so batches grow with load without a linger. A 5 ms linger
    /// then taxes every call that is alone (bench, one awaited call after another: memory 23,700 → 121 calls/s, p50
    /// 0.04 → 5.4 ms; Azurite 225 → 71 calls/s, p50 2.2 → 9.5 ms). Pipelined, batches hold hundreds to thousands of
    /// records with or without it, and throughput differences stayed within the noise of a shared machine. What it
    /// buys is fewer storage appends at moderate rates (2,000 calls/s on memory: 153 → 108 appends/s), which counts on
    /// Azure, where appends are billed per call and an append blob takes at most 50,000 blocks. Tuning rule: a few
    /// milliseconds when many callers each produce a little and fewer storage calls are worth that much latency.
    /// </remarks>
    public TimeSpan Linger { get; init; } = DefaultLinger;

    /// <summary>
    /// Idempotent delivery (default true, as Kafka since 3.0): batches carry a producer id and sequence, so a
    /// batch retried after a lost acknowledgement is written once and answered with its original offsets.
    /// </summary>
    public bool EnableIdempotence { get; init; } = true;

    /// <summary>
    /// How long a batch is retried after retriable failures (storage or silo unavailable, timeouts) before it
    /// fails (Kafka's <c>delivery.timeout.ms</c>, default 2 min).
    /// </summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long topic metadata is trusted before it is read again in the background (Kafka's <c>metadata.max.age.ms</c>, default 5 min): new partitions are used after at most this.</summary>
    public TimeSpan MetadataMaxAge { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Pause before a retry (default 100 ms, doubling up to 1 s).</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Default of <see cref="BufferMemory"/>: 32 MiB, as Kafka's <c>buffer.memory</c>.</summary>
    public const long DefaultBufferMemory = 32L << 20;

    /// <summary>
    /// Most bytes of produced messages (keys, values, headers, plus 24 bytes each) held until the cluster acknowledges
    /// or fails them (Kafka's <c>buffer.memory</c>, default 32 MiB). A produce call that does not fit waits up to
    /// <see cref="MaxBlock"/> for acknowledgements to free room, then fails with ProducerBufferFull; calls are admitted
    /// in call order. One call larger than the whole buffer is admitted alone once the buffer is empty.
    /// </summary>
    /// <remarks>
    /// Tuning rule: at least the bytes produced during one storage round trip under peak load (50 MB/s and 100 ms
    /// appends need 5 MB), and well within the process's memory: it is what a stalled cluster costs the producer.
    /// </remarks>
    public long BufferMemory { get; init; } = DefaultBufferMemory;

    /// <summary>Default of <see cref="MaxBlock"/>: 60 s, as Kafka's <c>max.block.ms</c>.</summary>
    public static readonly TimeSpan DefaultMaxBlock = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a produce call waits for room in <see cref="BufferMemory"/> (Kafka's <c>max.block.ms</c>, default 60 s)
    /// before it fails with ProducerBufferFull (Kafka: a TimeoutException, "Failed to allocate memory within the
    /// configured max blocking time"). <see cref="IProducer.Produce(string, Message, Action{DeliveryReport}?)"/> blocks
    /// its thread meanwhile, as Kafka's <c>send()</c> does; the async calls wait without a thread.
    /// </summary>
    /// <remarks>Tuning rule: zero to fail fast and shed load at once; otherwise longer than a storage hiccup (a few seconds).</remarks>
    public TimeSpan MaxBlock { get; init; } = DefaultMaxBlock;
}

/// <summary>Consumer settings. Immutable; the defaults follow Kafka's where there is a counterpart.</summary>
/// <param name="GroupId">The consumer group (Kafka's <c>group.id</c>).</param>
public sealed record ConsumerOptions(string GroupId)
{
    /// <summary>A name for diagnostics (default "orleansgroups").</summary>
    public string ClientId { get; init; } = "orleansgroups";

    /// <summary>
    /// Static member id (<c>group.instance.id</c>, KIP-345), or null for a dynamic member (the default). A consumer that
    /// restarts with the same instance id within <see cref="SessionTimeout"/> gets its partitions back without a
    /// rebalance; <see cref="Consumer.CloseAsync"/> then leaves only temporarily. Give every process its own id: a
    /// second consumer with the same id replaces the first, which fails with FencedInstanceId.
    /// </summary>
    public string? InstanceId { get; init; }

    /// <summary>
    /// The server-side assignor this consumer asks its group to use (Kafka's <c>group.remote.assignor</c>): "uniform"
    /// (balanced and sticky; alias "sticky") or "range" (co-partitions topics). Default null: no preference, so the
    /// group uses the silo's default ("uniform" unless configured). The group follows what most members ask for.
    /// </summary>
    public string? GroupRemoteAssignor { get; init; }

    /// <summary>Where to start without a committed offset (default <see cref="AutoOffsetReset.Latest"/>, as Kafka).</summary>
    public AutoOffsetReset AutoOffsetReset { get; init; } = AutoOffsetReset.Latest;

    /// <summary>Commit consumed positions periodically and on revocation (default true, as Kafka).</summary>
    public bool EnableAutoCommit { get; init; } = true;

    /// <summary>Auto-commit period (default 5 s).</summary>
    public TimeSpan AutoCommitInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Silence after which the group evicts this member (default 45 s; the server clamps it).</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>Time to release revoked partitions before eviction (default 5 min).</summary>
    public TimeSpan RebalanceTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Longest pause between two consume calls (Kafka's <c>max.poll.interval.ms</c>, default 5 min). A consumer that is
    /// not polled for longer leaves its group so its partitions move on; its next call fails with MaxPollIntervalExceeded.
    /// </summary>
    public TimeSpan MaxPollInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Bytes asked per fetch (default 1 MiB).</summary>
    public int FetchMaxBytes { get; init; } = 1 << 20;

    /// <summary>Long-poll wait of a fetch at the end of a partition (default 500 ms).</summary>
    public TimeSpan FetchMaxWait { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Fetch through this member's consumer grain on the silo (default true): it hears of new records on the
    /// partitions' notification streams and prefetches them, so a fetch is answered from silo memory. False fetches
    /// straight from the partitions with long polls (one fewer hop, no silo-side buffer).
    /// </summary>
    public bool FetchThroughConsumerGrain { get; init; } = true;

    /// <summary>Prefetched bytes per partition before fetching pauses (default 4 MiB).</summary>
    public long MaxBufferedBytesPerPartition { get; init; } = 4L << 20;
}
