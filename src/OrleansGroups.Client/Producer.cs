using System.Diagnostics;
using OrleansGroups.Client.Diagnostics;
using OrleansGroups.Client.Internal;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client;

/// <summary>
/// Produces messages to topics (see <see cref="IProducer"/>). Thread-safe; share one per process. Messages are queued in
/// call order, so one caller's messages to a partition keep their order. Each partition has at most one append in
/// flight; messages that arrive meanwhile leave together in the next append, so batches grow with load. A batch that is
/// not full waits up to <see cref="ProducerOptions.Linger"/> from its oldest message before it is sent, so batches also
/// form when few callers produce at once.
/// </summary>
public sealed class Producer : IProducer
{
    private readonly IGrainFactory _grains;
    private readonly ProducerOptions _options;
    private readonly TopicMetadataCache _metadata;
    private readonly RoundRobinPartitioner _roundRobin = new();
    private readonly Dictionary<TopicPartition, PartitionSender> _senders = [];
    private readonly Dictionary<string, TopicQueue> _topics = new(StringComparer.Ordinal);
    private readonly ProducerIdentitySource _identities;
    private readonly ProducerBuffer _buffer;
    private readonly object _inFlightGate = new();
    private long _inFlight;
    private TaskCompletionSource? _drained;
    private int _flushers;

    /// <summary>Creates a producer over a connected Orleans client.</summary>
    public Producer(IGrainFactory grains, ProducerOptions? options = null)
        : this(grains, options ?? new ProducerOptions(), new TopicMetadataCache(grains))
    {
    }

    internal Producer(IGrainFactory grains, ProducerOptions options, TopicMetadataCache metadata)
        : this(grains, options, metadata, TimeProvider.System)
    {
    }

    internal Producer(IGrainFactory grains, ProducerOptions options, TopicMetadataCache metadata, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Linger, TimeSpan.Zero, nameof(options.Linger));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchMaxBytes, 1, nameof(options.BatchMaxBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchMaxMessages, 1, nameof(options.BatchMaxMessages));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BufferMemory, 1, nameof(options.BufferMemory));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBlock, TimeSpan.Zero, nameof(options.MaxBlock));
        // The longest a timer waits (about 49 days).
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxBlock, TimeSpan.FromMilliseconds(uint.MaxValue - 1), nameof(options.MaxBlock));
        _buffer = new ProducerBuffer(options.BufferMemory, options.MaxBlock, time);
        _grains = grains;
        _options = options;
        _metadata = metadata;
        _identities = new ProducerIdentitySource(grains, options.EnableIdempotence);
    }

    /// <summary>Messages produced and not yet acknowledged or failed (delivery handlers included).</summary>
    public long InFlight
    {
        get
        {
            lock (_inFlightGate)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>Bytes of produced messages not yet acknowledged or failed, as counted against <see cref="ProducerOptions.BufferMemory"/>.</summary>
    public long BufferedBytes => _buffer.Used;

    /// <inheritdoc />
    public async Task<DeliveryResult> ProduceAsync(string topic, Message message, CancellationToken cancellationToken = default)
    {
        Track(1);
        try
        {
            return (await EnqueueAsync(topic, [message], null, cancellationToken))[0];
        }
        finally
        {
            Track(-1);
        }
    }

    /// <inheritdoc />
    public async Task<DeliveryResult> ProduceAsync(TopicPartition partition, Message message, CancellationToken cancellationToken = default)
    {
        Track(1);
        try
        {
            return (await EnqueueAsync(partition.Topic, [message], partition.Partition, cancellationToken))[0];
        }
        finally
        {
            Track(-1);
        }
    }

    /// <inheritdoc />
    public void Produce(string topic, Message message, Action<DeliveryReport>? deliveryHandler = null) =>
        ProduceAndReport(topic, null, message, deliveryHandler);

    /// <inheritdoc />
    public void Produce(TopicPartition partition, Message message, Action<DeliveryReport>? deliveryHandler = null) =>
        ProduceAndReport(partition.Topic, partition.Partition, message, deliveryHandler);

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeliveryResult>> ProduceBatchAsync(
        string topic, IReadOnlyList<Message> messages, int? partition = null, CancellationToken cancellationToken = default)
    {
        Track(messages.Count);
        try
        {
            return await EnqueueAsync(topic, messages, partition, cancellationToken);
        }
        finally
        {
            Track(-messages.Count);
        }
    }

    /// <inheritdoc />
    public int Flush(TimeSpan timeout)
    {
        var drained = FlushAsync(CancellationToken.None);
        drained.Wait(timeout);
        return (int)Math.Min(int.MaxValue, InFlight);
    }

    /// <inheritdoc />
    public void Flush(CancellationToken cancellationToken = default) => FlushAsync(cancellationToken).Wait(cancellationToken);

    /// <inheritdoc />
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        Task drained;
        lock (_inFlightGate)
        {
            if (_inFlight == 0)
            {
                return;
            }
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            drained = _drained.Task;
        }
        // While anyone flushes, senders skip the linger: waiting for more messages would only delay the flush.
        Interlocked.Increment(ref _flushers);
        try
        {
            WakeSenders();
            await drained.WaitAsync(cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _flushers);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await FlushAsync();

    private bool Flushing => Volatile.Read(ref _flushers) > 0;

    private void WakeSenders()
    {
        PartitionSender[] senders;
        lock (_senders)
        {
            senders = [.. _senders.Values];
        }
        foreach (var sender in senders)
        {
            sender.SendNow();
        }
    }

    private void Track(long messages)
    {
        TaskCompletionSource? drained = null;
        lock (_inFlightGate)
        {
            _inFlight += messages;
            if (_inFlight == 0)
            {
                drained = _drained;
                _drained = null;
            }
        }
        drained?.TrySetResult();
    }

    private void ProduceAndReport(string topic, int? partition, Message message, Action<DeliveryReport>? deliveryHandler)
    {
        // The send span ends with the delivery report; it must not stay current for the caller.
        var caller = Activity.Current;
        var send = OrleansGroupsTracing.StartSend(topic, partition, [message]);
        Activity.Current = caller;
        message = OrleansGroupsTracing.Inject(send, message);
        var bytes = ProducerBuffer.Estimate(message);
        Track(1);
        Task<Task<IReadOnlyList<DeliveryResult>>> admission;
        try
        {
            admission = _buffer.AdmitAsync(bytes, () => Route(topic, [message], partition), CancellationToken.None);
        }
        catch (Exception e)
        {
            admission = Task.FromException<Task<IReadOnlyList<DeliveryResult>>>(e);
        }
        if (!admission.IsCompleted)
        {
            // Kafka's send() blocks while buffer.memory is full, up to max.block.ms: so does this call, or callers that
            // never wait could pile up messages without bound. The buffer admits or refuses it within max.block.
            ((IAsyncResult)admission).AsyncWaitHandle.WaitOne();
        }
        _ = ProduceAndReportAsync(DeliverAsync(admission, bytes), topic, partition, message, deliveryHandler, send);
    }

    private async Task ProduceAndReportAsync(
        Task<IReadOnlyList<DeliveryResult>> delivery, string topic, int? partition, Message message, Action<DeliveryReport>? deliveryHandler, Activity? send)
    {
        try
        {
            DeliveryReport report;
            try
            {
                var delivered = (await delivery)[0];
                OrleansGroupsTracing.Sent(send, [delivered]);
                report = new DeliveryReport(delivered.Topic, delivered.Partition, delivered.Offset, delivered.Timestamp, message, null);
            }
            catch (Exception e)
            {
                OrleansGroupsTracing.Failed(send, e);
                report = new DeliveryReport(topic, partition ?? -1, -1, message.Timestamp ?? DateTimeOffset.UtcNow, message, e);
            }
            deliveryHandler?.Invoke(report);
        }
        finally
        {
            Track(-1);
        }
    }

    /// <summary>
    /// Admits the messages into the buffer (waiting up to <see cref="ProducerOptions.MaxBlock"/> for room, in call
    /// order), routes them, and gives their bytes back once they are acknowledged or failed.
    /// </summary>
    private async Task<IReadOnlyList<DeliveryResult>> EnqueueAsync(
        string topic, IReadOnlyList<Message> messages, int? partition, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (messages.Count == 0)
        {
            return [];
        }
        using var send = OrleansGroupsTracing.StartSend(topic, partition, messages);
        messages = OrleansGroupsTracing.Inject(send, messages);
        var bytes = messages.Sum(ProducerBuffer.Estimate);
        try
        {
            var delivered = await DeliverAsync(_buffer.AdmitAsync(bytes, () => Route(topic, messages, partition), cancellationToken), bytes);
            OrleansGroupsTracing.Sent(send, delivered);
            return delivered;
        }
        catch (Exception e)
        {
            OrleansGroupsTracing.Failed(send, e);
            throw;
        }
    }

    /// <summary>Waits for admission (which may fail with ProducerBufferFull, nothing reserved), then for the outcome; then frees the bytes.</summary>
    private async Task<IReadOnlyList<DeliveryResult>> DeliverAsync(Task<Task<IReadOnlyList<DeliveryResult>>> admission, long bytes)
    {
        var routed = await admission;
        try
        {
            return await routed;
        }
        finally
        {
            _buffer.Release(bytes);
        }
    }

    /// <summary>Hands the messages to their partitions (or to the line waiting for the topic's metadata), in call order.</summary>
    private Task<IReadOnlyList<DeliveryResult>> Route(string topic, IReadOnlyList<Message> messages, int? partition)
    {
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
        return dispatched ?? queued.Task.Unwrap();
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
                    partition, _grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(partition)), _options, _identities, () => Flushing);
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
