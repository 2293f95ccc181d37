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

    /// <summary>Key of a partition grain: "topic/partition" (topic names never contain '/').</summary>
    public static string Partition(TopicPartition partition) => $"{partition.Topic}/{partition.Partition}";

    /// <summary>Key of a consumer session grain: "member@group" (member ids are generated without '@').</summary>
    public static string Consumer(string groupId, string memberId) => $"{memberId}@{groupId}";

    /// <summary>Key of a grain member's membership of a group: "group|member grain id".</summary>
    public static string GrainMember(string groupId, GrainId member) => $"{groupId}|{member}";

    /// <summary>Parses a partition grain key.</summary>
    public static TopicPartition ParsePartition(string key)
    {
        var slash = key.LastIndexOf('/');
        if (slash <= 0 || !int.TryParse(key.AsSpan(slash + 1), out var partition))
        {
            throw new InvalidRequestException($"'{key}' is not a partition key (topic/partition).");
        }
        return new TopicPartition(key[..slash], partition);
    }
}
