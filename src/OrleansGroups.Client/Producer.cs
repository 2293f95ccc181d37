using OrleansGroups.Client.Internal;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client;

/// <summary>
/// Produces messages to topics. Thread-safe; share one per process. Each partition has at most one append
/// in flight, which keeps a partition's messages in order; messages that arrive meanwhile are sent together
/// in the next append, so throughput grows with load without any linger delay.
/// </summary>
public sealed class Producer : IAsyncDisposable
{
    private readonly IGrainFactory _grains;
    private readonly ProducerOptions _options;
    private readonly TopicMetadataCache _metadata;
    private readonly RoundRobinPartitioner _roundRobin = new();
    private readonly Dictionary<TopicPartition, PartitionSender> _senders = [];

    /// <summary>Creates a producer over a connected Orleans client.</summary>
    public Producer(IGrainFactory grains, ProducerOptions? options = null)
        : this(grains, options ?? new ProducerOptions(), new TopicMetadataCache(grains))
    {
    }

    internal Producer(IGrainFactory grains, ProducerOptions options, TopicMetadataCache metadata)
    {
        _grains = grains;
        _options = options;
        _metadata = metadata;
    }

    /// <summary>Produces one message to the partition its key hashes to (round-robin without a key).</summary>
    public async Task<DeliveryResult> ProduceAsync(string topic, Message message, CancellationToken cancellationToken = default)
    {
        var partition = await ChoosePartitionAsync(topic, message);
        var results = await SenderFor(new TopicPartition(topic, partition)).SendAsync([message], cancellationToken);
        return results[0];
    }

    /// <summary>Produces one message to an explicit partition.</summary>
    public async Task<DeliveryResult> ProduceAsync(TopicPartition partition, Message message, CancellationToken cancellationToken = default)
    {
        await CheckPartitionAsync(partition);
        var results = await SenderFor(partition).SendAsync([message], cancellationToken);
        return results[0];
    }

    /// <summary>
    /// Produces many messages at once; each goes to its key's partition, or to <paramref name="partition"/> when given.
    /// Results are in the order of <paramref name="messages"/>.
    /// </summary>
    public async Task<IReadOnlyList<DeliveryResult>> ProduceBatchAsync(
        string topic, IReadOnlyList<Message> messages, int? partition = null, CancellationToken cancellationToken = default)
    {
        var description = await _metadata.GetAsync(topic);
        if (partition is { } p)
        {
            await CheckPartitionAsync(new TopicPartition(topic, p));
        }
        var byPartition = new Dictionary<int, List<int>>();
        for (var i = 0; i < messages.Count; i++)
        {
            var target = partition ?? Choose(description.PartitionCount, messages[i]);
            if (!byPartition.TryGetValue(target, out var indexes))
            {
                byPartition[target] = indexes = [];
            }
            indexes.Add(i);
        }
        var results = new DeliveryResult[messages.Count];
        await Task.WhenAll(byPartition.Select(async entry =>
        {
            var delivered = await SenderFor(new TopicPartition(topic, entry.Key))
                .SendAsync(entry.Value.Select(i => messages[i]).ToList(), cancellationToken);
            for (var i = 0; i < delivered.Count; i++)
            {
                results[entry.Value[i]] = delivered[i];
            }
        }));
        return results;
    }

    /// <summary>Waits until every message produced so far is acknowledged or failed.</summary>
    public Task FlushAsync()
    {
        PartitionSender[] senders;
        lock (_senders)
        {
            senders = [.. _senders.Values];
        }
        return Task.WhenAll(senders.Select(s => s.IdleAsync()));
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await FlushAsync();

    private async Task<int> ChoosePartitionAsync(string topic, Message message)
    {
        var description = await _metadata.GetAsync(topic);
        return Choose(description.PartitionCount, message);
    }

    private int Choose(int partitionCount, Message message) =>
        message.Key is null ? _roundRobin.Next(partitionCount) : Partitioner.ForKey(message.Key, partitionCount);

    private async Task CheckPartitionAsync(TopicPartition partition)
    {
        var description = await _metadata.GetAsync(partition.Topic);
        if (partition.Partition < 0 || partition.Partition >= description.PartitionCount)
        {
            throw new Core.Errors.UnknownPartitionException(partition.Topic, partition.Partition, description.PartitionCount);
        }
    }

    private PartitionSender SenderFor(TopicPartition partition)
    {
        lock (_senders)
        {
            if (!_senders.TryGetValue(partition, out var sender))
            {
                _senders[partition] = sender = new PartitionSender(
                    partition, _grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(partition)), _options);
            }
            return sender;
        }
    }
}
