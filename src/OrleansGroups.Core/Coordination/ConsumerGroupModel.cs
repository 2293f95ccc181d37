using System.Collections.Immutable;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Coordination;

/// <summary>
/// The state of one consumer group: members, epochs, target assignment and committed offsets.
/// Changes only through <see cref="Apply"/>; decisions live in <see cref="GroupCoordinator"/>.
/// </summary>
public sealed class ConsumerGroupModel
{
    private readonly Dictionary<string, GroupMember> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<TopicPartition, CommittedOffset> _offsets = new();
    private Dictionary<string, IReadOnlySet<TopicPartition>> _target = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, int> _subscribedPartitionCounts = ImmutableDictionary<string, int>.Empty;

    /// <summary>Creates an empty group that uses <paramref name="defaultAssignor"/> until its members prefer another.</summary>
    public ConsumerGroupModel(string groupId, string defaultAssignor)
    {
        GroupId = groupId;
        DefaultAssignor = defaultAssignor;
        Assignor = defaultAssignor;
    }

    /// <summary>The group id.</summary>
    public string GroupId { get; }

    /// <summary>The assignor used when no member states a preference (the silo's configured default).</summary>
    public string DefaultAssignor { get; }

    /// <summary>Name of the server-side assignor the group uses.</summary>
    public string Assignor { get; private set; }

    /// <summary>Bumped on every membership, subscription or metadata change.</summary>
    public int GroupEpoch { get; private set; }

    /// <summary>The group epoch the current target assignment was computed for.</summary>
    public int AssignmentEpoch { get; private set; }

    /// <summary>Members by id.</summary>
    public IReadOnlyDictionary<string, GroupMember> Members => _members;

    /// <summary>Target assignment by member id.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<TopicPartition>> TargetAssignment => _target;

    /// <summary>Partition counts of the subscribed topics the target was computed from.</summary>
    public IReadOnlyDictionary<string, int> SubscribedPartitionCounts => _subscribedPartitionCounts;

    /// <summary>Committed offsets.</summary>
    public IReadOnlyDictionary<TopicPartition, CommittedOffset> Offsets => _offsets;

    /// <summary>
    /// When the group last became empty (unix ms), or null while it has members (or never had any). Offsets of an
    /// empty group expire <c>offsets.retention</c> after this (KIP-211).
    /// </summary>
    public long? EmptySinceMs { get; private set; }

    /// <summary>
    /// True once the group has had a member or a commit, until it is deleted. A group without state is one that was
    /// never used: it is not listed and cannot be deleted (Kafka's GROUP_ID_NOT_FOUND).
    /// </summary>
    public bool HasState => GroupEpoch > 0 || _members.Count > 0 || _offsets.Count > 0;

    /// <summary>Empty, reconciling or stable.</summary>
    public GroupState State =>
        _members.Count == 0 ? GroupState.Empty
        : _members.Values.All(m => m.State == MemberState.Stable && m.MemberEpoch == AssignmentEpoch) && AssignmentEpoch == GroupEpoch
            ? GroupState.Stable
            : GroupState.Reconciling;

    /// <summary>The member that owns the partition (assigned or pending revocation), if any.</summary>
    public GroupMember? OwnerOf(TopicPartition partition) =>
        _members.Values.FirstOrDefault(m => m.Owns(partition));

    /// <summary>The member holding static instance id <paramref name="instanceId"/>, if any (at most one does).</summary>
    public GroupMember? StaticMember(string instanceId) =>
        _members.Values.FirstOrDefault(m => m.InstanceId == instanceId);

    /// <summary>Target partitions of a member (empty when it has none).</summary>
    public IReadOnlySet<TopicPartition> TargetOf(string memberId) =>
        _target.TryGetValue(memberId, out var set) ? set : ImmutableSortedSet<TopicPartition>.Empty;

    /// <summary>Applies one event. Throws when the event breaks an invariant.</summary>
    public void Apply(GroupEvent groupEvent)
    {
        switch (groupEvent)
        {
            case MemberUpserted(var member):
                CheckOwnership(member, replacing: member.MemberId);
                _members[member.MemberId] = member;
                EmptySinceMs = null;
                break;
            case MemberReplaced(var previousId, var member):
                if (!_members.TryGetValue(previousId, out var previous) || previous.InstanceId is null || previous.InstanceId != member.InstanceId)
                {
                    throw new InvalidOperationException(
                        $"Group '{GroupId}': '{member.MemberId}' can only replace a static member with instance id '{member.InstanceId}', not '{previousId}'.");
                }
                if (member.MemberId != previousId && _members.ContainsKey(member.MemberId))
                {
                    throw new InvalidOperationException($"Group '{GroupId}': '{member.MemberId}' replaces '{previousId}' but is already a member.");
                }
                CheckOwnership(member, replacing: previousId);
                _members.Remove(previousId);
                _members[member.MemberId] = member;
                if (_target.Remove(previousId, out var inherited))
                {
                    _target[member.MemberId] = inherited;
                }
                break;
            case MemberRemoved(var memberId, _):
                _members.Remove(memberId);
                _target.Remove(memberId);
                break;
            case GroupEpochBumped(var epoch, var counts):
                if (epoch <= GroupEpoch)
                {
                    throw new InvalidOperationException($"Group '{GroupId}': epoch must grow, got {epoch} after {GroupEpoch}.");
                }
                GroupEpoch = epoch;
                _subscribedPartitionCounts = counts;
                break;
            case TargetAssignmentComputed(var epoch, var target):
                AssignmentEpoch = epoch;
                _target = new Dictionary<string, IReadOnlySet<TopicPartition>>(target, StringComparer.Ordinal);
                break;
            case AssignorSelected(var assignor):
                Assignor = assignor;
                break;
            case OffsetCommitted(var partition, var offset):
                _offsets[partition] = offset;
                break;
            case GroupEmptied(var atMs):
                if (_members.Count > 0)
                {
                    throw new InvalidOperationException($"Group '{GroupId}': cannot be empty with {_members.Count} member(s).");
                }
                EmptySinceMs = atMs;
                break;
            case OffsetExpired(var partition):
                if (_members.Count > 0 || !_offsets.Remove(partition))
                {
                    throw new InvalidOperationException(
                        $"Group '{GroupId}': the offset of {partition} can only expire while the group is empty and has one ({_members.Count} member(s)).");
                }
                break;
            case GroupDeleted:
                if (_members.Count > 0)
                {
                    throw new InvalidOperationException($"Group '{GroupId}': cannot delete a group with {_members.Count} member(s).");
                }
                GroupEpoch = 0;
                AssignmentEpoch = 0;
                _target.Clear();
                _subscribedPartitionCounts = ImmutableDictionary<string, int>.Empty;
                _offsets.Clear();
                EmptySinceMs = null;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(groupEvent), groupEvent.GetType().Name, "Unknown group event.");
        }
    }

    /// <summary>
    /// Throws unless every partition <paramref name="member"/> owns is free or owned by <paramref name="replacing"/>,
    /// and unless its static instance id is free or held by <paramref name="replacing"/>.
    /// </summary>
    private void CheckOwnership(GroupMember member, string replacing)
    {
        foreach (var partition in member.AssignedPartitions.Concat(member.PartitionsPendingRevocation))
        {
            var owner = OwnerOf(partition);
            if (owner is not null && owner.MemberId != replacing)
            {
                throw new InvalidOperationException(
                    $"Group '{GroupId}': partition {partition} given to '{member.MemberId}' is still owned by '{owner.MemberId}'.");
            }
        }
        if (member.InstanceId is { } instanceId && StaticMember(instanceId) is { } holder && holder.MemberId != replacing)
        {
            throw new InvalidOperationException(
                $"Group '{GroupId}': instance id '{instanceId}' given to '{member.MemberId}' is still held by '{holder.MemberId}'.");
        }
    }

    /// <summary>Copies the state into its persistable form.</summary>
    public GroupSnapshot ToSnapshot() => new()
    {
        GroupEpoch = GroupEpoch,
        AssignmentEpoch = AssignmentEpoch,
        Assignor = Assignor,
        Members = _members.Values.OrderBy(m => m.MemberId, StringComparer.Ordinal).Select(MemberSnapshot.From).ToList(),
        Target = _target.OrderBy(t => t.Key, StringComparer.Ordinal)
            .Select(t => new TargetSnapshot { MemberId = t.Key, Partitions = t.Value.Order().ToList() }).ToList(),
        SubscribedPartitionCounts = new Dictionary<string, int>(_subscribedPartitionCounts),
        Offsets = _offsets.OrderBy(o => o.Key)
            .Select(o => new OffsetSnapshot { Partition = o.Key, Offset = o.Value }).ToList(),
        EmptySinceMs = EmptySinceMs,
    };

    /// <summary>Rebuilds a group from its persisted form.</summary>
    public static ConsumerGroupModel FromSnapshot(string groupId, GroupSnapshot snapshot, string defaultAssignor)
    {
        var model = new ConsumerGroupModel(groupId, defaultAssignor)
        {
            Assignor = string.IsNullOrEmpty(snapshot.Assignor) ? defaultAssignor : snapshot.Assignor,
            GroupEpoch = snapshot.GroupEpoch,
            AssignmentEpoch = snapshot.AssignmentEpoch,
            EmptySinceMs = snapshot.EmptySinceMs,
            _subscribedPartitionCounts = new Dictionary<string, int>(snapshot.SubscribedPartitionCounts, StringComparer.Ordinal),
        };
        foreach (var member in snapshot.Members)
        {
            model._members[member.MemberId] = member.ToMember();
        }
        foreach (var target in snapshot.Target)
        {
            model._target[target.MemberId] = target.Partitions.ToImmutableSortedSet();
        }
        foreach (var offset in snapshot.Offsets)
        {
            model._offsets[offset.Partition] = offset.Offset;
        }
        return model;
    }
}
