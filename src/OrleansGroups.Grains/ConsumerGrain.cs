using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Streams;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.Hosting;

namespace OrleansGroups;

/// <summary>
/// Thin shell over one <see cref="PrefetchBuffer"/> per partition a member reads: a partition's "appended" notification
/// (or the fallback timer) starts a fetch when the buffer has space, and consumers' fetches are answered from the
/// buffer. Reentrant: a fetch waiting for data must not hold up notifications or the member's other partitions.
/// </summary>
[Reentrant]
internal sealed class ConsumerGrain(IOptions<OrleansGroupsOptions> options, TimeProvider time, ILogger<ConsumerGrain> logger)
    : Grain, IConsumerGrain, IIncomingGrainCallFilter
{
    /// <summary>Longest a session parks a fetch on a partition (the partition caps it too).</summary>
    private const int LongPollMs = 500;

    private readonly ConsumerSessionOptions _settings = options.Value.Consumers;
    private readonly Dictionary<TopicPartition, PartitionPrefetch> _partitions = [];
    private long _lastCallTicks;
    private long _notifications;
    private long _partitionFetches;

    private InvalidRequestException? _badKey;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        try
        {
            GrainKeys.ParseConsumer(this.GetPrimaryKeyString());
        }
        catch (InvalidRequestException e)
        {
            // Every call is refused (see Invoke); no timer, no subscriptions.
            _badKey = e;
            return Task.CompletedTask;
        }
        _lastCallTicks = time.GetTimestamp();
        this.RegisterGrainTimer(OnTimerAsync, _settings.FallbackFetchInterval, _settings.FallbackFetchInterval);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await ReleaseAsync([.. _partitions.Keys]);
    }

    /// <summary>Refuses every call to a session whose key is not a canonical "member@group".</summary>
    public Task Invoke(IIncomingGrainCallContext context) =>
        _badKey is null ? context.Invoke() : Task.FromException(new InvalidRequestException(_badKey.Message));

    public async Task<FetchResult> Fetch(TopicPartition partition, long offset, int maxBytes, int maxWaitMs)
    {
        if (maxBytes <= 0)
        {
            throw new InvalidRequestException($"maxBytes must be positive; got {maxBytes}.");
        }
        if (offset < 0)
        {
            throw new InvalidRequestException($"Cannot fetch {partition} at negative offset {offset}.");
        }
        _lastCallTicks = time.GetTimestamp();
        if (!_partitions.TryGetValue(partition, out var prefetch))
        {
            prefetch = new PartitionPrefetch(partition, new PrefetchBuffer(offset, _settings.PrefetchMaxBytes, _settings.PrefetchMaxRecords),
                GrainFactory.GetGrain<IPartitionGrain>(GrainKeys.Partition(partition)));
            _partitions[partition] = prefetch;
            _ = SubscribeAsync(prefetch);
        }
        prefetch.LastAskedTicks = _lastCallTicks;
        // Clamped as a partition clamps its long polls: the session never parks a call longer than Log.MaxFetchWait,
        // nor answers more than Log.FetchMaxBytes (fetch.max.bytes).
        var wait = Math.Min(Math.Max(0, maxWaitMs), options.Value.Log.MaxFetchWait.TotalMilliseconds);
        maxBytes = Math.Min(maxBytes, options.Value.Log.FetchMaxBytes);
        var waitUntil = time.GetTimestamp() + (long)(wait / 1000.0 * time.TimestampFrequency);
        while (true)
        {
            if (prefetch.Failure is { } failure)
            {
                // Reported once, to the fetch at the failed offset; a fetch elsewhere (the consumer reset) retries.
                prefetch.Failure = null;
                if (prefetch.FailedAt == offset)
                {
                    throw failure;
                }
            }
            var batches = prefetch.Buffer.Read(offset, maxBytes);
            StartFill(prefetch);
            var remaining = time.GetElapsedTime(time.GetTimestamp(), waitUntil);
            if (batches.Length > 0 || remaining <= TimeSpan.Zero || prefetch.Released)
            {
                return new FetchResult(batches, prefetch.LogStartOffset, prefetch.HighWatermark);
            }
            prefetch.Waiters++;
            try
            {
                await Task.WhenAny(prefetch.DataArrived, Task.Delay(remaining, time));
            }
            finally
            {
                prefetch.Waiters--;
            }
        }
    }

    public Task Release(IReadOnlyList<TopicPartition> partitions) => ReleaseAsync(partitions);

    public async Task Close()
    {
        await ReleaseAsync([.. _partitions.Keys]);
        this.DeactivateOnIdle();
    }

    private async Task ReleaseAsync(IReadOnlyList<TopicPartition> partitions)
    {
        var released = new List<PartitionPrefetch>();
        foreach (var partition in partitions)
        {
            if (_partitions.Remove(partition, out var prefetch))
            {
                prefetch.Released = true;
                prefetch.Buffer.Reset(prefetch.Buffer.NextFetchOffset);
                prefetch.Signal();
                released.Add(prefetch);
            }
        }
        await Task.WhenAll(released.Select(UnsubscribeAsync));
    }

    public Task<ConsumerSessionStats> GetStats() => Task.FromResult(new ConsumerSessionStats(
        _partitions.Count, _partitions.Values.Sum(p => p.Buffer.BufferedBytes), _notifications, _partitionFetches));

    private Task OnTimerAsync(CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        var idle = _partitions.Values.Where(p => time.GetElapsedTime(p.LastAskedTicks, now) > _settings.IdleTimeout)
            .Select(p => p.Partition).ToList();
        foreach (var prefetch in _partitions.Values)
        {
            StartFill(prefetch);
        }
        if (_partitions.Count == idle.Count && time.GetElapsedTime(_lastCallTicks, now) > _settings.IdleTimeout)
        {
            // Nobody reads through this session any more (its consumer closed or died): end it.
            this.DeactivateOnIdle();
            return Task.CompletedTask;
        }
        return idle.Count == 0 ? Task.CompletedTask : ReleaseAsync(idle);
    }

    private void OnAppended(PartitionPrefetch prefetch, PartitionAppended appended)
    {
        _notifications++;
        prefetch.HighWatermark = Math.Max(prefetch.HighWatermark, appended.HighWatermark);
        StartFill(prefetch);
    }

    private void StartFill(PartitionPrefetch prefetch)
    {
        if (prefetch.Filling || prefetch.Released || prefetch.Failure is not null || !prefetch.Buffer.HasSpace)
        {
            return;
        }
        prefetch.Filling = true;
        _ = FillAsync(prefetch);
    }

    /// <summary>
    /// Fetches until the buffer is full or the partition has nothing more. At the end of the log with a consumer
    /// waiting, the fetch long-polls the partition, which answers the moment an append is durable: a notification
    /// would arrive a stream poll period later. Without a waiter the session does not park calls on partitions; the
    /// notification (or the timer) starts the next fetch.
    /// </summary>
    private async Task FillAsync(PartitionPrefetch prefetch)
    {
        try
        {
            while (!prefetch.Released && prefetch.Buffer.HasSpace)
            {
                var from = prefetch.Buffer.NextFetchOffset;
                var atEnd = prefetch.HighWatermark <= from && prefetch.HighWatermarkKnown;
                var waitMs = atEnd && prefetch.Waiters > 0 ? LongPollMs : 0;
                FetchResult result;
                try
                {
                    _partitionFetches++;
                    result = await prefetch.Log.Fetch(from, _settings.FetchMaxBytes, waitMs);
                }
                catch (OrleansGroupsException e) when (e is OffsetOutOfRangeException or UnknownTopicException or UnknownPartitionException)
                {
                    // The consumer decides (auto.offset.reset); its next fetch at this offset gets the error.
                    if (prefetch.Buffer.NextFetchOffset == from)
                    {
                        prefetch.Failure = e;
                        prefetch.FailedAt = from;
                        prefetch.Signal();
                    }
                    return;
                }
                catch (Exception e)
                {
                    Log.PrefetchFailed(logger, this.GetPrimaryKeyString(), GrainKeys.Partition(prefetch.Partition), e);
                    return;
                }
                prefetch.LogStartOffset = result.LogStartOffset;
                prefetch.HighWatermark = Math.Max(prefetch.HighWatermark, result.HighWatermark);
                prefetch.HighWatermarkKnown = true;
                if (result.Batches.Length == 0 || !prefetch.Buffer.Append(from, result.Batches))
                {
                    // A seek moved the buffer while this fetch was out: go round. At the end: go round once more
                    // as a long poll if a consumer waits and this was not one already, else stop.
                    if (prefetch.Buffer.NextFetchOffset == from && (waitMs > 0 || prefetch.Waiters == 0))
                    {
                        return;
                    }
                    continue;
                }
                prefetch.Signal();
            }
        }
        finally
        {
            prefetch.Filling = false;
        }
    }

    private async Task SubscribeAsync(PartitionPrefetch prefetch)
    {
        try
        {
            var stream = this.GetStreamProvider(PartitionNotifications.ProviderName)
                .GetStream<PartitionAppended>(PartitionNotifications.StreamOf(prefetch.Partition));
            // A session reactivated after a crash finds its old subscription: take it over instead of adding a second.
            var handles = await stream.GetAllSubscriptionHandles();
            var handler = new Func<PartitionAppended, StreamSequenceToken?, Task>((appended, _) =>
            {
                OnAppended(prefetch, appended);
                return Task.CompletedTask;
            });
            var subscription = handles.Count > 0 ? await handles[0].ResumeAsync(handler) : await stream.SubscribeAsync(handler);
            foreach (var stale in handles.Skip(1))
            {
                await stale.UnsubscribeAsync();
            }
            if (prefetch.Released)
            {
                await subscription.UnsubscribeAsync();
                return;
            }
            prefetch.Subscription = subscription;
        }
        catch (Exception e)
        {
            Log.SubscribeFailed(logger, this.GetPrimaryKeyString(), GrainKeys.Partition(prefetch.Partition), e);
        }
    }

    private async Task UnsubscribeAsync(PartitionPrefetch prefetch)
    {
        if (prefetch.Subscription is { } subscription)
        {
            prefetch.Subscription = null;
            try
            {
                await subscription.UnsubscribeAsync();
            }
            catch (Exception e)
            {
                Log.SubscribeFailed(logger, this.GetPrimaryKeyString(), GrainKeys.Partition(prefetch.Partition), e);
            }
        }
    }

    /// <summary>One partition of the session. Touched only on the grain's scheduler.</summary>
    private sealed class PartitionPrefetch(TopicPartition partition, PrefetchBuffer buffer, IPartitionGrain log)
    {
        private TaskCompletionSource _dataArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TopicPartition Partition { get; } = partition;
        public PrefetchBuffer Buffer { get; } = buffer;
        public IPartitionGrain Log { get; } = log;
        public StreamSubscriptionHandle<PartitionAppended>? Subscription { get; set; }
        public long LogStartOffset { get; set; }
        public long HighWatermark { get; set; }
        public bool HighWatermarkKnown { get; set; }
        public int Waiters { get; set; }
        public long LastAskedTicks { get; set; }
        public bool Filling { get; set; }
        public bool Released { get; set; }
        public OrleansGroupsException? Failure { get; set; }
        public long FailedAt { get; set; }

        public Task DataArrived => _dataArrived.Task;

        public void Signal()
        {
            var arrived = _dataArrived;
            _dataArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
            arrived.TrySetResult();
        }
    }
}

/// <summary>Where partitions announce appends.</summary>
internal static class PartitionNotifications
{
    /// <summary>Name of the OrleansGroups stream provider.</summary>
    public const string ProviderName = "orleansgroups";

    /// <summary>Stream namespace of the "appended" notifications.</summary>
    public const string Namespace = "og-appended";

    /// <summary>The notification stream of one partition.</summary>
    public static StreamId StreamOf(TopicPartition partition) => StreamId.Create(Namespace, GrainKeys.Partition(partition));
}
