using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups;

/// <summary>How OrleansGroups names its grains.</summary>
public static class GrainKeys
{
    /// <summary>Key of the cluster-wide topic registry.</summary>
    public const string TopicRegistry = "topics";

    /// <summary>Key of the cluster-wide group registry.</summary>
    public const string GroupRegistry = "groups";

    /// <summary>Key of the producer id allocator.</summary>
    public const string ProducerIds = "producer-ids";

    /// <summary>Key of a partition grain: "topic/partition" (topic names never contain '/'); see <see cref="Ids.FormatPartition"/>.</summary>
    /// <exception cref="InvalidRequestException">The topic name is illegal or the partition negative.</exception>
    public static string Partition(TopicPartition partition) => Ids.FormatPartition(partition);

    /// <summary>Key of a consumer session grain: "member@group" (member ids never contain '@').</summary>
    /// <exception cref="InvalidGroupIdException">The group id is illegal.</exception>
    /// <exception cref="InvalidRequestException">The member id is illegal.</exception>
    public static string Consumer(string groupId, string memberId) => Ids.FormatConsumer(groupId, memberId);

    /// <summary>Key of a grain member's membership of a group: "group|member grain id".</summary>
    /// <exception cref="InvalidGroupIdException">The group id is illegal.</exception>
    public static string GrainMember(string groupId, GrainId member) => $"{Ids.ValidateGroupId(groupId)}|{member}";

    /// <summary>Parses a partition grain key strictly: the one spelling <see cref="Partition"/> writes, anything else refused.</summary>
    /// <exception cref="InvalidRequestException">Not a canonical partition key.</exception>
    public static TopicPartition ParsePartition(string key) => Ids.ParsePartition(key);

    /// <summary>Parses a consumer session key strictly (see <see cref="Consumer"/>).</summary>
    /// <exception cref="InvalidRequestException">Not a legal "member@group".</exception>
    public static (string GroupId, string MemberId) ParseConsumer(string key) => Ids.ParseConsumer(key);
}
