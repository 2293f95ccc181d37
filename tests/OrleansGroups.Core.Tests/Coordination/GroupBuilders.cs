using System.Collections.Immutable;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>
/// Builders and whole-object checks shared by the coordinator tests (Kafka's group-coordinator tests build
/// expected members and records the same way). Records holding sets or lists compare by reference, so the
/// checks render members, events and snapshots canonically and compare those.
/// </summary>
internal static class GroupBuilders
{
    public const string GroupId = "g";
    public const string T = "t";
    public const string U = "u";
    public const int SessionTimeoutMs = 10_000;
    public const int RebalanceTimeoutMs = 30_000;

    public static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
    public static readonly GroupCoordinatorOptions Options = new();

    public static TopicPartition Tp(int partition, string topic = T) => new(topic, partition);

    /// <summary>Partitions of topic <see cref="T"/>.</summary>
    public static ImmutableSortedSet<TopicPartition> P(params int[] partitions) => P(T, partitions);

    public static ImmutableSortedSet<TopicPartition> P(string topic, params int[] partitions) =>
        partitions.Select(p => new TopicPartition(topic, p)).ToImmutableSortedSet();

    public static string ClientIdOf(string memberId) => "client-" + memberId;

    /// <summary>A member as <see cref="TestGroup.Join"/> creates it, in the given state.</summary>
    public static GroupMember Member(
        string memberId, int epoch, MemberState state = MemberState.Stable,
        ImmutableSortedSet<TopicPartition>? assigned = null, ImmutableSortedSet<TopicPartition>? pending = null,
        string[]? topics = null, string? instanceId = null, string? assignor = null) =>
        new(memberId, instanceId, ClientIdOf(memberId), (topics ?? [T]).ToImmutableSortedSet(StringComparer.Ordinal),
            epoch, state, assigned ?? [], pending ?? [], SessionTimeoutMs, RebalanceTimeoutMs, assignor);

    /// <summary>The expected reply; the interval is the long one only for a stable member at the group epoch.</summary>
    public static HeartbeatResponse Response(
        string memberId, int memberEpoch, MemberState state, ImmutableSortedSet<TopicPartition> assignment, int groupEpoch) =>
        new(memberId, memberEpoch,
            state == MemberState.Stable && memberEpoch == groupEpoch ? Options.HeartbeatIntervalMs : Options.ReconcilingHeartbeatIntervalMs,
            [.. assignment], state, groupEpoch);

    public static GroupEvent Upserted(GroupMember member) => new MemberUpserted(member);

    public static GroupEvent Removed(string memberId, string reason) => new MemberRemoved(memberId, reason);

    public static GroupEvent EpochBumped(int groupEpoch, params (string Topic, int Partitions)[] counts) =>
        new GroupEpochBumped(groupEpoch, counts.ToDictionary(c => c.Topic, c => c.Partitions));

    public static GroupEvent TargetComputed(int assignmentEpoch, params (string MemberId, ImmutableSortedSet<TopicPartition> Partitions)[] target) =>
        new TargetAssignmentComputed(assignmentEpoch, target.ToDictionary(t => t.MemberId, t => (IReadOnlySet<TopicPartition>)t.Partitions));

    public static GroupEvent Committed(TopicPartition partition, long offset, int memberEpoch, DateTimeOffset at) =>
        new OffsetCommitted(partition, new CommittedOffset(offset, null, at.ToUnixTimeMilliseconds(), memberEpoch));

    public static void AssertMember(GroupMember expected, GroupMember actual) =>
        Assert.True(expected.SameAs(actual), $"Expected member {Show(expected)}{Environment.NewLine}        but was {Show(actual)}");

    public static void AssertResponse(HeartbeatResponse expected, HeartbeatResponse actual)
    {
        // The assignment is a list in no promised order: compare it sorted, and everything else as a record.
        IReadOnlyList<TopicPartition> none = [];
        Assert.Equal(expected with { Assignment = none }, actual with { Assignment = none });
        Assert.Equal(expected.Assignment.Order(), actual.Assignment.Order());
    }

    public static void AssertEvents(IEnumerable<GroupEvent> expected, IEnumerable<GroupEvent> actual) =>
        Assert.Equal(expected.Select(Show).ToList(), actual.Select(Show).ToList());

    public static void AssertSnapshot(GroupSnapshot expected, GroupSnapshot actual) => Assert.Equal(Show(expected), Show(actual));

    public static void AssertOffsets(ConsumerGroupModel model, params (TopicPartition Partition, CommittedOffset Offset)[] expected) =>
        Assert.Equal(expected.OrderBy(o => o.Partition).ToList(), model.Offsets.Select(o => (o.Key, o.Value)).OrderBy(o => o.Key).ToList());

    /// <summary>The safety property of the protocol: a partition (assigned or pending revocation) has at most one owner.</summary>
    public static void AssertNoPartitionOwnedTwice(ConsumerGroupModel model)
    {
        var shared = model.Members.Values
            .SelectMany(m => m.AssignedPartitions.Concat(m.PartitionsPendingRevocation).Select(p => (Partition: p, m.MemberId)))
            .GroupBy(x => x.Partition)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key} owned by {string.Join(" and ", g.Select(x => x.MemberId))}")
            .ToList();
        Assert.True(shared.Count == 0, string.Join("; ", shared) + Environment.NewLine + Show(model.ToSnapshot()));
    }

    public static string Show(IEnumerable<TopicPartition> partitions) => string.Join(",", partitions.Order());

    public static string Show(GroupMember m) =>
        $"{m.MemberId} epoch={m.MemberEpoch} {m.State} assigned=[{Show(m.AssignedPartitions)}] " +
        $"pending=[{Show(m.PartitionsPendingRevocation)}] topics=[{string.Join(",", m.SubscribedTopics)}] " +
        $"instance={m.InstanceId ?? "-"} client={m.ClientId} session={m.SessionTimeoutMs} rebalance={m.RebalanceTimeoutMs} assignor={m.ServerAssignor ?? "-"}";

    public static string Show(GroupEvent groupEvent) => groupEvent switch
    {
        MemberUpserted(var member) => $"MemberUpserted({Show(member)})",
        MemberReplaced(var previous, var member) => $"MemberReplaced({previous} by {Show(member)})",
        GroupEpochBumped(var epoch, var counts) => $"GroupEpochBumped({epoch}, {Show(counts)})",
        TargetAssignmentComputed(var epoch, var target) =>
            $"TargetAssignmentComputed({epoch}, {string.Join("; ", target.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}=[{Show(t.Value)}]"))})",
        // MemberRemoved and OffsetCommitted hold only values, so their record text is canonical.
        _ => groupEvent.ToString(),
    };

    public static string Show(IReadOnlyDictionary<string, int> counts) =>
        "{" + string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}:{c.Value}")) + "}";

    public static string Show(GroupSnapshot s)
    {
        var text = new StringBuilder();
        text.AppendLine($"groupEpoch={s.GroupEpoch} assignmentEpoch={s.AssignmentEpoch} assignor={s.Assignor} counts={Show(s.SubscribedPartitionCounts)} emptySince={s.EmptySinceMs?.ToString() ?? "-"}");
        foreach (var member in s.Members)
            text.AppendLine("member " + Show(member.ToMember()));
        foreach (var target in s.Target)
            text.AppendLine($"target {target.MemberId}=[{string.Join(",", target.Partitions)}]");
        foreach (var offset in s.Offsets)
            text.AppendLine($"offset {offset.Partition}={offset.Offset}");
        return text.ToString();
    }
}

/// <summary>
/// A coordinator with a fake clock and topic metadata, driven the way well-behaved members drive it: each
/// member remembers the last reply it got (<see cref="Views"/>) and reports exactly that on its next heartbeat.
/// </summary>
internal sealed class TestGroup
{
    public TestGroup(params (string Topic, int Partitions)[] topics)
        : this(Assignors.Default, topics)
    {
    }

    public TestGroup(string assignor, params (string Topic, int Partitions)[] topics)
        : this(new ConsumerGroupModel(GroupBuilders.GroupId, assignor), new FakeTimeProvider(GroupBuilders.Start),
            topics.ToDictionary(t => t.Topic, t => t.Partitions, StringComparer.Ordinal))
    {
    }

    private TestGroup(ConsumerGroupModel model, FakeTimeProvider time, Dictionary<string, int> partitionCounts, GroupCoordinatorOptions? options = null)
        : this(new GroupCoordinator(model, options ?? GroupBuilders.Options, time), time, partitionCounts)
    {
    }

    private TestGroup(GroupCoordinator coordinator, FakeTimeProvider time, Dictionary<string, int> partitionCounts)
    {
        Time = time;
        PartitionCounts = partitionCounts;
        Coordinator = coordinator;
    }

    /// <summary>One topic <see cref="GroupBuilders.T"/> with <paramref name="partitions"/> partitions, no members, and other protocol options.</summary>
    public static TestGroup WithOptions(GroupCoordinatorOptions options, int partitions) =>
        new(new ConsumerGroupModel(GroupBuilders.GroupId, Assignors.Default), new FakeTimeProvider(GroupBuilders.Start),
            new Dictionary<string, int>(StringComparer.Ordinal) { [GroupBuilders.T] = partitions }, options);

    public FakeTimeProvider Time { get; }

    /// <summary>Partition count of every existing topic; tests grow topics by editing it.</summary>
    public Dictionary<string, int> PartitionCounts { get; }

    public GroupCoordinator Coordinator { get; }

    public ConsumerGroupModel Model => Coordinator.Model;

    /// <summary>The last reply each live member received.</summary>
    public Dictionary<string, HeartbeatResponse> Views { get; } = new(StringComparer.Ordinal);

    public GroupMember this[string memberId] => Model.Members[memberId];

    /// <summary>One topic <see cref="GroupBuilders.T"/> with <paramref name="partitions"/> partitions and no members.</summary>
    public static TestGroup WithTopic(int partitions) => new((GroupBuilders.T, partitions));

    /// <summary>The members join in order and heartbeat until the group is stable.</summary>
    public static TestGroup Stable(int partitions, params string[] memberIds)
    {
        var group = WithTopic(partitions);
        foreach (var memberId in memberIds)
            group.Join(memberId);
        group.Stabilize();
        return group;
    }

    /// <summary>The group as a freshly activated grain would see it: rebuilt from its snapshot, clocks restarted.</summary>
    public TestGroup Reload()
    {
        var reloaded = new TestGroup(
            ConsumerGroupModel.FromSnapshot(GroupBuilders.GroupId, Model.ToSnapshot(), Model.DefaultAssignor), Time, PartitionCounts);
        foreach (var (memberId, view) in Views)
            reloaded.Views[memberId] = view;
        foreach (var (memberId, instanceId) in InstanceIds)
            reloaded.InstanceIds[memberId] = instanceId;
        return reloaded;
    }

    /// <summary>What the host last wrote (<see cref="Write"/>), or null.</summary>
    public GroupSnapshot? Stored { get; private set; }

    /// <summary>The host writes the group now, as the grain does after a change or for a confirmation.</summary>
    public GroupSnapshot Write()
    {
        Stored = Coordinator.ToSnapshot();
        Coordinator.Written(Stored);
        return Stored;
    }

    /// <summary>The group as a new activation (after the grain moved) sees it: rebuilt from what was last written, session clocks included.</summary>
    public TestGroup Reactivate()
    {
        var stored = Stored ?? throw new InvalidOperationException("Nothing was written.");
        var reactivated = new TestGroup(
            GroupCoordinator.FromSnapshot(GroupBuilders.GroupId, stored, Model.DefaultAssignor, GroupBuilders.Options, Time), Time, PartitionCounts)
        {
            Stored = stored,
        };
        foreach (var (memberId, view) in Views)
            reactivated.Views[memberId] = view;
        return reactivated;
    }

    public GroupResult<HeartbeatResponse> Join(string memberId, params string[] topics) =>
        Send(new HeartbeatRequest(memberId, 0, null, GroupBuilders.ClientIdOf(memberId), topics.Length == 0 ? [GroupBuilders.T] : topics, [],
            GroupBuilders.SessionTimeoutMs, GroupBuilders.RebalanceTimeoutMs));

    /// <summary>Static instance id of each member that joined with one; its heartbeats carry it, as a Kafka client's do.</summary>
    public Dictionary<string, string> InstanceIds { get; } = new(StringComparer.Ordinal);

    /// <summary>A static member (<c>group.instance.id</c>) joins, or a new incarnation takes over the instance id.</summary>
    public GroupResult<HeartbeatResponse> JoinStatic(string memberId, string instanceId, params string[] topics)
    {
        var result = Coordinator.Heartbeat(new HeartbeatRequest(memberId, 0, instanceId, GroupBuilders.ClientIdOf(memberId),
            topics.Length == 0 ? [GroupBuilders.T] : topics, [], GroupBuilders.SessionTimeoutMs, GroupBuilders.RebalanceTimeoutMs), PartitionCounts);
        // The incarnation that held the instance id is gone from the group; the test may still act as its zombie.
        foreach (var replaced in InstanceIds.Where(i => i.Value == instanceId && i.Key != memberId).Select(i => i.Key).ToList())
        {
            Views.Remove(replaced);
        }
        InstanceIds[memberId] = instanceId;
        Views[memberId] = result.Response;
        return result;
    }

    /// <summary>A heartbeat with a leave epoch (-1, or -2 for a static member's temporary leave).</summary>
    public GroupResult<HeartbeatResponse> LeaveWithEpoch(string memberId, int leaveEpoch)
    {
        var result = Coordinator.Heartbeat(new HeartbeatRequest(memberId, leaveEpoch, InstanceIds.GetValueOrDefault(memberId),
            GroupBuilders.ClientIdOf(memberId), null, null), PartitionCounts);
        Views.Remove(memberId);
        return result;
    }

    /// <summary>A well-behaved heartbeat: the epoch and partitions of the member's last reply.</summary>
    public GroupResult<HeartbeatResponse> Heartbeat(string memberId) =>
        Heartbeat(memberId, Views[memberId].MemberEpoch, Views[memberId].Assignment);

    public GroupResult<HeartbeatResponse> Heartbeat(
        string memberId, int memberEpoch, IReadOnlyList<TopicPartition>? owned, IReadOnlyList<string>? topics = null) =>
        Send(new HeartbeatRequest(memberId, memberEpoch, InstanceIds.GetValueOrDefault(memberId), GroupBuilders.ClientIdOf(memberId), topics, owned));

    public GroupResult<bool> Leave(string memberId)
    {
        var result = Coordinator.Leave(memberId);
        Views.Remove(memberId);
        return result;
    }

    public GroupResult<IReadOnlyList<string>> Expire()
    {
        var result = Coordinator.ExpireMembers();
        foreach (var memberId in result.Response)
            Views.Remove(memberId);
        return result;
    }

    public GroupResult<bool> Commit(string memberId, int memberEpoch, params (int Partition, long Offset)[] offsets) =>
        Coordinator.Commit(new CommitRequest(memberId, memberEpoch,
            offsets.Select(o => new PartitionOffset(GroupBuilders.Tp(o.Partition), o.Offset)).ToList()));

    public void Advance(int milliseconds) => Time.Advance(TimeSpan.FromMilliseconds(milliseconds));

    /// <summary>Every live member heartbeats once, in id order; <paramref name="check"/> runs after each heartbeat.</summary>
    public void HeartbeatRound(Action? check = null)
    {
        foreach (var memberId in Views.Keys.Order(StringComparer.Ordinal).ToList())
        {
            Heartbeat(memberId);
            check?.Invoke();
        }
    }

    /// <summary>Heartbeat rounds until the group is stable; returns how many it took.</summary>
    public int Stabilize(Action? check = null, int maxRounds = 10)
    {
        for (var round = 1; round <= maxRounds; round++)
        {
            HeartbeatRound(check);
            if (Model.State == GroupState.Stable)
                return round;
        }
        throw new Xunit.Sdk.XunitException(
            $"Group not stable after {maxRounds} heartbeat rounds:{Environment.NewLine}{GroupBuilders.Show(Model.ToSnapshot())}");
    }

    public GroupSnapshot Snapshot() => Model.ToSnapshot();

    private GroupResult<HeartbeatResponse> Send(HeartbeatRequest request)
    {
        var result = Coordinator.Heartbeat(request, PartitionCounts);
        Views[request.MemberId] = result.Response;
        return result;
    }
}
