using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Tests.Assignment;

/// <summary>Small builders and checks shared by the assignor tests.</summary>
internal static class AssignmentBuilders
{
    public static AssignmentMember Member(string id, string[] topics, params TopicPartition[] current) =>
        new(id, new HashSet<string>(topics), new HashSet<TopicPartition>(current));

    public static TopicMetadata Metadata(params (string Topic, int Partitions)[] topics) =>
        new(topics.ToDictionary(t => t.Topic, t => t.Partitions));

    public static TopicPartition Tp(string topic, int partition) => new(topic, partition);

    public static TopicPartition[] Partitions(string topic, params int[] partitions) =>
        partitions.Select(p => new TopicPartition(topic, p)).ToArray();

    public static Dictionary<string, int> Loads(GroupAssignment assignment) =>
        assignment.Partitions.ToDictionary(e => e.Key, e => e.Value.Count);

    /// <summary>The spec with each member's current assignment replaced by what <paramref name="assignment"/> gave it.</summary>
    public static List<AssignmentMember> Adopt(IEnumerable<AssignmentMember> members, GroupAssignment assignment) =>
        members.Select(m => m with { CurrentAssignment = assignment.Partitions[m.MemberId] }).ToList();

    /// <summary>Partitions whose owner differs between the two assignments, counting ones whose owner left.</summary>
    public static int Moved(GroupAssignment before, GroupAssignment after)
    {
        var ownerAfter = after.Partitions.SelectMany(e => e.Value.Select(p => (p, e.Key))).ToDictionary(x => x.p, x => x.Key);
        return before.Partitions.Sum(e => e.Value.Count(p => !ownerAfter.TryGetValue(p, out var owner) || owner != e.Key));
    }

    /// <summary>
    /// What every assignor must guarantee: every member present, every partition of every subscribed, existing
    /// topic owned exactly once by a subscriber, and nothing else assigned.
    /// </summary>
    public static void AssertValid(GroupSpec spec, TopicMetadata topics, GroupAssignment assignment)
    {
        Assert.Equal(spec.Members.Select(m => m.MemberId).Order(), assignment.Partitions.Keys.Order());
        var expected = spec.Members.SelectMany(m => m.SubscribedTopics).Distinct()
            .Where(topics.PartitionCounts.ContainsKey)
            .SelectMany(t => Enumerable.Range(0, topics.PartitionCounts[t]).Select(p => new TopicPartition(t, p)))
            .Order().ToList();
        var owned = assignment.Partitions.SelectMany(e => e.Value).Order().ToList();
        Assert.Equal(expected, owned);
        foreach (var member in spec.Members)
            Assert.All(assignment.Partitions[member.MemberId], p => Assert.Contains(p.Topic, member.SubscribedTopics));
    }

    /// <summary>
    /// The smallest sum of squared loads any valid assignment can reach, by enumeration (small inputs only).
    /// An assignment reaching it is as balanced as the subscriptions allow: it also has the smallest maximum load.
    /// </summary>
    public static long BestSumOfSquares(GroupSpec spec, TopicMetadata topics)
    {
        var members = spec.Members.ToArray();
        var partitions = members.SelectMany(m => m.SubscribedTopics).Distinct().Where(topics.PartitionCounts.ContainsKey)
            .SelectMany(t => Enumerable.Range(0, topics.PartitionCounts[t]).Select(_ => t)).ToArray();
        var eligible = partitions.Select(t => Enumerable.Range(0, members.Length).Where(i => members[i].SubscribedTopics.Contains(t)).ToArray()).ToArray();
        var load = new int[members.Length];
        var best = long.MaxValue;
        Search(0);
        return best;

        void Search(int next)
        {
            if (next == partitions.Length)
            {
                best = Math.Min(best, load.Sum(l => (long)l * l));
                return;
            }
            foreach (var m in eligible[next])
            {
                load[m]++;
                Search(next + 1);
                load[m]--;
            }
        }
    }

    public static long SumOfSquares(GroupAssignment assignment) => assignment.Partitions.Values.Sum(s => (long)s.Count * s.Count);

    /// <summary>A random group: up to <paramref name="maxMembers"/> members, topics t0..t3 (some missing from the metadata).</summary>
    public static (GroupSpec Spec, TopicMetadata Topics) RandomGroup(Random random, bool equalSubscriptions, int maxMembers = 8, int maxPartitions = 12)
    {
        string[] allTopics = ["t0", "t1", "t2", "t3"];
        var metadata = allTopics.Where(_ => random.Next(5) > 0).ToDictionary(t => t, _ => random.Next(1, maxPartitions + 1));
        var shared = RandomSubset(random, allTopics);
        var members = Enumerable.Range(0, random.Next(1, maxMembers + 1))
            .Select(i => Member($"m{i:D2}-{random.Next(1000)}", equalSubscriptions ? shared : RandomSubset(random, allTopics)))
            .DistinctBy(m => m.MemberId)
            .ToList();
        return (new GroupSpec(members), new TopicMetadata(metadata));
    }

    public static GroupSpec Shuffled(GroupSpec spec, Random random) =>
        new(spec.Members.OrderBy(_ => random.Next())
            .Select(m => m with
            {
                SubscribedTopics = new HashSet<string>(m.SubscribedTopics.OrderBy(_ => random.Next())),
                CurrentAssignment = new HashSet<TopicPartition>(m.CurrentAssignment.OrderBy(_ => random.Next())),
            }).ToList());

    public static TopicMetadata Shuffled(TopicMetadata topics, Random random) =>
        new(topics.PartitionCounts.OrderBy(_ => random.Next()).ToDictionary(e => e.Key, e => e.Value));

    private static string[] RandomSubset(Random random, string[] items) => items.Where(_ => random.Next(2) == 0).ToArray();
}
