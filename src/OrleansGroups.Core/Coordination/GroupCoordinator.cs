using System.Collections.Immutable;
using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Coordination;

/// <summary>Events a handler produced (already applied to the model) and its reply.</summary>
/// <param name="Events">What changed, already applied.</param>
/// <param name="Response">The reply.</param>
/// <param name="MustConfirm">
/// True when the reply confirms an assignment the group may no longer back from memory: the host must write the
/// group (ETag-checked, see <see cref="GroupCoordinator.ToSnapshot"/>) before replying, even with no event.
/// </param>
public readonly record struct GroupResult<T>(IReadOnlyList<GroupEvent> Events, T Response, bool MustConfirm = false)
{
    /// <summary>True when the handler changed the group, which must then be persisted.</summary>
    public bool Changed => Events.Count > 0;

    /// <summary>True when the host must write the group before replying: it changed, or the reply needs a fresh write behind it.</summary>
    public bool MustPersist => Changed || MustConfirm;
}

/// <summary>
/// Decides what a heartbeat, leave, commit, expiry or admin request does to a <see cref="ConsumerGroupModel"/>,
/// following Kafka's KIP-848 protocol (with KIP-345 static members and KIP-211 offsets retention): the group computes a target assignment server-side, and each member converges
/// to it incrementally — a partition reaches its new owner only after the previous owner released it, and
/// members whose partitions do not move never pause. Pure: time comes from the injected
/// <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// <para><b>One live group state.</b> Orleans may run two activations of one group for a while (a silo paused past
/// its membership timeout, then resumed). Every change is an ETag-checked write, so only one of them can change the
/// group; but a heartbeat that changes nothing would confirm the member's assignment from memory, and a stale
/// activation could go on confirming assignments the live one already moved. So a reply is backed by storage: it may
/// come from memory only while the member's last-seen time <i>as last written</i> is at most
/// <c>S = min(MaxConfirmationStalenessMs, session / 3)</c> old; otherwise the heartbeat asks the host for a write
/// (<see cref="GroupResult{T}.MustConfirm"/>), which records every member's last-seen and fails on a stale activation.</para>
/// <para><b>Liveness survives a move.</b> Session clocks are kept as last-seen times and written with the group. A
/// reloaded group gives each member until <c>last-seen + session + S</c>. Why that is safe and tight: any confirmation
/// the old activation gave at time c came with a written last-seen ≥ c − S, so the new deadline is ≥ c + session,
/// which is when the member itself gives its partitions up without a confirmation (no partition is handed to a new
/// owner while the old one may still consume). And a member that died at h had a written last-seen ≥ h − S, so it is
/// evicted by h + session + S. Worked example with the defaults (session 45 s, S = 10 s): a member last heard at
/// 12:00:00 whose last-seen was written at 11:59:52 is evicted by a reloaded group at 12:00:47 at the latest (45 + 10 s
/// after 11:59:52), never before 12:00:45.</para>
/// </remarks>
public sealed class GroupCoordinator
{
    private readonly GroupCoordinatorOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, DateTimeOffset> _sessionDeadlines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _revocationDeadlines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _lastSeen = new(StringComparer.Ordinal);
    private Dictionary<string, DateTimeOffset> _writtenLastSeen = new(StringComparer.Ordinal);
    private List<GroupEvent> _pending = [];

    /// <summary>The member epoch of a simple (admin) commit, which only an empty group accepts.</summary>
    public const int AdminMemberEpoch = -1;

    /// <summary>
    /// Wraps a model. A member with a written last-seen (<paramref name="lastSeenMs"/>, unix ms) keeps its session clock:
    /// its deadline is last-seen + session + its confirmation staleness (see the remarks); one without gets a fresh session.
    /// </summary>
    public GroupCoordinator(ConsumerGroupModel model, GroupCoordinatorOptions options, TimeProvider time,
        IReadOnlyDictionary<string, long>? lastSeenMs = null)
    {
        Model = model;
        _options = options;
        _time = time;
        var now = _time.GetUtcNow();
        foreach (var member in model.Members.Values)
        {
            if (lastSeenMs is not null && lastSeenMs.TryGetValue(member.MemberId, out var seenMs))
            {
                var seen = DateTimeOffset.FromUnixTimeMilliseconds(seenMs);
                _lastSeen[member.MemberId] = seen;
                _writtenLastSeen[member.MemberId] = seen;
                _sessionDeadlines[member.MemberId] = seen.AddMilliseconds(member.SessionTimeoutMs + ConfirmationStalenessMs(member));
            }
            else
            {
                _sessionDeadlines[member.MemberId] = now.AddMilliseconds(member.SessionTimeoutMs);
            }
            if (member.State == MemberState.UnrevokedPartitions)
            {
                _revocationDeadlines[member.MemberId] = now.AddMilliseconds(member.RebalanceTimeoutMs);
            }
        }
    }

    /// <summary>The group state.</summary>
    public ConsumerGroupModel Model { get; }

    /// <summary>Rebuilds a group and its members' session clocks from its persisted form.</summary>
    public static GroupCoordinator FromSnapshot(
        string groupId, GroupSnapshot snapshot, string defaultAssignor, GroupCoordinatorOptions options, TimeProvider time) =>
        new(ConsumerGroupModel.FromSnapshot(groupId, snapshot, defaultAssignor), options, time, snapshot.MemberLastSeenMs);

    /// <summary>
    /// The group in its persisted form, with every member's last-seen time. After the host wrote it, it calls
    /// <see cref="Written"/>.
    /// </summary>
    public GroupSnapshot ToSnapshot()
    {
        var snapshot = Model.ToSnapshot();
        foreach (var member in snapshot.Members)
        {
            if (_lastSeen.TryGetValue(member.MemberId, out var seen))
            {
                snapshot.MemberLastSeenMs[member.MemberId] = seen.ToUnixTimeMilliseconds();
            }
        }
        return snapshot;
    }

    /// <summary>Records that <paramref name="snapshot"/> (from <see cref="ToSnapshot"/>) is now stored: its last-seen times back later replies.</summary>
    public void Written(GroupSnapshot snapshot) =>
        _writtenLastSeen = snapshot.MemberLastSeenMs.ToDictionary(
            s => s.Key, s => DateTimeOffset.FromUnixTimeMilliseconds(s.Value), StringComparer.Ordinal);

    /// <summary>
    /// How stale the written last-seen of <paramref name="member"/> may be before a reply to it needs a write:
    /// <see cref="GroupCoordinatorOptions.MaxConfirmationStalenessMs"/>, at most a third of its session timeout.
    /// </summary>
    public int ConfirmationStalenessMs(GroupMember member) =>
        Math.Min(_options.MaxConfirmationStalenessMs, member.SessionTimeoutMs / 3);

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

        // 1. Validate the member and its epoch. A leave epoch leaves; a join creates (or resets) the member, and a
        //    static member's join takes over its previous incarnation.
        if (string.IsNullOrWhiteSpace(request.MemberId))
        {
            throw new InvalidRequestException("A heartbeat needs a member id.");
        }
        if (request.InstanceId is not null && string.IsNullOrWhiteSpace(request.InstanceId))
        {
            throw new InvalidRequestException("A static instance id (group.instance.id) cannot be blank; use null for a dynamic member.");
        }
        if (request.MemberEpoch is MemberEpochs.Leave or MemberEpochs.TemporaryLeave)
        {
            return LeaveGroup(request);
        }
        if (request.MemberEpoch < 0)
        {
            throw new InvalidRequestException(
                $"Member epoch {request.MemberEpoch} is not valid: use 0 to join, -1 to leave, -2 for a static member to leave temporarily.");
        }
        var membershipChanged = false;
        GroupMember member;
        Model.Members.TryGetValue(request.MemberId, out var existing);
        var staticHolder = request.InstanceId is null ? null : Model.StaticMember(request.InstanceId);
        if (request.MemberEpoch == MemberEpochs.Join && staticHolder is not null)
        {
            (member, membershipChanged) = ReplaceStaticMember(staticHolder, existing, request);
        }
        else if (request.MemberEpoch == MemberEpochs.Join)
        {
            if (existing is null && Model.Members.Count >= _options.MaxGroupSize)
            {
                // group.max.size: a new member would grow the group past its bound (a rejoin or a static takeover does not).
                throw new GroupMaxSizeReachedException(Model.GroupId, _options.MaxGroupSize);
            }
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
                [], [], ClampSessionTimeout(request.SessionTimeoutMs), RebalanceTimeout(request.RebalanceTimeoutMs),
                CanonicalAssignor(request.ServerAssignor));
            Emit(new MemberUpserted(member));
            membershipChanged = true;
        }
        else
        {
            if (staticHolder is not null && staticHolder.MemberId != request.MemberId)
            {
                // A newer incarnation took the instance id: this one must stop rather than rejoin and fence it back.
                throw new FencedInstanceIdException(Model.GroupId, request.MemberId, request.InstanceId!, staticHolder.MemberId);
            }
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
            var assignor = request.ServerAssignor is null ? member.ServerAssignor : CanonicalAssignor(request.ServerAssignor);
            if ((request.SubscribedTopics is not null && !member.SubscribedTopics.SetEquals(request.SubscribedTopics)) ||
                assignor != member.ServerAssignor)
            {
                // A new subscription or assignor preference changes what the group must compute: as Kafka, a new epoch.
                member = member with
                {
                    SubscribedTopics = request.SubscribedTopics?.ToImmutableSortedSet(StringComparer.Ordinal) ?? member.SubscribedTopics,
                    ServerAssignor = assignor,
                };
                Emit(new MemberUpserted(member));
                membershipChanged = true;
            }
        }
        _sessionDeadlines[member.MemberId] = now.AddMilliseconds(member.SessionTimeoutMs);
        _lastSeen[member.MemberId] = now;

        // 2. Bump the group epoch on a membership, subscription or partition-count change.
        BumpEpochIfNeeded(membershipChanged, partitionCounts);

        // 3. Recompute the target assignment when it is older than the group epoch.
        ComputeTargetIfStale();

        // 4. Move this member one step toward its target.
        member = Reconcile(Model.Members[member.MemberId], request.OwnedPartitions, now);

        // 5. Back the reply with storage: a change is written anyway; a bare confirmation needs a write once the member's
        //    written last-seen is older than its staleness bound (see the class remarks), so a stale activation fails.
        var confirmedInStorage = _writtenLastSeen.TryGetValue(member.MemberId, out var written) &&
                                 now - written <= TimeSpan.FromMilliseconds(ConfirmationStalenessMs(member));
        return new(_pending, Reply(member), MustConfirm: !confirmedInStorage);
    }

    /// <summary>
    /// KIP-345: a static member that joins again (a restart, or a second process with the same instance id) takes
    /// the place of the member holding its instance id, with its partitions and target, so the group does not
    /// rebalance. The new incarnation holds nothing yet, so whatever the previous one was told to give up counts as
    /// released; it keeps the partitions it still targets, and the previous member id is fenced.
    /// </summary>
    private (GroupMember Member, bool MembershipChanged) ReplaceStaticMember(GroupMember previous, GroupMember? existing, HeartbeatRequest request)
    {
        var membershipChanged = false;
        if (existing is not null && existing.MemberId != previous.MemberId)
        {
            // The new incarnation reuses the id of some other member: that one is gone.
            Emit(new MemberRemoved(existing.MemberId, "rejoined"));
            ForgetDeadlines(existing.MemberId);
            membershipChanged = true;
        }
        var topics = request.SubscribedTopics?.ToImmutableSortedSet(StringComparer.Ordinal) ?? previous.SubscribedTopics;
        var assignor = request.ServerAssignor is null ? previous.ServerAssignor : CanonicalAssignor(request.ServerAssignor);
        var kept = previous.AssignedPartitions.Intersect(Model.TargetOf(previous.MemberId));
        var replacement = previous with
        {
            MemberId = request.MemberId,
            ClientId = request.ClientId,
            SubscribedTopics = topics,
            MemberEpoch = MemberEpochs.Join,
            State = MemberState.Stable,
            AssignedPartitions = kept,
            PartitionsPendingRevocation = [],
            SessionTimeoutMs = ClampSessionTimeout(request.SessionTimeoutMs),
            RebalanceTimeoutMs = RebalanceTimeout(request.RebalanceTimeoutMs),
            ServerAssignor = assignor,
        };
        Emit(new MemberReplaced(previous.MemberId, replacement));
        ForgetDeadlines(previous.MemberId);
        // Only a different subscription or assignor changes what the group must assign.
        return (replacement, membershipChanged || !topics.SetEquals(previous.SubscribedTopics) || assignor != previous.ServerAssignor);
    }

    /// <summary>
    /// A heartbeat with a leave epoch. A dynamic member, or a static one sending -1, leaves for good. A static member
    /// sending -2 leaves temporarily, as a Kafka consumer with <c>group.instance.id</c> does on close: it keeps its
    /// assignment (the partitions wait for it) until it rejoins or its session times out, so a restart moves nothing.
    /// </summary>
    private GroupResult<HeartbeatResponse> LeaveGroup(HeartbeatRequest request)
    {
        GroupMember member;
        if (request.InstanceId is null)
        {
            member = Model.Members.GetValueOrDefault(request.MemberId) ?? throw new UnknownMemberException(Model.GroupId, request.MemberId);
        }
        else
        {
            member = Model.StaticMember(request.InstanceId) ?? throw new UnknownMemberException(Model.GroupId, request.MemberId);
            if (member.MemberId != request.MemberId)
            {
                throw new FencedInstanceIdException(Model.GroupId, request.MemberId, request.InstanceId, member.MemberId);
            }
        }
        if (request.InstanceId is not null && request.MemberEpoch == MemberEpochs.TemporaryLeave)
        {
            // The member stopped, so what it was releasing is released; its session clock keeps running from its
            // last heartbeat, as in Kafka.
            var left = member with
            {
                MemberEpoch = MemberEpochs.TemporaryLeave,
                PartitionsPendingRevocation = [],
                State = member.AssignedPartitions.SetEquals(Model.TargetOf(member.MemberId)) ? MemberState.Stable : MemberState.UnreleasedPartitions,
            };
            _revocationDeadlines.Remove(member.MemberId);
            if (!left.SameAs(member))
            {
                Emit(new MemberUpserted(left));
            }
            member = left;
        }
        else
        {
            RemoveMembers([(member.MemberId, "left the group")]);
        }
        return new(_pending, new HeartbeatResponse(
            request.MemberId, request.MemberEpoch, _options.HeartbeatIntervalMs, [], member.State, Model.GroupEpoch));
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

    /// <summary>
    /// Expires the committed offsets of an empty group (KIP-211): an offset goes once <paramref name="retention"/> has
    /// passed since the group became empty, or since the offset was committed if that is later (an admin reset of an
    /// empty group restarts the clock of what it wrote). A group with members keeps all its offsets. A group left
    /// with no members and no offsets, empty for a whole retention, is deleted (<see cref="GroupDeleted"/>), as
    /// Kafka's offset cleanup deletes it. Returns the expired partitions.
    /// </summary>
    /// <remarks>
    /// Worked example, retention 7 days: the last member leaves on day 0 with t/0 committed on day -3; an admin
    /// resets t/1 on day 2. On day 7 t/0 expires (7 days after the group emptied; its commit is older); t/1 expires
    /// on day 9, and the group, now without offsets and empty since day 0, is deleted with it.
    /// </remarks>
    public GroupResult<IReadOnlyList<TopicPartition>> ExpireOffsets(TimeSpan retention)
    {
        _pending = [];
        if (Model.Members.Count > 0 || !Model.HasState)
        {
            return new([], []);
        }
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var retentionMs = (long)retention.TotalMilliseconds;
        var emptySince = Model.EmptySinceMs ?? 0;
        var expired = Model.Offsets
            .Where(o => now - Math.Max(emptySince, o.Value.CommitTimestampMs) >= retentionMs)
            .Select(o => o.Key)
            .Order()
            .ToList();
        foreach (var partition in expired)
        {
            Emit(new OffsetExpired(partition));
        }
        if (Model.Offsets.Count == 0 && now - emptySince >= retentionMs)
        {
            Emit(new GroupDeleted());
        }
        return new(_pending, expired);
    }

    /// <summary>
    /// Deletes the group, its offsets and epochs, with Kafka's rules: only a group without members can be deleted
    /// (<see cref="NonEmptyGroupException"/>), and only one that exists (<see cref="GroupIdNotFoundException"/>).
    /// The caller removes the persisted state and the registry entry when it sees <see cref="GroupDeleted"/>.
    /// </summary>
    public GroupResult<bool> DeleteGroup()
    {
        _pending = [];
        if (!Model.HasState)
        {
            throw new GroupIdNotFoundException(Model.GroupId);
        }
        if (Model.Members.Count > 0)
        {
            throw new NonEmptyGroupException(Model.GroupId, Model.Members.Count);
        }
        Emit(new GroupDeleted());
        return new(_pending, true);
    }

    /// <summary>
    /// Resets committed offsets, only while the group has no members (<see cref="NonEmptyGroupException"/>), as
    /// Kafka's <c>--reset-offsets</c>: the plan comes from <see cref="OffsetResetPlanner"/> and is committed as an
    /// admin commit (member epoch -1) unless <paramref name="dryRun"/>, which changes nothing.
    /// </summary>
    /// <param name="spec">Where to move the offsets.</param>
    /// <param name="partitions">The partitions to reset with their log bounds (and, for a datetime reset, their offset for the time).</param>
    /// <param name="dryRun">Plan only.</param>
    public GroupResult<IReadOnlyList<OffsetResetResult>> ResetOffsets(OffsetResetSpec spec, IReadOnlyList<PartitionLogBounds> partitions, bool dryRun)
    {
        _pending = [];
        if (Model.Members.Count > 0)
        {
            throw new NonEmptyGroupException(Model.GroupId, Model.Members.Count);
        }
        var plan = OffsetResetPlanner.Plan(spec, partitions, Model.Offsets);
        if (dryRun || plan.Count == 0)
        {
            return new([], plan);
        }
        var committed = Commit(new CommitRequest("", AdminMemberEpoch,
            plan.Select(p => new PartitionOffset(p.Partition, p.NewOffset)).ToList()));
        return new(committed.Events, plan);
    }

    /// <summary>
    /// Members whose next heartbeat would move a partition: they hold partitions no longer targeted to them, or a
    /// partition they want has become free. Members that only need the new epoch are left out (they keep consuming
    /// and catch up at their regular heartbeat, which saves a state write each), and so are members still confirming
    /// a revocation (they act on their own side first, and already heartbeat fast).
    /// </summary>
    public IReadOnlyList<string> MembersThatCanProgress() => Model.Members.Values
        .Where(m => m.State != MemberState.UnrevokedPartitions)
        .Where(m =>
        {
            var target = Model.TargetOf(m.MemberId);
            return m.AssignedPartitions.Any(p => !target.Contains(p)) ||
                   target.Any(p => !m.AssignedPartitions.Contains(p) && Model.OwnerOf(p) is null);
        })
        .Select(m => m.MemberId)
        .ToList();

    /// <summary>The group as describe shows it.</summary>
    public GroupDescription Describe() => new(
        Model.GroupId, Model.State, Model.GroupEpoch, Model.AssignmentEpoch, Model.Assignor,
        Model.Members.Values.OrderBy(m => m.MemberId, StringComparer.Ordinal).Select(m => new MemberDescription(
            m.MemberId, m.InstanceId, m.ClientId, m.MemberEpoch, m.State, [.. m.SubscribedTopics],
            [.. m.AssignedPartitions], [.. m.PartitionsPendingRevocation], [.. Model.TargetOf(m.MemberId).Order()], m.ServerAssignor)).ToList(),
        new Dictionary<TopicPartition, CommittedOffset>(Model.Offsets));

    private void RemoveMembers(IReadOnlyList<(string MemberId, string Reason)> members)
    {
        foreach (var (memberId, reason) in members)
        {
            Emit(new MemberRemoved(memberId, reason));
            ForgetDeadlines(memberId);
        }
        BumpEpochIfNeeded(membershipChanged: true, Model.SubscribedPartitionCounts);
        ComputeTargetIfStale();
        if (Model.Members.Count == 0)
        {
            Emit(new GroupEmptied(_time.GetUtcNow().ToUnixTimeMilliseconds()));
        }
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
        var preferred = PreferredAssignor();
        if (preferred != Model.Assignor)
        {
            Emit(new AssignorSelected(preferred));
        }
        var assignment = Assignors.Get(Model.Assignor).Assign(spec, new TopicMetadata(Model.SubscribedPartitionCounts));
        Emit(new TargetAssignmentComputed(Model.GroupEpoch, assignment.Partitions));
    }

    /// <summary>
    /// The assignor most members ask for, as Kafka's <c>computePreferredServerAssignor</c>; on a tie the group keeps the
    /// one it uses (so a tie never flips the assignment back and forth), else the first by name. Without any
    /// preference, the default.
    /// </summary>
    private string PreferredAssignor()
    {
        var votes = Model.Members.Values.Where(m => m.ServerAssignor is not null)
            .GroupBy(m => m.ServerAssignor!, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Count: g.Count()))
            .ToList();
        if (votes.Count == 0)
        {
            return Assignors.Canonical(Model.DefaultAssignor);
        }
        var most = votes.Max(v => v.Count);
        var leaders = votes.Where(v => v.Count == most).Select(v => v.Name).Order(StringComparer.Ordinal).ToList();
        return leaders.Contains(Model.Assignor) ? Model.Assignor : leaders[0];
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

    /// <summary>The canonical name of a requested assignor (Kafka answers an unknown one with UNSUPPORTED_ASSIGNOR).</summary>
    private static string? CanonicalAssignor(string? requested) => requested is null ? null : Assignors.Canonical(requested);

    private int RebalanceTimeout(int requested) =>
        requested > 0 ? Math.Min(requested, _options.MaxRebalanceTimeoutMs) : _options.DefaultRebalanceTimeoutMs;

    private void ForgetDeadlines(string memberId)
    {
        _sessionDeadlines.Remove(memberId);
        _revocationDeadlines.Remove(memberId);
        _lastSeen.Remove(memberId);
    }

    private int ClampSessionTimeout(int requested) =>
        requested <= 0 ? _options.DefaultSessionTimeoutMs
            : Math.Clamp(requested, _options.MinSessionTimeoutMs, _options.MaxSessionTimeoutMs);

    private void Emit(GroupEvent groupEvent)
    {
        Model.Apply(groupEvent);
        _pending.Add(groupEvent);
    }
}
