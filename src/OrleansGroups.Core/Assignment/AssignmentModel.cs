using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Assignment;

/// <summary>A group member as an assignor sees it.</summary>
/// <param name="MemberId">The member id; assignors order members by it (ordinal) to stay deterministic.</param>
/// <param name="SubscribedTopics">Topics the member wants; it is never given partitions of other topics.</param>
/// <param name="CurrentAssignment">What the member is assigned now; sticky assignors keep as much of it as balance allows.</param>
public sealed record AssignmentMember(string MemberId, IReadOnlySet<string> SubscribedTopics, IReadOnlySet<TopicPartition> CurrentAssignment);

/// <summary>The members to assign partitions to.</summary>
/// <param name="Members">Every member of the group, in any order; member ids must be distinct.</param>
public sealed record GroupSpec(IReadOnlyList<AssignmentMember> Members);

/// <summary>Partition counts of the topics that exist.</summary>
/// <param name="PartitionCounts">Topic name to partition count. A subscribed topic that is absent does not exist yet: its subscribers get nothing for it.</param>
public sealed record TopicMetadata(IReadOnlyDictionary<string, int> PartitionCounts);

/// <summary>The target assignment: which partitions each member should own.</summary>
/// <param name="Partitions">Member id to its partitions. Every member of the spec appears, possibly with an empty set.</param>
/// <remarks>Equality compares contents, so the coordinator can tell whether a recomputed target actually changed.</remarks>
public sealed record GroupAssignment(IReadOnlyDictionary<string, IReadOnlySet<TopicPartition>> Partitions)
{
    /// <summary>True when both assign the same partitions to the same members.</summary>
    public bool Equals(GroupAssignment? other) =>
        other is not null && Partitions.Count == other.Partitions.Count && Partitions.All(entry =>
            other.Partitions.TryGetValue(entry.Key, out var theirs) && theirs.SetEquals(entry.Value));

    /// <inheritdoc />
    public override int GetHashCode()
    {
        // Order-independent, to agree with Equals.
        var hash = Partitions.Count;
        foreach (var (member, partitions) in Partitions)
            hash ^= HashCode.Combine(member, partitions.Count);
        return hash;
    }
}

/// <summary>
/// Computes a target assignment. Implementations are pure: no clock, randomness or I/O, and the same input in
/// any member or dictionary order gives the same output, so every replica of the coordinator agrees.
/// </summary>
public interface IPartitionAssignor
{
    /// <summary>The name groups select the assignor by ("range", "uniform").</summary>
    string Name { get; }

    /// <summary>Assigns every partition of every subscribed, existing topic to exactly one subscriber.</summary>
    /// <exception cref="InvalidRequestException">Two members share an id.</exception>
    GroupAssignment Assign(GroupSpec spec, TopicMetadata topics);
}

/// <summary>Looks assignors up by name.</summary>
public static class Assignors
{
    /// <summary>The assignor a group uses unless it asks for another: "uniform", balanced and sticky.</summary>
    public const string Default = UniformAssignor.AssignorName;

    /// <summary>
    /// Another name for "uniform", which is sticky: Kafka users know the sticky behaviour by this name (the classic
    /// protocol's client-side "sticky" and "cooperative-sticky" assignors).
    /// </summary>
    public const string StickyAlias = "sticky";

    /// <summary>The assignor called <paramref name="name"/> (ordinal, case-sensitive; "sticky" is "uniform").</summary>
    /// <exception cref="InvalidRequestException">No assignor has that name.</exception>
    public static IPartitionAssignor Get(string name) => name switch
    {
        RangeAssignor.AssignorName => RangeAssignor.Instance,
        UniformAssignor.AssignorName or StickyAlias => UniformAssignor.Instance,
        _ => throw new InvalidRequestException(
            $"Unknown assignor '{name}'; use '{UniformAssignor.AssignorName}' (alias '{StickyAlias}') or '{RangeAssignor.AssignorName}'."),
    };

    /// <summary>The canonical name of the assignor called <paramref name="name"/> ("sticky" gives "uniform").</summary>
    /// <exception cref="InvalidRequestException">No assignor has that name.</exception>
    public static string Canonical(string name) => Get(name).Name;

    /// <summary>Members sorted by id (ordinal); throws on a duplicate id.</summary>
    internal static AssignmentMember[] SortedMembers(GroupSpec spec)
    {
        var members = spec.Members.OrderBy(m => m.MemberId, StringComparer.Ordinal).ToArray();
        for (var i = 1; i < members.Length; i++)
        {
            if (members[i].MemberId == members[i - 1].MemberId)
                throw new InvalidRequestException($"Member id '{members[i].MemberId}' appears twice in the group spec.");
        }
        return members;
    }

    /// <summary>Topics someone subscribes to that exist with at least one partition, sorted ordinally.</summary>
    internal static List<(string Topic, int Partitions)> SubscribedTopics(IEnumerable<AssignmentMember> members, TopicMetadata topics) =>
        members.SelectMany(m => m.SubscribedTopics).Distinct()
            .Select(t => (Topic: t, Partitions: topics.PartitionCounts.TryGetValue(t, out var n) ? n : 0))
            .Where(t => t.Partitions > 0)
            .OrderBy(t => t.Topic, StringComparer.Ordinal)
            .ToList();
}
