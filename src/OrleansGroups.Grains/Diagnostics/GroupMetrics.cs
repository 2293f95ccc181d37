using System.Collections.Immutable;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Diagnostics;

/// <summary>
/// One consumer group activation's metrics: counts rebalances (with their duration) and revocations from the model's
/// changes, and publishes members and per-partition lag to the silo's <see cref="GroupMetricsRegistry"/>.
/// </summary>
/// <remarks>
/// Lag = end offset - committed offset. Committed offsets are the group's own state, republished after every change;
/// end offsets come from the partitions, read by <see cref="RefreshAsync"/> on the group's metrics timer
/// (<c>Groups.MetricsInterval</c>), so a scrape sees lag at most one interval old and never waits for a grain.
/// </remarks>
internal sealed class GroupMetrics(string groupId, GroupMetricsRegistry registry, TimeProvider time) : IDisposable
{
    private readonly Dictionary<string, ImmutableSortedSet<TopicPartition>> _pendingRevocation = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<TopicPartition, long> _endOffsets = new Dictionary<TopicPartition, long>();
    private long? _rebalanceStarted;

    /// <summary>After the group changed (and persisted): count what started or ended, and republish.</summary>
    public void Observe(ConsumerGroupModel model)
    {
        // 1. A rebalance runs from the group leaving Stable/Empty for Reconciling until it is Stable or Empty again.
        var reconciling = model.State == GroupState.Reconciling;
        if (reconciling && _rebalanceStarted is null)
        {
            _rebalanceStarted = time.GetTimestamp();
            OrleansGroupsMetrics.RebalanceStarted(groupId);
        }
        else if (!reconciling && _rebalanceStarted is { } started)
        {
            _rebalanceStarted = null;
            OrleansGroupsMetrics.RebalanceEnded(groupId, time.GetElapsedTime(started));
        }

        // 2. Revocations: partitions newly pending revocation on a member since the last look.
        var revoked = 0;
        foreach (var member in model.Members.Values)
        {
            var before = _pendingRevocation.GetValueOrDefault(member.MemberId) ?? [];
            revoked += member.PartitionsPendingRevocation.Count(p => !before.Contains(p));
        }
        _pendingRevocation.Clear();
        foreach (var member in model.Members.Values)
        {
            _pendingRevocation[member.MemberId] = member.PartitionsPendingRevocation;
        }
        if (revoked > 0)
        {
            OrleansGroupsMetrics.Revoked(groupId, revoked);
        }

        Publish(model);
    }

    /// <summary>
    /// Reads the end offsets of the partitions the group committed to and republishes; true when the group has
    /// something to report (members or offsets), i.e. should stay active to keep reporting it.
    /// </summary>
    public async Task<bool> RefreshAsync(IGrainFactory grains, Func<ConsumerGroupModel> model)
    {
        var partitions = model().Offsets.Keys.ToList();
        var ends = await Task.WhenAll(partitions.Select(async partition =>
        {
            try
            {
                return (partition, (long?)(await grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(partition)).GetWatermarks()).HighWatermark);
            }
            catch (Exception)
            {
                // A deleted topic, or storage down: keep the last known end (or none) rather than report a wrong lag.
                return (partition, _endOffsets.TryGetValue(partition, out var known) ? known : (long?)null);
            }
        }));
        _endOffsets = ends.Where(e => e.Item2 is not null).ToDictionary(e => e.partition, e => e.Item2!.Value);
        var current = model();
        Publish(current);
        return current.HasState;
    }

    /// <summary>The activation is going away: another silo (or none) reports the group from now on.</summary>
    public void Dispose() => registry.Remove(groupId);

    private void Publish(ConsumerGroupModel model)
    {
        if (!model.HasState)
        {
            registry.Remove(groupId);
            return;
        }
        var lags = new List<PartitionLag>(model.Offsets.Count);
        foreach (var (partition, committed) in model.Offsets)
        {
            if (_endOffsets.TryGetValue(partition, out var end))
            {
                // The end may be older than a commit made since: never report a commit past the end as negative lag.
                lags.Add(new PartitionLag(partition, committed.Offset, Math.Max(end, committed.Offset)));
            }
        }
        lags.Sort((a, b) => a.Partition.CompareTo(b.Partition));
        registry.Publish(new GroupMetricsSnapshot(groupId, model.Members.Count, lags));
    }
}
