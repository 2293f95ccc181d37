using System.Collections.Concurrent;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client.Internal;

/// <summary>Topic metadata read once from the registry and kept; a topic's partitions only ever grow.</summary>
internal sealed class TopicMetadataCache(IGrainFactory grains)
{
    private readonly ConcurrentDictionary<string, Task<TopicDescription>> _topics = new(StringComparer.Ordinal);

    public Task<TopicDescription> GetAsync(string topic)
    {
        var task = _topics.GetOrAdd(topic, LoadAsync);
        if (task.IsFaulted || task.IsCanceled)
        {
            _topics.TryRemove(new KeyValuePair<string, Task<TopicDescription>>(topic, task));
        }
        return task;
    }

    /// <summary>Reads the topic again (partitions may have been added) and caches the fresh answer.</summary>
    public Task<TopicDescription> ReloadAsync(string topic)
    {
        var task = LoadAsync(topic);
        _topics[topic] = task;
        return task;
    }

    private async Task<TopicDescription> LoadAsync(string topic)
    {
        TopicName.Validate(topic);
        var description = await grains.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry).GetTopic(topic);
        if (description is null)
        {
            _topics.TryRemove(topic, out _);
            throw new UnknownTopicException(topic);
        }
        return description;
    }
}
