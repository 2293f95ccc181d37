using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client;

/// <summary>A topic with the bounds of each partition's log.</summary>
/// <param name="Topic">The topic.</param>
/// <param name="Partitions">Per partition: log start and end offsets.</param>
public sealed record TopicDetails(TopicDescription Topic, IReadOnlyList<PartitionDetails> Partitions);

/// <summary>The bounds of one partition's log.</summary>
/// <param name="Partition">Partition index.</param>
/// <param name="LogStartOffset">First offset in the log.</param>
/// <param name="LogEndOffset">Offset the next record gets (high watermark).</param>
public sealed record PartitionDetails(int Partition, long LogStartOffset, long LogEndOffset);

/// <summary>A group in a listing.</summary>
/// <param name="GroupId">Group id.</param>
/// <param name="State">Group state.</param>
/// <param name="MemberCount">Active members.</param>
public sealed record GroupListing(string GroupId, GroupState State, int MemberCount);

/// <summary>A group with its per-partition position and lag.</summary>
/// <param name="Group">Members, epochs, assignment and offsets.</param>
/// <param name="Partitions">Per partition of the group's topics: committed offset, end offset, lag and owner.</param>
public sealed record GroupDetails(GroupDescription Group, IReadOnlyList<PartitionLag> Partitions);

/// <summary>Where a group stands in one partition.</summary>
/// <param name="TopicPartition">The partition.</param>
/// <param name="CommittedOffset">Committed offset, or null when the group never committed it.</param>
/// <param name="LogEndOffset">The partition's high watermark.</param>
/// <param name="Lag">End offset minus committed offset (null without a commit).</param>
/// <param name="Owner">Member that owns the partition, or null.</param>
public sealed record PartitionLag(TopicPartition TopicPartition, long? CommittedOffset, long LogEndOffset, long? Lag, string? Owner);

/// <summary>Administers topics and groups (see <see cref="IAdminClient"/>).</summary>
public sealed partial class AdminClient(IGrainFactory grains) : IAdminClient
{
    private ITopicRegistryGrain Topics => grains.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry);

    /// <summary>Creates a topic. Throws InvalidTopicName, TopicAlreadyExists or InvalidRequest.</summary>
    public Task<TopicDescription> CreateTopicAsync(string name, int partitions, TopicConfig? config = null)
    {
        TopicName.Validate(name);
        return Topics.CreateTopic(name, partitions, config);
    }

    /// <inheritdoc />
    public Task DeleteTopicAsync(string name)
    {
        TopicName.Validate(name);
        return Topics.DeleteTopic(name);
    }

    /// <summary>Every topic.</summary>
    public Task<IReadOnlyList<TopicDescription>> ListTopicsAsync() => Topics.ListTopics();

    /// <summary>A topic with each partition's log start and end offsets. Throws UnknownTopic.</summary>
    public async Task<TopicDetails> DescribeTopicAsync(string name)
    {
        TopicName.Validate(name);
        var topic = await Topics.GetTopic(name) ?? throw new UnknownTopicException(name);
        var marks = await Task.WhenAll(Enumerable.Range(0, topic.PartitionCount).Select(p =>
            grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(name, p))).GetWatermarks()));
        return new TopicDetails(topic, marks.Select((m, p) => new PartitionDetails(p, m.LogStartOffset, m.HighWatermark)).ToList());
    }

    /// <summary>Every group with its state.</summary>
    public async Task<IReadOnlyList<GroupListing>> ListGroupsAsync()
    {
        var ids = await grains.GetGrain<IGroupRegistryGrain>(GrainKeys.GroupRegistry).ListGroups();
        var groups = await Task.WhenAll(ids.Select(id => grains.GetGrain<IConsumerGroupGrain>(id).Describe()));
        return groups.Select(g => new GroupListing(g.GroupId, g.State, g.Members.Count)).ToList();
    }

    /// <summary>A group's members and, per partition of its topics, committed offset, end offset, lag and owner. Throws GroupIdNotFound.</summary>
    public async Task<GroupDetails> DescribeGroupAsync(string groupId)
    {
        var ids = await grains.GetGrain<IGroupRegistryGrain>(GrainKeys.GroupRegistry).ListGroups();
        if (!ids.Contains(groupId, StringComparer.Ordinal))
        {
            throw new GroupIdNotFoundException(groupId);
        }
        var group = await grains.GetGrain<IConsumerGroupGrain>(groupId).Describe();
        var topicNames = group.Members.SelectMany(m => m.SubscribedTopics)
            .Concat(group.CommittedOffsets.Keys.Select(p => p.Topic))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var counts = await Topics.GetPartitionCounts(topicNames);
        var partitions = counts.OrderBy(c => c.Key, StringComparer.Ordinal)
            .SelectMany(c => Enumerable.Range(0, c.Value).Select(p => new TopicPartition(c.Key, p)))
            .ToList();
        var ends = await Task.WhenAll(partitions.Select(p => grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(p)).GetWatermarks()));
        var owners = group.Members
            .SelectMany(m => m.AssignedPartitions.Concat(m.PartitionsPendingRevocation).Select(p => (p, m.MemberId)))
            .ToDictionary(x => x.p, x => x.MemberId);
        var rows = partitions.Select((p, i) =>
        {
            long? committed = group.CommittedOffsets.TryGetValue(p, out var c) ? c.Offset : null;
            var end = ends[i].HighWatermark;
            return new PartitionLag(p, committed, end, committed is { } o ? Math.Max(0, end - o) : null, owners.GetValueOrDefault(p));
        }).ToList();
        return new GroupDetails(group, rows);
    }
}
