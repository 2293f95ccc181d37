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

    /// <summary>Creates an empty group.</summary>
    public ConsumerGroupModel(string groupId, string assignor)
    {
        GroupId = groupId;
        Assignor = assignor;
    }

    /// <summary>The group id.</summary>
    public string GroupId { get; }

    /// <summary>Name of the server-side assignor.</summary>
    public string Assignor { get; }

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

    /// <summary>Empty, reconciling or stable.</summary>
    public GroupState State =>
        _members.Count == 0 ? GroupState.Empty
        : _members.Values.All(m => m.State == MemberState.Stable && m.MemberEpoch == AssignmentEpoch) && AssignmentEpoch == GroupEpoch
            ? GroupState.Stable
            : GroupState.Reconciling;

    /// <summary>The member that owns the partition (assigned or pending revocation), if any.</summary>
    public GroupMember? OwnerOf(TopicPartition partition) =>
        _members.Values.FirstOrDefault(m => m.Owns(partition));

    /// <summary>Target partitions of a member (empty when it has none).</summary>
    public IReadOnlySet<TopicPartition> TargetOf(string memberId) =>
        _target.TryGetValue(memberId, out var set) ? set : ImmutableSortedSet<TopicPartition>.Empty;

    /// <summary>Applies one event. Throws when the event breaks an invariant.</summary>
    public void Apply(GroupEvent groupEvent)
    {
        switch (groupEvent)
        {
            case MemberUpserted(var member):
                foreach (var partition in member.AssignedPartitions.Concat(member.PartitionsPendingRevocation))
                {
                    var owner = OwnerOf(partition);
                    if (owner is not null && owner.MemberId != member.MemberId)
                    {
                        throw new InvalidOperationException(
                            $"Group '{GroupId}': partition {partition} given to '{member.MemberId}' is still owned by '{owner.MemberId}'.");
                    }
                }
                _members[member.MemberId] = member;
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
            case OffsetCommitted(var partition, var offset):
                _offsets[partition] = offset;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(groupEvent), groupEvent.GetType().Name, "Unknown group event.");
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
    };

    /// <summary>Rebuilds a group from its persisted form.</summary>
    public static ConsumerGroupModel FromSnapshot(string groupId, GroupSnapshot snapshot, string defaultAssignor)
    {
        var model = new ConsumerGroupModel(groupId, string.IsNullOrEmpty(snapshot.Assignor) ? defaultAssignor : snapshot.Assignor)
        {
            GroupEpoch = snapshot.GroupEpoch,
            AssignmentEpoch = snapshot.AssignmentEpoch,
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
