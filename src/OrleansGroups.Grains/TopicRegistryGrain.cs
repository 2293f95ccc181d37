using Microsoft.Extensions.Options;
using OrleansGroups.Core.Errors;
using OrleansGroups.Hosting;
using OrleansGroups.Core.Topics;

namespace OrleansGroups;

/// <summary>Persistent state of <see cref="TopicRegistryGrain"/>.</summary>
[GenerateSerializer, Alias("og.TopicRegistryState")]
public sealed class TopicRegistryState
{
    /// <summary>Topics by name.</summary>
    [Id(0)] public Dictionary<string, TopicDescription> Topics { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Topics being deleted: hidden from every lookup, their logs not yet known to be gone.</summary>
    [Id(1)] public Dictionary<string, TopicDescription> Deleting { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The incarnation the last created topic got (<see cref="TopicDescription.Incarnation"/>).</summary>
    [Id(2)] public long LastIncarnation { get; set; }
}

/// <summary>Owns topic metadata for the cluster.</summary>
internal sealed class TopicRegistryGrain(
    [PersistentState("topics", StorageNames.State)] IPersistentState<TopicRegistryState> state,
    IOptions<OrleansGroupsOptions> options,
    TimeProvider time) : Grain, ITopicRegistryGrain
{
    /// <summary>Kafka has no hard limit; this bounds metadata and grain counts per topic.</summary>
    public const int MaxPartitions = 10_000;

    public async Task<TopicDescription> CreateTopic(string name, int partitionCount, TopicConfig? config)
    {
        TopicName.Validate(name);
        if (partitionCount is < 1 or > MaxPartitions)
        {
            throw new InvalidRequestException($"Partition count must be between 1 and {MaxPartitions}; got {partitionCount}.");
        }
        config ??= TopicConfig.Default;
        config.Validate();
        if (config.MaxMessageBytes > options.Value.Log.MaxAppendBytes)
        {
            // A batch is written in one storage append, so it can be no larger than one.
            throw new InvalidRequestException(
                $"max.message.bytes {config.MaxMessageBytes} exceeds this cluster's largest storage append ({options.Value.Log.MaxAppendBytes} bytes, Log.MaxAppendBytes).");
        }
        if (state.State.Topics.ContainsKey(name))
        {
            throw new TopicAlreadyExistsException(name);
        }
        if (state.State.Topics.Count >= options.Value.MaxTopics)
        {
            throw new ResourceLimitReachedException("topics", options.Value.MaxTopics, "MaxTopics");
        }
        if (state.State.Deleting.ContainsKey(name))
        {
            // An interrupted deletion: its old records must be gone before a topic of that name exists again.
            await FinishDeletionAsync(name);
        }
        var topic = new TopicDescription(name, partitionCount, config, time.GetUtcNow(), state.State.LastIncarnation + 1);
        state.State.Topics[name] = topic;
        state.State.LastIncarnation = topic.Incarnation;
        await state.WriteOrRollBackAsync(this, () =>
        {
            state.State.Topics.Remove(name);
            state.State.LastIncarnation = topic.Incarnation - 1;
        }, $"Topic '{name}' was not created");
        return topic;
    }

    public async Task<TopicDescription> CreatePartitions(string name, int totalPartitions)
    {
        TopicName.Validate(name);
        var topic = state.State.Topics.GetValueOrDefault(name) ?? throw new UnknownTopicException(name);
        if (totalPartitions <= topic.PartitionCount || totalPartitions > MaxPartitions)
        {
            throw new InvalidRequestException(
                $"Topic '{name}' has {topic.PartitionCount} partitions; the new count must be larger (partitions are never removed) and at most {MaxPartitions}, got {totalPartitions}.");
        }
        var grown = topic with { PartitionCount = totalPartitions };
        state.State.Topics[name] = grown;
        await state.WriteOrRollBackAsync(this, () => state.State.Topics[name] = topic, $"Partitions were not added to '{name}'");
        return grown;
    }

    public async Task DeleteTopic(string name)
    {
        TopicName.Validate(name);
        // 1. Hide the topic (durably), so no partition activates for it and no producer or consumer finds it.
        if (state.State.Topics.Remove(name, out var topic))
        {
            state.State.Deleting[name] = topic;
            await state.WriteOrRollBackAsync(this, () =>
            {
                state.State.Deleting.Remove(name);
                state.State.Topics[name] = topic;
            }, $"Topic '{name}' was not deleted");
        }
        else if (!state.State.Deleting.ContainsKey(name))
        {
            throw new UnknownTopicException(name);
        }
        // 2. Delete the logs; 3. forget the topic.
        await FinishDeletionAsync(name);
    }

    private async Task FinishDeletionAsync(string name)
    {
        var topic = state.State.Deleting[name];
        // Partition grains are reentrant and DeleteLog does not call back here, so this cannot deadlock on this grain.
        await Task.WhenAll(Enumerable.Range(0, topic.PartitionCount).Select(p =>
            GrainFactory.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(name, p))).DeleteLog(topic.Incarnation)));
        state.State.Deleting.Remove(name);
        await state.WriteOrRollBackAsync(this, () => state.State.Deleting[name] = topic, $"Topic '{name}' was not deleted");
    }

    public Task<TopicDescription?> GetTopic(string name) =>
        Task.FromResult(state.State.Topics.GetValueOrDefault(name));

    public Task<IReadOnlyList<TopicDescription>> ListTopics() =>
        Task.FromResult<IReadOnlyList<TopicDescription>>(
            state.State.Topics.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToList());

    public Task<IReadOnlyDictionary<string, int>> GetPartitionCounts(IReadOnlyCollection<string> topics) =>
        Task.FromResult<IReadOnlyDictionary<string, int>>(topics
            .Where(state.State.Topics.ContainsKey)
            .Distinct(StringComparer.Ordinal)
            .ToDictionary(t => t, t => state.State.Topics[t].PartitionCount, StringComparer.Ordinal));
}
