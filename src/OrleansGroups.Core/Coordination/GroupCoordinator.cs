using System.Collections.Immutable;
using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Coordination;

/// <summary>Events a handler produced (already applied to the model) and its reply.</summary>
public readonly record struct GroupResult<T>(IReadOnlyList<GroupEvent> Events, T Response)
{
    /// <summary>True when the handler changed the group, which must then be persisted.</summary>
    public bool Changed => Events.Count > 0;
}

/// <summary>
/// Decides what a heartbeat, leave, commit or expiry does to a <see cref="ConsumerGroupModel"/>, following
/// Kafka's KIP-848 protocol: the group computes a target assignment server-side, and each member converges
/// to it incrementally — a partition reaches its new owner only after the previous owner released it, and
/// members whose partitions do not move never pause. Pure: time comes from the injected
/// <see cref="TimeProvider"/>, and session deadlines are kept in memory (a reloaded group restarts every clock).
/// </summary>
public sealed class GroupCoordinator
{
    private readonly GroupCoordinatorOptions _options;
    private readonly TimeProvider _time;
    private readonly IPartitionAssignor _assignor;
    private readonly Dictionary<string, DateTimeOffset> _sessionDeadlines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _revocationDeadlines = new(StringComparer.Ordinal);
    private List<GroupEvent> _pending = [];

    /// <summary>Wraps a model; every member gets a fresh session deadline.</summary>
    public GroupCoordinator(ConsumerGroupModel model, GroupCoordinatorOptions options, TimeProvider time)
    {
        Model = model;
        _options = options;
        _time = time;
        _assignor = Assignors.Get(model.Assignor);
        var now = _time.GetUtcNow();
        foreach (var member in model.Members.Values)
        {
            _sessionDeadlines[member.MemberId] = now.AddMilliseconds(member.SessionTimeoutMs);
            if (member.State == MemberState.UnrevokedPartitions)
            {
                _revocationDeadlines[member.MemberId] = now.AddMilliseconds(member.RebalanceTimeoutMs);
            }
        }
    }

    /// <summary>The group state.</summary>
    public ConsumerGroupModel Model { get; }

    /// <summary>Every topic some member subscribes to, plus <paramref name="extra"/>.</summary>
    public IReadOnlyCollection<string> SubscribedTopics(IEnumerable<string>? extra = null) =>
        Model.Members.Values.SelectMany(m => m.SubscribedTopics).Concat(extra ?? []).ToImmutableSortedSet(StringComparer.Ordinal);

    /// <summary>
    /// Joins (epoch 0) or heartbeats a member and moves it one step toward its target assignment.
    /// <paramref name="partitionCounts"/> holds the partition count of every existing topic in
    /// <see cref="SubscribedTopics"/> (including the request's); missing topics count as absent.
    /// </summary>
    public GroupResult<HeartbeatResponse> Heartbeat(HeartbeatRequest request, IReadOnlyDictionary<string, int> partitionCounts)
    {
        _pending = [];
        var now = _time.GetUtcNow();

        // 1. Validate the member and its epoch; a join creates (or resets) the member.
        if (string.IsNullOrWhiteSpace(request.MemberId))
        {
            throw new InvalidRequestException("A heartbeat needs a member id.");
        }
        var membershipChanged = false;
        GroupMember member;
        Model.Members.TryGetValue(request.MemberId, out var existing);
        if (request.MemberEpoch == 0)
        {
            if (existing is not null)
            {
                // The member lost its state (fenced or restarted with the same id): whatever it owned is released.
                Emit(new MemberRemoved(existing.MemberId, "rejoined"));
                _revocationDeadlines.Remove(existing.MemberId);
            }
            var topics = (request.SubscribedTopics ?? existing?.SubscribedTopics ?? (IEnumerable<string>)[])
                .ToImmutableSortedSet(StringComparer.Ordinal);
            member = new GroupMember(
                request.MemberId, request.InstanceId, request.ClientId, topics, MemberEpoch: 0, MemberState.Stable,
                [], [], ClampSessionTimeout(request.SessionTimeoutMs),
                request.RebalanceTimeoutMs > 0 ? request.RebalanceTimeoutMs : _options.DefaultRebalanceTimeoutMs);
            Emit(new MemberUpserted(member));
            membershipChanged = true;
        }
        else
        {
            if (existing is null)
            {
                throw new UnknownMemberException(Model.GroupId, request.MemberId);
            }
            var ownsOnlyAssigned = request.OwnedPartitions is null ||
                                   request.OwnedPartitions.All(existing.Owns);
            // A lower epoch is fine when the member only missed our last reply (it owns nothing it should not).
            if (request.MemberEpoch > existing.MemberEpoch || (request.MemberEpoch < existing.MemberEpoch && !ownsOnlyAssigned))
            {
                throw new FencedMemberEpochException(Model.GroupId, request.MemberId, request.MemberEpoch, existing.MemberEpoch);
            }
            member = existing;
            if (request.SubscribedTopics is not null && !member.SubscribedTopics.SetEquals(request.SubscribedTopics))
            {
                member = member with { SubscribedTopics = request.SubscribedTopics.ToImmutableSortedSet(StringComparer.Ordinal) };
                Emit(new MemberUpserted(member));
                membershipChanged = true;
            }
        }
        _sessionDeadlines[member.MemberId] = now.AddMilliseconds(member.SessionTimeoutMs);

        // 2. Bump the group epoch on a membership, subscription or partition-count change.
        BumpEpochIfNeeded(membershipChanged, partitionCounts);

        // 3. Recompute the target assignment when it is older than the group epoch.
        ComputeTargetIfStale();

        // 4. Move this member one step toward its target.
        member = Reconcile(Model.Members[member.MemberId], request.OwnedPartitions, now);

        return new(_pending, Reply(member));
    }

    /// <summary>Removes a member that leaves on purpose; its partitions go to the others right away.</summary>
    public GroupResult<bool> Leave(string memberId)
    {
        _pending = [];
        if (!Model.Members.ContainsKey(memberId))
        {
            throw new UnknownMemberException(Model.GroupId, memberId);
        }
        RemoveMembers([(memberId, "left the group")]);
        return new(_pending, true);
    }

    /// <summary>Evicts members whose session expired or who kept revoked partitions past their rebalance timeout.</summary>
    public GroupResult<IReadOnlyList<string>> ExpireMembers()
    {
        _pending = [];
        var now = _time.GetUtcNow();
        var expired = new List<(string, string)>();
        foreach (var member in Model.Members.Values)
        {
            if (_sessionDeadlines.TryGetValue(member.MemberId, out var deadline) && deadline <= now)
            {
                expired.Add((member.MemberId, $"session timeout ({member.SessionTimeoutMs} ms)"));
            }
            else if (member.State == MemberState.UnrevokedPartitions &&
                     _revocationDeadlines.TryGetValue(member.MemberId, out var revokeBy) && revokeBy <= now)
            {
                expired.Add((member.MemberId, $"rebalance timeout ({member.RebalanceTimeoutMs} ms) while revoking"));
            }
        }
        if (expired.Count > 0)
        {
            RemoveMembers(expired);
        }
        return new(_pending, expired.Select(e => e.Item1).ToList());
    }

    /// <summary>
    /// Commits offsets, all or nothing. Only the member that owns a partition (assigned or still releasing it)
    /// may commit it, so a zombie never overwrites a newer owner's position. A simple commit (no member, epoch -1)
    /// is accepted only while the group is empty, as in Kafka.
    /// </summary>
    public GroupResult<bool> Commit(CommitRequest request)
    {
        _pending = [];
        foreach (var offset in request.Offsets)
        {
            if (offset.Offset < 0)
            {
                throw new InvalidRequestException($"Cannot commit negative offset {offset.Offset} for {offset.Partition}.");
            }
        }
        if (string.IsNullOrEmpty(request.MemberId) && request.MemberEpoch < 0)
        {
            if (Model.Members.Count > 0)
            {
                throw new NonEmptyGroupException(Model.GroupId, Model.Members.Count);
            }
        }
        else
        {
            if (!Model.Members.TryGetValue(request.MemberId, out var member))
            {
                throw new UnknownMemberException(Model.GroupId, request.MemberId);
            }
            if (request.MemberEpoch > member.MemberEpoch)
            {
                throw new FencedMemberEpochException(Model.GroupId, request.MemberId, request.MemberEpoch, member.MemberEpoch);
            }
            var notOwned = request.Offsets.Select(o => o.Partition).Where(p => !member.Owns(p)).ToList();
            if (notOwned.Count > 0)
            {
                throw new StaleMemberEpochException(Model.GroupId, request.MemberId, request.MemberEpoch, member.MemberEpoch,
                    $"it does not own {string.Join(", ", notOwned)}");
            }
        }
        var timestamp = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var offset in request.Offsets)
        {
            Emit(new OffsetCommitted(offset.Partition, new CommittedOffset(offset.Offset, offset.Metadata, timestamp, request.MemberEpoch)));
        }
        return new(_pending, true);
    }

    /// <summary>The group as describe shows it.</summary>
    public GroupDescription Describe() => new(
        Model.GroupId, Model.State, Model.GroupEpoch, Model.AssignmentEpoch, Model.Assignor,
        Model.Members.Values.OrderBy(m => m.MemberId, StringComparer.Ordinal).Select(m => new MemberDescription(
            m.MemberId, m.InstanceId, m.ClientId, m.MemberEpoch, m.State, [.. m.SubscribedTopics],
            [.. m.AssignedPartitions], [.. m.PartitionsPendingRevocation], [.. Model.TargetOf(m.MemberId).Order()])).ToList(),
        new Dictionary<TopicPartition, CommittedOffset>(Model.Offsets));

    private void RemoveMembers(IReadOnlyList<(string MemberId, string Reason)> members)
    {
        foreach (var (memberId, reason) in members)
        {
            Emit(new MemberRemoved(memberId, reason));
            _sessionDeadlines.Remove(memberId);
            _revocationDeadlines.Remove(memberId);
        }
        BumpEpochIfNeeded(membershipChanged: true, Model.SubscribedPartitionCounts);
        ComputeTargetIfStale();
    }

    private void BumpEpochIfNeeded(bool membershipChanged, IReadOnlyDictionary<string, int> partitionCounts)
    {
        var subscribed = SubscribedTopics();
        var counts = partitionCounts.Where(c => subscribed.Contains(c.Key))
            .ToImmutableSortedDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal);
        var metadataChanged = counts.Count != Model.SubscribedPartitionCounts.Count ||
                              counts.Any(c => !Model.SubscribedPartitionCounts.TryGetValue(c.Key, out var n) || n != c.Value);
        if (membershipChanged || metadataChanged)
        {
            Emit(new GroupEpochBumped(Model.GroupEpoch + 1, counts));
        }
    }

    private void ComputeTargetIfStale()
    {
        if (Model.AssignmentEpoch >= Model.GroupEpoch)
        {
            return;
        }
        // The previous target is the assignor's "current assignment", so a sticky assignor moves as little as it can.
        var spec = new GroupSpec(Model.Members.Values
            .OrderBy(m => m.MemberId, StringComparer.Ordinal)
            .Select(m => new AssignmentMember(m.MemberId, m.SubscribedTopics, Model.TargetOf(m.MemberId)))
            .ToList());
        var assignment = _assignor.Assign(spec, new TopicMetadata(Model.SubscribedPartitionCounts));
        Emit(new TargetAssignmentComputed(Model.GroupEpoch, assignment.Partitions));
    }

    private GroupMember Reconcile(GroupMember member, IReadOnlyList<TopicPartition>? ownedPartitions, DateTimeOffset now)
    {
        var next = member;
        switch (member.State)
        {
            case MemberState.UnrevokedPartitions:
                // Still waiting for the member to confirm it dropped the revoked partitions; it confirms by
                // heartbeating an owned set without them.
                if (ownedPartitions is null || ownedPartitions.Any(member.PartitionsPendingRevocation.Contains))
                {
                    return member;
                }
                next = member with { PartitionsPendingRevocation = [] };
                _revocationDeadlines.Remove(member.MemberId);
                next = Converge(next, now);
                break;
            case MemberState.Stable:
            case MemberState.UnreleasedPartitions:
                // Revoke what is no longer targeted first; only then take new partitions that are free.
                next = Converge(member, now);
                break;
        }
        if (!next.SameAs(member))
        {
            Emit(new MemberUpserted(next));
        }
        return next;
    }

    private GroupMember Converge(GroupMember member, DateTimeOffset now)
    {
        var target = Model.TargetOf(member.MemberId);
        var toRevoke = member.AssignedPartitions.Except(target);
        if (!toRevoke.IsEmpty)
        {
            _revocationDeadlines[member.MemberId] = now.AddMilliseconds(member.RebalanceTimeoutMs);
            return member with
            {
                State = MemberState.UnrevokedPartitions,
                AssignedPartitions = member.AssignedPartitions.Intersect(target),
                PartitionsPendingRevocation = toRevoke,
            };
        }
        var free = target.Where(p => !member.AssignedPartitions.Contains(p) && Model.OwnerOf(p) is null);
        var assigned = member.AssignedPartitions.Union(free);
        return member with
        {
            MemberEpoch = Model.AssignmentEpoch,
            AssignedPartitions = assigned,
            State = assigned.SetEquals(target) ? MemberState.Stable : MemberState.UnreleasedPartitions,
        };
    }

    private HeartbeatResponse Reply(GroupMember member) => new(
        member.MemberId,
        member.MemberEpoch,
        member.State == MemberState.Stable && member.MemberEpoch == Model.GroupEpoch
            ? _options.HeartbeatIntervalMs
            : _options.ReconcilingHeartbeatIntervalMs,
        [.. member.AssignedPartitions],
        member.State,
        Model.GroupEpoch);

    private int ClampSessionTimeout(int requested) =>
        requested <= 0 ? _options.DefaultSessionTimeoutMs
            : Math.Clamp(requested, _options.MinSessionTimeoutMs, _options.MaxSessionTimeoutMs);

    private void Emit(GroupEvent groupEvent)
    {
        Model.Apply(groupEvent);
        _pending.Add(groupEvent);
    }
}
