using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Assignment;

/// <summary>
/// Kafka's range assignor: per topic, the subscribers sorted by member id take contiguous ranges, the first
/// <c>n % m</c> of them one partition more. Members subscribing to the same topics get co-partitioned data
/// (partition k of every topic goes to the same member), at the price of imbalance across many topics and no
/// stickiness.
/// </summary>
public sealed class RangeAssignor : IPartitionAssignor
{
    /// <summary>"range".</summary>
    public const string AssignorName = "range";

    /// <summary>The shared instance; the assignor is stateless.</summary>
    public static RangeAssignor Instance { get; } = new();

    /// <inheritdoc />
    public string Name => AssignorName;

    /// <inheritdoc />
    public GroupAssignment Assign(GroupSpec spec, TopicMetadata topics)
    {
        var members = Assignors.SortedMembers(spec);
        var result = members.ToDictionary(m => m.MemberId, _ => new SortedSet<TopicPartition>(), StringComparer.Ordinal);
        foreach (var (topic, partitionCount) in Assignors.SubscribedTopics(members, topics))
        {
            var subscribers = members.Where(m => m.SubscribedTopics.Contains(topic)).ToArray();
            // 7 partitions, 3 members: 7 / 3 = 2 each and 7 % 3 = 1 extra, so 3/2/2 = [0..2], [3..4], [5..6].
            var quota = partitionCount / subscribers.Length;
            var extra = partitionCount % subscribers.Length;
            var start = 0;
            for (var i = 0; i < subscribers.Length; i++)
            {
                var count = quota + (i < extra ? 1 : 0);
                for (var p = start; p < start + count; p++)
                    result[subscribers[i].MemberId].Add(new TopicPartition(topic, p));
                start += count;
            }
        }
        return new GroupAssignment(result.ToDictionary(e => e.Key, e => (IReadOnlySet<TopicPartition>)e.Value, StringComparer.Ordinal));
    }
}
