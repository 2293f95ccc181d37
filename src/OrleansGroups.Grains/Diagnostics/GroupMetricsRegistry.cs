using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Diagnostics;

/// <summary>A partition's lag for one group: the log end offset minus the committed offset (never negative).</summary>
/// <param name="Partition">The partition.</param>
/// <param name="CommittedOffset">The group's committed offset: the next record it will read.</param>
/// <param name="EndOffset">The partition's end offset (high watermark) when last read.</param>
public readonly record struct PartitionLag(TopicPartition Partition, long CommittedOffset, long EndOffset)
{
    /// <summary>Records between the committed offset and the end of the log.</summary>
    public long Lag => Math.Max(0, EndOffset - CommittedOffset);
}

/// <summary>What a consumer group last published about itself.</summary>
/// <param name="GroupId">The group.</param>
/// <param name="Members">Live members.</param>
/// <param name="Partitions">Lag of every partition with a committed offset whose end offset is known.</param>
public sealed record GroupMetricsSnapshot(string GroupId, int Members, IReadOnlyList<PartitionLag> Partitions);

/// <summary>
/// The silo-local board where each active <c>ConsumerGroupGrain</c> publishes its members and per-partition lag, and
/// from which the observable gauges <c>orleansgroups.consumer_group.lag</c> and <c>.members</c> read. A metrics scrape
/// therefore costs a dictionary walk: no grain call, no storage read, whatever the number of groups.
/// </summary>
/// <remarks>
/// One per silo (a DI singleton). Each group is active on one silo, so each group is reported by exactly one silo; an
/// activation removes its entry when it deactivates (migration, shutdown, deletion). The gauges are static, like the
/// meter, and read every live registry (several silos share a process in tests).
/// </remarks>
public sealed class GroupMetricsRegistry : IDisposable
{
    private static readonly ConcurrentDictionary<GroupMetricsRegistry, byte> Live = new();
    private readonly ConcurrentDictionary<string, GroupMetricsSnapshot> _groups = new(StringComparer.Ordinal);

    /// <summary>Creates a registry and makes the gauges read it.</summary>
    public GroupMetricsRegistry()
    {
        OrleansGroupsMetrics.EnsureCreated();
        Live[this] = 0;
    }

    /// <summary>The groups published on this silo.</summary>
    public IReadOnlyCollection<GroupMetricsSnapshot> Groups => [.. _groups.Values];

    /// <summary>The latest snapshot of <paramref name="groupId"/>, if it is active here.</summary>
    public GroupMetricsSnapshot? Find(string groupId) => _groups.GetValueOrDefault(groupId);

    /// <summary>Replaces what <paramref name="snapshot"/>'s group published before.</summary>
    public void Publish(GroupMetricsSnapshot snapshot) => _groups[snapshot.GroupId] = snapshot;

    /// <summary>Forgets a group (deactivated or deleted).</summary>
    public void Remove(string groupId) => _groups.TryRemove(groupId, out _);

    /// <summary>Stops the gauges reading this registry.</summary>
    public void Dispose() => Live.TryRemove(this, out _);

    internal static IEnumerable<Measurement<long>> ObserveLag()
    {
        foreach (var registry in Live.Keys)
        {
            foreach (var group in registry._groups.Values)
            {
                foreach (var partition in group.Partitions)
                {
                    var partitionId = partition.Partition.Partition.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    // Both spellings: the messaging conventions' attributes, and the short labels operators know from
                    // kafka_exporter, so orleansgroups_consumer_group_lag{group="G",topic="T",partition="P"} selects.
                    yield return new Measurement<long>(partition.Lag,
                        new KeyValuePair<string, object?>("group", group.GroupId),
                        new KeyValuePair<string, object?>("topic", partition.Partition.Topic),
                        new KeyValuePair<string, object?>("partition", partitionId),
                        new KeyValuePair<string, object?>(OrleansGroupsMetrics.Group, group.GroupId),
                        new KeyValuePair<string, object?>(OrleansGroupsMetrics.Topic, partition.Partition.Topic),
                        new KeyValuePair<string, object?>(OrleansGroupsMetrics.Partition, partitionId));
                }
            }
        }
    }

    internal static IEnumerable<Measurement<int>> ObserveMembers()
    {
        foreach (var registry in Live.Keys)
        {
            foreach (var group in registry._groups.Values)
            {
                yield return new Measurement<int>(group.Members,
                    new KeyValuePair<string, object?>("group", group.GroupId),
                    new KeyValuePair<string, object?>(OrleansGroupsMetrics.Group, group.GroupId));
            }
        }
    }
}
