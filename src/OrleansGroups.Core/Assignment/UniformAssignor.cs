using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Assignment;

/// <summary>
/// Balanced and sticky, like Kafka's server-side uniform assignor: partitions are spread as evenly as the
/// subscriptions allow, and members keep what they already own unless balance requires a move.
/// </summary>
/// <remarks>
/// <para>Three steps:</para>
/// <list type="number">
/// <item>Every member keeps its current partitions that still exist and that it still subscribes to.</item>
/// <item>Each unowned partition goes to the eligible member with the fewest partitions (ties: lowest member id).</item>
/// <item>While some member owns at least two more partitions than another member it can reach, one partition
/// moves along a chain of owners (A gives a partition of topic t to B, who subscribes to t; B may pass one on to C ...).
/// Only the ends change count, so each chain strictly reduces imbalance and the loop ends. When no such chain
/// is left, no reassignment can lower the largest load or raise the smallest (the optimality condition for
/// semi-matchings, Harvey et al. 2003), which with equal subscriptions means max − min ≤ 1.</item>
/// </list>
/// <para>Worked example, one topic with partitions p0..p3. Members A and B, nothing owned: step 2 deals
/// p0→A, p1→B, p2→A, p3→B, so 2/2. C joins: A and B keep theirs (2/2/0); step 3 moves one partition from A
/// (most loaded, lowest id) to C: A gives its highest, p2, giving A {p0}, B {p1, p3}, C {p2}: 1/2/1. One partition
/// moved, the minimum, because 4 = 2 + 1 + 1 only needs C to get one.</para>
/// <para>Cost: step 3 runs a breadth-first search over members per moved partition, O(moves × members × topics).</para>
/// </remarks>
public sealed class UniformAssignor : IPartitionAssignor
{
    /// <summary>"uniform".</summary>
    public const string AssignorName = "uniform";

    /// <summary>The shared instance; the assignor is stateless.</summary>
    public static UniformAssignor Instance { get; } = new();

    /// <inheritdoc />
    public string Name => AssignorName;

    /// <inheritdoc />
    public GroupAssignment Assign(GroupSpec spec, TopicMetadata topics)
    {
        var builder = new Builder(Assignors.SortedMembers(spec), topics);
        builder.KeepCurrent();
        builder.AssignUnowned();
        builder.Balance();
        return builder.Build();
    }

    /// <summary>Mutable working state of one <see cref="Assign"/> call. Members are referred to by their index in id order.</summary>
    private sealed class Builder
    {
        private readonly AssignmentMember[] _members;
        private readonly List<(string Topic, int Partitions)> _topics;
        private readonly Dictionary<string, int[]> _subscribers = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, SortedSet<int>>[] _owned;
        private readonly int[] _load;
        private readonly HashSet<TopicPartition> _claimed = [];
        private readonly bool[] _canReceive;

        public Builder(AssignmentMember[] members, TopicMetadata topics)
        {
            _members = members;
            _topics = Assignors.SubscribedTopics(members, topics);
            foreach (var (topic, _) in _topics)
                _subscribers[topic] = Enumerable.Range(0, members.Length).Where(i => members[i].SubscribedTopics.Contains(topic)).ToArray();
            _owned = members.Select(_ => new SortedDictionary<string, SortedSet<int>>(StringComparer.Ordinal)).ToArray();
            _load = new int[members.Length];
            _canReceive = new bool[members.Length];
            foreach (var subscribers in _subscribers.Values)
            {
                foreach (var m in subscribers)
                    _canReceive[m] = true;
            }
        }

        // 1. Keep what is still valid. If two members claim a partition, the lower member id keeps it.
        public void KeepCurrent()
        {
            var partitionCounts = _topics.ToDictionary(t => t.Topic, t => t.Partitions, StringComparer.Ordinal);
            for (var m = 0; m < _members.Length; m++)
            {
                foreach (var tp in _members[m].CurrentAssignment.Order())
                {
                    if (partitionCounts.TryGetValue(tp.Topic, out var count) && tp.Partition >= 0 && tp.Partition < count
                        && _members[m].SubscribedTopics.Contains(tp.Topic) && _claimed.Add(tp))
                        Add(m, tp);
                }
            }
        }

        // 2. Deal out the rest (new partitions, those of departed members or changed subscriptions) to the least loaded.
        public void AssignUnowned()
        {
            foreach (var (topic, count) in _topics)
            {
                var eligible = _subscribers[topic];
                for (var p = 0; p < count; p++)
                {
                    var tp = new TopicPartition(topic, p);
                    if (!_claimed.Add(tp))
                        continue;
                    var least = eligible[0];
                    foreach (var m in eligible)
                    {
                        if (_load[m] < _load[least])
                            least = m;
                    }
                    Add(least, tp);
                }
            }
        }

        // 3. Move partitions along chains until no member can shed load to one with two fewer.
        public void Balance()
        {
            if (_members.Length < 2)
                return;
            while (TryMoveOne())
            {
            }
        }

        public GroupAssignment Build()
        {
            var result = new Dictionary<string, IReadOnlySet<TopicPartition>>(_members.Length, StringComparer.Ordinal);
            for (var m = 0; m < _members.Length; m++)
            {
                result[_members[m].MemberId] = new SortedSet<TopicPartition>(
                    _owned[m].SelectMany(e => e.Value.Select(p => new TopicPartition(e.Key, p))));
            }
            return new GroupAssignment(result);
        }

        private bool TryMoveOne()
        {
            // Members subscribed to no existing topic can never receive, so they do not count as underloaded.
            var receivers = Enumerable.Range(0, _members.Length).Where(m => _canReceive[m]).ToList();
            if (receivers.Count == 0)
                return false;
            var minLoad = receivers.Min(m => _load[m]);
            // Most loaded first, so the largest imbalance shrinks first; ties by member id.
            var givers = Enumerable.Range(0, _members.Length)
                .Where(m => _load[m] >= minLoad + 2)
                .OrderByDescending(m => _load[m]).ThenBy(m => m);
            foreach (var giver in givers)
            {
                if (FindChain(giver) is { } chain)
                {
                    foreach (var (from, to, topic) in chain)
                        Move(from, to, topic);
                    return true;
                }
            }
            return false;
        }

        /// <summary>
        /// Breadth-first from <paramref name="giver"/>: member v is reachable from u via topic t when u owns a
        /// partition of t and v subscribes to t. Returns the hops to the least loaded reachable member that has at
        /// least two partitions fewer (ties: fewest hops, then lowest id), or null.
        /// </summary>
        private List<(int From, int To, string Topic)>? FindChain(int giver)
        {
            var via = new (int From, string Topic)?[_members.Length];
            var depth = new int[_members.Length];
            var visited = new bool[_members.Length];
            visited[giver] = true;
            var queue = new Queue<int>();
            queue.Enqueue(giver);
            var best = -1;
            while (queue.TryDequeue(out var u))
            {
                foreach (var (topic, partitions) in _owned[u])
                {
                    if (partitions.Count == 0)
                        continue;
                    foreach (var v in _subscribers[topic])
                    {
                        if (visited[v])
                            continue;
                        visited[v] = true;
                        via[v] = (u, topic);
                        depth[v] = depth[u] + 1;
                        queue.Enqueue(v);
                        if (_load[v] <= _load[giver] - 2
                            && (best < 0 || _load[v] < _load[best] || (_load[v] == _load[best] && (depth[v], v).CompareTo((depth[best], best)) < 0)))
                            best = v;
                    }
                }
            }
            if (best < 0)
                return null;

            var chain = new List<(int, int, string)>();
            for (var v = best; v != giver; v = via[v]!.Value.From)
                chain.Add((via[v]!.Value.From, v, via[v]!.Value.Topic));
            chain.Reverse();
            return chain;
        }

        /// <summary>
        /// Moves one partition of <paramref name="topic"/>, preferring one <paramref name="from"/> did not own
        /// before this assignment (it was just dealt or passed to it), so previously owned partitions stay put.
        /// </summary>
        private void Move(int from, int to, string topic)
        {
            var partitions = _owned[from][topic];
            var current = _members[from].CurrentAssignment;
            var chosen = partitions.Max;
            foreach (var p in partitions.Reverse())
            {
                if (!current.Contains(new TopicPartition(topic, p)))
                {
                    chosen = p;
                    break;
                }
            }
            Remove(from, new TopicPartition(topic, chosen));
            Add(to, new TopicPartition(topic, chosen));
        }

        private void Add(int member, TopicPartition tp)
        {
            if (!_owned[member].TryGetValue(tp.Topic, out var set))
                _owned[member][tp.Topic] = set = [];
            set.Add(tp.Partition);
            _load[member]++;
        }

        private void Remove(int member, TopicPartition tp)
        {
            var set = _owned[member][tp.Topic];
            set.Remove(tp.Partition);
            if (set.Count == 0)
                _owned[member].Remove(tp.Topic);
            _load[member]--;
        }
    }
}
