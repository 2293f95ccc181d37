using System.Text;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups;

/// <summary>
/// An application grain that reads topics as a member of a consumer group (beyond Kafka: the member is a virtual
/// actor, not a process). Join with <see cref="IGroupMembershipGrain.Join"/> (or derive from <c>GroupMemberGrain</c>);
/// the silo then calls <see cref="OnRecords"/> with the records of the partitions the group assigns to this member,
/// in order per partition, one call at a time, and commits them after the call returns.
/// </summary>
public interface IGroupMemberGrain : IGrain
{
    /// <summary>
    /// Processes consecutive records of one partition. Returning commits them (at-least-once); throwing delivers the
    /// same records again after a backoff, so a record that always fails holds up its partition for this group only
    /// (other partitions and other groups go on). Idempotent handling makes redelivery after a crash harmless.
    /// </summary>
    Task OnRecords(MemberRecords records);
}

/// <summary>Consecutive records of one partition delivered to a grain member.</summary>
/// <param name="GroupId">The group the member reads for.</param>
/// <param name="Partition">The partition.</param>
/// <param name="Records">The records, in offset order.</param>
[GenerateSerializer, Immutable, Alias("og.MemberRecords")]
public sealed record MemberRecords(
    [property: Id(0)] string GroupId,
    [property: Id(1)] TopicPartition Partition,
    [property: Id(2)] IReadOnlyList<MemberRecord> Records);

/// <summary>A record delivered to a grain member.</summary>
/// <param name="Offset">Offset in its partition.</param>
/// <param name="Timestamp">The producer's timestamp.</param>
/// <param name="Key">Key, or null.</param>
/// <param name="Value">Value, or null.</param>
/// <param name="Headers">Headers.</param>
[GenerateSerializer, Immutable, Alias("og.MemberRecord")]
public sealed record MemberRecord(
    [property: Id(0)] long Offset,
    [property: Id(1)] DateTimeOffset Timestamp,
    [property: Id(2)] byte[]? Key,
    [property: Id(3)] byte[]? Value,
    [property: Id(4)] IReadOnlyList<RecordHeader> Headers)
{
    /// <summary>The key as UTF-8 text, or null.</summary>
    public string? KeyAsString => Key is null ? null : Encoding.UTF8.GetString(Key);

    /// <summary>The value as UTF-8 text, or null.</summary>
    public string? ValueAsString => Value is null ? null : Encoding.UTF8.GetString(Value);
}

/// <summary>
/// A grain member's membership of one group (key: <see cref="GrainKeys.GrainMember"/>): it persists the registration,
/// keeps the member in the group (heartbeats, rebalances), fetches its partitions and delivers them to the member.
/// A reminder restarts it after a silo failure, so the member stays in its group until it leaves.
/// </summary>
public interface IGroupMembershipGrain : IGrainWithStringKey
{
    /// <summary>
    /// Joins (or rejoins with new topics). Idempotent. Throws InvalidGroupId, InvalidTopicName or UnknownTopic.
    /// </summary>
    Task Join(GroupMembershipRequest request);

    /// <summary>Leaves the group (its partitions move to the other members at once) and forgets the registration.</summary>
    Task Leave();

    /// <summary>The registration and what the member owns now.</summary>
    Task<GroupMembershipStatus> GetStatus();
}

/// <summary>What a grain member joins.</summary>
/// <param name="GroupId">The consumer group.</param>
/// <param name="Topics">Topics to read.</param>
/// <param name="Member">The grain that receives the records.</param>
/// <param name="FromBeginning">
/// Where to start in partitions the group never committed: the oldest record (true) or only new ones (false, Kafka's default).
/// </param>
[GenerateSerializer, Immutable, Alias("og.GroupMembershipRequest")]
public sealed record GroupMembershipRequest(
    [property: Id(0)] string GroupId,
    [property: Id(1)] IReadOnlyList<string> Topics,
    [property: Id(2)] IGroupMemberGrain Member,
    [property: Id(3)] bool FromBeginning = false);

/// <summary>A grain member's membership now.</summary>
/// <param name="Request">The registration, or null when not joined.</param>
/// <param name="MemberId">The member id in the group, or null while stopped.</param>
/// <param name="Assignment">Partitions owned now.</param>
/// <param name="Delivered">Records delivered (handler returned) since activation.</param>
[GenerateSerializer, Immutable, Alias("og.GroupMembershipStatus")]
public sealed record GroupMembershipStatus(
    [property: Id(0)] GroupMembershipRequest? Request,
    [property: Id(1)] string? MemberId,
    [property: Id(2)] IReadOnlyList<TopicPartition> Assignment,
    [property: Id(3)] long Delivered);
