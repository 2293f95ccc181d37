using System.Diagnostics;
using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Bench.Groups;

/// <summary>(c) Assignor speed on one topic: a fresh assignment, and (uniform) one member joining a balanced group.</summary>
internal static class AssignorBench
{
    private const string Topic = "t";

    public sealed record Result(string Case, Stats Ms, int Moved);

    public static IReadOnlyList<Result> Run(int partitions, int members, int runs)
    {
        var topics = new TopicMetadata(new Dictionary<string, int> { [Topic] = partitions });
        IReadOnlySet<string> subscription = new HashSet<string> { Topic };
        AssignmentMember Member(int i, IReadOnlySet<TopicPartition>? current = null) =>
            new($"member-{i:D5}", subscription, current ?? new HashSet<TopicPartition>());
        var fresh = new GroupSpec(Enumerable.Range(0, members).Select(i => Member(i)).ToList());

        // One joins: members-1 hold a balanced (uniform) assignment, the newcomer holds nothing.
        var before = UniformAssignor.Instance.Assign(new GroupSpec(Enumerable.Range(0, members - 1).Select(i => Member(i)).ToList()), topics);
        var join = new GroupSpec(Enumerable.Range(0, members)
            .Select(i => Member(i, before.Partitions.GetValueOrDefault($"member-{i:D5}")))
            .ToList());

        return
        [
            Measure("uniform, fresh", () => UniformAssignor.Instance.Assign(fresh, topics), null, runs),
            Measure("uniform, one member joins", () => UniformAssignor.Instance.Assign(join, topics), before, runs),
            Measure("range, fresh", () => RangeAssignor.Instance.Assign(fresh, topics), null, runs),
        ];
    }

    private static Result Measure(string name, Func<GroupAssignment> assign, GroupAssignment? before, int runs)
    {
        var result = assign(); // warm-up
        result = assign();
        var times = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var stopwatch = Stopwatch.StartNew();
            result = assign();
            times.Add(stopwatch.Elapsed.TotalMilliseconds);
        }
        var moved = before is null ? 0 : before.Partitions.Sum(e => e.Value.Count(p => !result.Partitions[e.Key].Contains(p)));
        return new Result(name, Stats.Of(times), moved);
    }
}
