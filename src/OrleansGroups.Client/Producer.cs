using OrleansGroups.Client.Internal;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client;

/// <summary>
/// Produces messages to topics. Thread-safe; share one per process. Messages are queued in call order, so
/// one caller's messages to a partition keep their order. Each partition has at most one append in flight;
/// messages that arrive meanwhile leave together in the next append, so batches grow with load without any
/// linger delay.
/// </summary>
public sealed class Producer : IAsyncDisposable
{
    private readonly IGrainFactory _grains;
    private readonly ProducerOptions _options;
    private readonly TopicMetadataCache _metadata;
    private readonly RoundRobinPartitioner _roundRobin = new();
    private readonly Dictionary<TopicPartition, PartitionSender> _senders = [];
    private readonly Dictionary<string, TopicQueue> _topics = new(StringComparer.Ordinal);
    private readonly ProducerIdentitySource _identities;

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
        _identities = new ProducerIdentitySource(grains, options.EnableIdempotence);
    }

    /// <summary>Produces one message to the partition its key hashes to (round-robin without a key).</summary>
    public async Task<DeliveryResult> ProduceAsync(string topic, Message message, CancellationToken cancellationToken = default) =>
        (await EnqueueAsync(topic, [message], null, cancellationToken))[0];

    /// <summary>Produces one message to an explicit partition.</summary>
    public async Task<DeliveryResult> ProduceAsync(TopicPartition partition, Message message, CancellationToken cancellationToken = default) =>
        (await EnqueueAsync(partition.Topic, [message], partition.Partition, cancellationToken))[0];

    /// <summary>
    /// Produces many messages at once; each goes to its key's partition, or to <paramref name="partition"/> when given.
    /// Results are in the order of <paramref name="messages"/>.
    /// </summary>
    public Task<IReadOnlyList<DeliveryResult>> ProduceBatchAsync(
        string topic, IReadOnlyList<Message> messages, int? partition = null, CancellationToken cancellationToken = default) =>
        EnqueueAsync(topic, messages, partition, cancellationToken);

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

    private async Task<IReadOnlyList<DeliveryResult>> EnqueueAsync(
        string topic, IReadOnlyList<Message> messages, int? partition, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (messages.Count == 0)
        {
            return [];
        }
        Task<IReadOnlyList<DeliveryResult>> dispatched;
        TaskCompletionSource<Task<IReadOnlyList<DeliveryResult>>> queued;
        lock (_topics)
        {
            if (!_topics.TryGetValue(topic, out var queue))
            {
                _topics[topic] = queue = new TopicQueue();
            }
            if (queue.Description is { } description)
            {
                if (!queue.Refreshing && DateTimeOffset.UtcNow - queue.LoadedAt > _options.MetadataMaxAge)
                {
                    queue.Refreshing = true;
                    _ = RefreshAsync(topic, queue);
                }
                dispatched = Dispatch(description, messages, partition);
                queued = null!;
            }
            else
            {
                // Metadata is still loading: wait in line so call order survives the wait.
                dispatched = null!;
                queued = new(TaskCreationOptions.RunContinuationsAsynchronously);
                queue.Waiting.Add((messages, partition, queued));
                if (queue.Waiting.Count == 1)
                {
                    _ = LoadAsync(topic, queue);
                }
            }
        }
        return await (dispatched ?? await queued.Task);
    }

    private async Task LoadAsync(string topic, TopicQueue queue)
    {
        TopicDescription description;
        try
        {
            description = await _metadata.GetAsync(topic);
        }
        catch (Exception e)
        {
            lock (_topics)
            {
                _topics.Remove(topic);
                foreach (var (_, _, queued) in queue.Waiting)
                {
                    queued.TrySetException(e);
                }
            }
            return;
        }
        lock (_topics)
        {
            queue.Description = description;
            queue.LoadedAt = DateTimeOffset.UtcNow;
            foreach (var (messages, partition, queued) in queue.Waiting)
            {
                queued.TrySetResult(Dispatch(description, messages, partition));
            }
            queue.Waiting.Clear();
        }
    }

    private async Task RefreshAsync(string topic, TopicQueue queue)
    {
        try
        {
            var description = await _metadata.ReloadAsync(topic);
            lock (_topics)
            {
                queue.Description = description;
                queue.LoadedAt = DateTimeOffset.UtcNow;
            }
        }
        catch (Exception)
        {
            // Keep producing with what we know; the next call past the age tries again.
        }
        finally
        {
            lock (_topics)
            {
                queue.Refreshing = false;
            }
        }
    }

    /// <summary>Hands messages to their partitions' senders synchronously (so in call order); completes when all are acknowledged.</summary>
    private Task<IReadOnlyList<DeliveryResult>> Dispatch(TopicDescription topic, IReadOnlyList<Message> messages, int? partition)
    {
        if (partition is { } p && (p < 0 || p >= topic.PartitionCount))
        {
            return Task.FromException<IReadOnlyList<DeliveryResult>>(new UnknownPartitionException(topic.Name, p, topic.PartitionCount));
        }
        if (partition is not null || messages.Count == 1)
        {
            var target = partition ?? Choose(topic.PartitionCount, messages[0]);
            return SenderFor(new TopicPartition(topic.Name, target)).SendAsync(messages, CancellationToken.None);
        }
        var byPartition = new Dictionary<int, List<int>>();
        for (var i = 0; i < messages.Count; i++)
        {
            var target = Choose(topic.PartitionCount, messages[i]);
            if (!byPartition.TryGetValue(target, out var indexes))
            {
                byPartition[target] = indexes = [];
            }
            indexes.Add(i);
        }
        var sends = byPartition.Select(entry => (entry.Value, SenderFor(new TopicPartition(topic.Name, entry.Key))
            .SendAsync(entry.Value.Select(i => messages[i]).ToList(), CancellationToken.None))).ToList();
        return Gather(messages.Count, sends);
    }

    private static async Task<IReadOnlyList<DeliveryResult>> Gather(int count, List<(List<int> Indexes, Task<IReadOnlyList<DeliveryResult>> Send)> sends)
    {
        await Task.WhenAll(sends.Select(s => s.Send));
        var results = new DeliveryResult[count];
        foreach (var (indexes, send) in sends)
        {
            var delivered = send.Result;
            for (var i = 0; i < delivered.Count; i++)
            {
                results[indexes[i]] = delivered[i];
            }
        }
        return results;
    }

    private int Choose(int partitionCount, Message message) =>
        message.Key is null ? _roundRobin.Next(partitionCount) : Partitioner.ForKey(message.Key, partitionCount);

    private PartitionSender SenderFor(TopicPartition partition)
    {
        lock (_senders)
        {
            if (!_senders.TryGetValue(partition, out var sender))
            {
                _senders[partition] = sender = new PartitionSender(
                    partition, _grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(partition)), _options, _identities);
            }
            return sender;
        }
    }

    private sealed class TopicQueue
    {
        public TopicDescription? Description { get; set; }

        public DateTimeOffset LoadedAt { get; set; }

        public bool Refreshing { get; set; }

        public List<(IReadOnlyList<Message> Messages, int? Partition, TaskCompletionSource<Task<IReadOnlyList<DeliveryResult>>> Queued)> Waiting { get; } = [];
    }
}
