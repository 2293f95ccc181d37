namespace OrleansGroups.Core.Coordination;

/// <summary>Timing rules of the group protocol. Defaults follow Kafka where there is a counterpart.</summary>
public sealed record GroupCoordinatorOptions
{
    /// <summary>Default of <see cref="DefaultSessionTimeoutMs"/>: 45 s, as Kafka's <c>session.timeout.ms</c>.</summary>
    public const int DefaultSessionTimeout = 45_000;

    /// <summary>Default of <see cref="MaxConfirmationStalenessMs"/>: 10 s.</summary>
    public const int DefaultMaxConfirmationStaleness = 10_000;

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

    /// <summary>
    /// How long a group may confirm a member's assignment from memory, without a storage write, after the last write
    /// that recorded the member's last heartbeat (its "last seen"). A heartbeat that finds the member's stored last-seen
    /// older than this writes the group (an ETag-checked write that records every member's last-seen), so a stale
    /// duplicate activation of the group fails that write and stops confirming. The bound used for a member is the
    /// smaller of this and a third of its session timeout.
    /// </summary>
    /// <remarks>
    /// Default 10 s. It is also the grace a reloaded group adds to a member's session (last-seen + session + this), which
    /// covers every confirmation the previous activation may have given since its last write: a member that died before
    /// the group moved is evicted within session timeout + this of its last heartbeat.
    /// Cost: a write records every member's last-seen, so with members heartbeating every interval I a group writes
    /// about once per (staleness - I) whatever its size: 10 s and I = 1 s give one write per 9 s per idle group
    /// (1,000 groups of 10 members: ~110 writes/s, where a write per heartbeat would be 10,000/s).
    /// Tuning: keep it well above <see cref="HeartbeatIntervalMs"/> (else every heartbeat writes) and well below the
    /// session timeout (it lengthens eviction after a move by up to this).
    /// </remarks>
    public int MaxConfirmationStalenessMs { get; init; } = DefaultMaxConfirmationStaleness;

    /// <summary>
    /// Largest rebalance timeout a member may ask for (default 30 min, as <see cref="MaxSessionTimeoutMs"/>); a larger
    /// request is clamped. It bounds how long a member that stopped releasing partitions can hold them.
    /// </summary>
    public int MaxRebalanceTimeoutMs { get; init; } = 1_800_000;

    /// <summary>Default of <see cref="MaxGroupSize"/>: 1,000 members.</summary>
    public const int DefaultMaxGroupSize = 1_000;

    /// <summary>
    /// Most members one group holds (Kafka's <c>group.max.size</c>, unlimited by default there; its KIP-848
    /// <c>group.consumer.max.size</c> defaults to 200). A join that would pass it fails with GroupMaxSizeReached and
    /// changes nothing; a member rejoining or a static member's new incarnation does not count twice.
    /// </summary>
    /// <remarks>
    /// Default 1,000. Every member is state the group grain persists on each change and reassigns on each rebalance,
    /// so a runaway client that joins in a loop must hit a bound. Tuning rule: above the largest deployment's consumer
    /// count; members beyond the partition count get nothing to read anyway.
    /// </remarks>
    public int MaxGroupSize { get; init; } = DefaultMaxGroupSize;
}
