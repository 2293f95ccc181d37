using System.Diagnostics;
using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Coordination;

namespace OrleansGroups.Bench.Groups;

/// <summary>
/// (a) The pure <see cref="GroupCoordinator"/>: a stable group of <c>members</c> over one topic of <c>partitions</c>
/// partitions, one member joins, and the members heartbeat until the group is stable again. No grain, no network,
/// no storage: this is the protocol's own cost and its latency in heartbeats.
/// </summary>
internal static class CoordinatorBench
{
    private const string Topic = "t";
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Heartbeats in rounds (every member once per round, in id order) from the join until stable.</summary>
    /// <returns>Coordinator CPU time in ms, rounds and heartbeats, per repetition.</returns>
    public static (Stats CpuMs, Stats Rounds, Stats Heartbeats) Rounds(int partitions, int members, int repetitions)
    {
        var cpu = new List<double>();
        var rounds = new List<double>();
        var heartbeats = new List<double>();
        const int warmUps = 3; // JIT tiers and first-touch allocations
        for (var rep = -warmUps; rep < repetitions; rep++)
        {
            var group = StableGroup(partitions, members, new GroupCoordinatorOptions());
            var joiner = MemberId(members);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var stopwatch = Stopwatch.StartNew();
            group.Join(joiner);
            var count = 1;
            var round = 0;
            while (group.Coordinator.Model.State != GroupState.Stable)
            {
                round++;
                foreach (var memberId in group.MemberIds)
                {
                    group.Heartbeat(memberId);
                    count++;
                }
            }
            stopwatch.Stop();
            if (rep < 0)
            {
                continue;
            }
            cpu.Add(stopwatch.Elapsed.TotalMilliseconds);
            rounds.Add(round);
            heartbeats.Add(count);
        }
        return (Stats.Of(cpu), Stats.Of(rounds), Stats.Of(heartbeats));
    }

    /// <summary>
    /// Protocol time, simulated with a manual clock: every member heartbeats when its last reply told it to (the
    /// stable interval, or the short one while reconciling), stable members at random phases of their interval;
    /// replies arrive instantly and members release revoked partitions at once.
    /// </summary>
    /// <returns>Simulated ms from the join until the newcomer owns its whole target, and until the group is stable.</returns>
    public static (Stats NewcomerSettledMs, Stats StableMs) Simulated(int partitions, int members, int repetitions, GroupCoordinatorOptions options)
    {
        var settled = new List<double>();
        var stable = new List<double>();
        for (var rep = 0; rep < repetitions; rep++)
        {
            var group = StableGroup(partitions, members, options);
            var random = new Random(rep);
            var t0 = group.Clock.Now;
            var queue = new PriorityQueue<string, DateTimeOffset>();
            foreach (var memberId in group.MemberIds)
            {
                queue.Enqueue(memberId, t0.AddMilliseconds(random.NextDouble() * options.HeartbeatIntervalMs));
            }
            var joiner = MemberId(members);
            var reply = group.Join(joiner);
            queue.Enqueue(joiner, t0.AddMilliseconds(reply.HeartbeatIntervalMs));
            double? newcomerSettled = null;
            while (true)
            {
                queue.TryDequeue(out var memberId, out var at);
                group.Clock.AdvanceTo(at);
                reply = group.Heartbeat(memberId!);
                queue.Enqueue(memberId!, at.AddMilliseconds(reply.HeartbeatIntervalMs));
                var elapsed = (group.Clock.Now - t0).TotalMilliseconds;
                if (newcomerSettled is null && memberId == joiner && reply.State == MemberState.Stable &&
                    reply.Assignment.Count == group.Coordinator.Model.TargetOf(joiner).Count)
                {
                    newcomerSettled = elapsed;
                }
                if (group.Coordinator.Model.State == GroupState.Stable)
                {
                    settled.Add(newcomerSettled ?? elapsed);
                    stable.Add(elapsed);
                    break;
                }
            }
        }
        return (Stats.Of(settled), Stats.Of(stable));
    }

    private static string MemberId(int index) => $"member-{index:D4}";

    private static SimulatedGroup StableGroup(int partitions, int members, GroupCoordinatorOptions options)
    {
        var group = new SimulatedGroup(partitions, options);
        for (var i = 0; i < members; i++)
        {
            group.Join(MemberId(i));
        }
        while (group.Coordinator.Model.State != GroupState.Stable)
        {
            foreach (var memberId in group.MemberIds)
            {
                group.Heartbeat(memberId);
            }
        }
        return group;
    }

    /// <summary>A coordinator and well-behaved members: each reports exactly what its last reply gave it.</summary>
    private sealed class SimulatedGroup
    {
        private readonly Dictionary<string, int> _counts;
        private readonly SortedDictionary<string, HeartbeatResponse> _views = new(StringComparer.Ordinal);
        private readonly IReadOnlyList<string> _topics = [Topic];

        public SimulatedGroup(int partitions, GroupCoordinatorOptions options)
        {
            _counts = new Dictionary<string, int> { [Topic] = partitions };
            Coordinator = new GroupCoordinator(new ConsumerGroupModel("bench", Assignors.Default), options, Clock);
        }

        public ManualClock Clock { get; } = new(Start);

        public GroupCoordinator Coordinator { get; }

        public IReadOnlyList<string> MemberIds => [.. _views.Keys];

        public HeartbeatResponse Join(string memberId) =>
            Send(new HeartbeatRequest(memberId, MemberEpochs.Join, null, "bench", _topics, []));

        public HeartbeatResponse Heartbeat(string memberId) =>
            Send(new HeartbeatRequest(memberId, _views[memberId].MemberEpoch, null, "bench", null, _views[memberId].Assignment));

        private HeartbeatResponse Send(HeartbeatRequest request)
        {
            var response = Coordinator.Heartbeat(request, _counts).Response;
            _views[request.MemberId] = response;
            return response;
        }
    }
}
