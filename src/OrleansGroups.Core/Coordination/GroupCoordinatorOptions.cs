namespace OrleansGroups.Core.Coordination;

/// <summary>Timing rules of the group protocol. Defaults follow Kafka where there is a counterpart.</summary>
public sealed record GroupCoordinatorOptions
{
    /// <summary>Default of <see cref="DefaultSessionTimeoutMs"/>: 45 s, as Kafka's <c>session.timeout.ms</c>.</summary>
    public const int DefaultSessionTimeout = 45_000;

    /// <summary>Default of <see cref="HeartbeatIntervalMs"/>: 1 s.</summary>
    public const int DefaultHeartbeatInterval = 1_000;

    /// <summary>
    /// Session timeout for members that do not ask for one. A member silent this long is evicted and its
    /// partitions go to others. Keep it at least 3 × <see cref="HeartbeatIntervalMs"/> so two lost heartbeats do not evict.
    /// </summary>
    public int DefaultSessionTimeoutMs { get; init; } = DefaultSessionTimeout;

    /// <summary>Smallest session timeout a member may ask for (Kafka: <c>group.min.session.timeout.ms</c>).</summary>
    public int MinSessionTimeoutMs { get; init; } = 1_000;

    /// <summary>Largest session timeout a member may ask for (Kafka: <c>group.max.session.timeout.ms</c>).</summary>
    public int MaxSessionTimeoutMs { get; init; } = 1_800_000;

    /// <summary>
    /// How often a stable member heartbeats. A membership change reaches unaffected-but-moving members within
    /// one interval, so it bounds rebalance latency; each heartbeat is one cheap grain call.
    /// </summary>
    public int HeartbeatIntervalMs { get; init; } = DefaultHeartbeatInterval;

    /// <summary>Heartbeat interval while a member is reconciling, so hand-offs complete quickly.</summary>
    public int ReconcilingHeartbeatIntervalMs { get; init; } = 100;

    /// <summary>Time a member has to release revoked partitions before it is evicted (Kafka: <c>max.poll.interval.ms</c> role).</summary>
    public int DefaultRebalanceTimeoutMs { get; init; } = 300_000;
}
