using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Streams;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.Hosting;
using OrleansGroups.Partitions;
using OrleansGroups.Storage;

namespace OrleansGroups;

/// <summary>
/// Thin shell over <see cref="PartitionLog"/>. Reentrant so that appends arriving while a storage write is in
/// flight join the next write (group commit) and long-poll fetches do not block producers.
/// </summary>
[Reentrant]
internal sealed class PartitionGrain(
    ILogStore store, IOptions<OrleansGroupsOptions> options, TailCacheBudget tailCacheBudget, TimeProvider time, ILogger<PartitionGrain> logger)
    : Grain, IPartitionGrain, IIncomingGrainCallFilter
{
    private TopicPartition _partition;
    private TopicConfig _config = TopicConfig.Default;
    private PartitionLog? _log;
    private IAsyncStream<PartitionAppended>? _notifications;
    private long _lastFetchTicks = long.MinValue;
    private long _announced = -1;
    private long _lastAnnounceTicks;
    private bool _announcing;
    private IDisposable? _retentionTimer;
    private long? _deletedIncarnation;
    private InvalidRequestException? _badKey;

    /// <summary>
    /// Parses the key strictly: "orders/01" or "orders/+1" would otherwise be a second activation over partition 1's
    /// storage. A bad key is remembered and every call is refused with it (see <see cref="Invoke"/>), before touching storage.
    /// </summary>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        try
        {
            _partition = GrainKeys.ParsePartition(this.GetPrimaryKeyString());
        }
        catch (InvalidRequestException e)
        {
            _badKey = e;
        }
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _log?.ReleaseTailCache();
        return Task.CompletedTask;
    }

    /// <summary>Refuses every call to a grain whose key is not a canonical "topic/partition", before anything runs.</summary>
    public Task Invoke(IIncomingGrainCallContext context) =>
        _badKey is null ? context.Invoke() : Task.FromException(new InvalidRequestException(_badKey.Message));

    public async Task<AppendResult> Append(byte[] batch)
    {
        var log = await ReadyAsync();
        if (batch is null || batch.Length == 0)
        {
            throw new InvalidRequestException("An append needs a record batch.");
        }
        if (batch.Length > _config.MaxMessageBytes)
        {
            throw new RecordTooLargeException(batch.Length, _config.MaxMessageBytes);
        }
        RecordBatch.Validate(batch);
        if (!RecordBatch.TryReadHeader(batch, out var header))
        {
            throw new CorruptRecordException($"The batch of {batch.Length} bytes is incomplete.");
        }
        try
        {
            var appended = await log.AppendAsync(batch, header);
            Announce();
            return appended;
        }
        catch (NotLeaderOrFollowerException)
        {
            DeactivateOnIdle();
            throw;
        }
    }

    public async Task<FetchResult> Fetch(long offset, int maxBytes, int maxWaitMs)
    {
        var log = await ReadyAsync();
        _lastFetchTicks = time.GetTimestamp();
        if (maxBytes <= 0)
        {
            throw new InvalidRequestException($"maxBytes must be positive; got {maxBytes}.");
        }
        if (offset < log.LogStartOffset || offset > log.HighWatermark)
        {
            throw new OffsetOutOfRangeException(_partition.Topic, _partition.Partition, offset, log.LogStartOffset, log.HighWatermark);
        }
        if (offset == log.HighWatermark && maxWaitMs > 0)
        {
            var wait = TimeSpan.FromMilliseconds(maxWaitMs);
            await log.WaitForDataAsync(offset, wait < options.Value.Log.MaxFetchWait ? wait : options.Value.Log.MaxFetchWait);
        }
        // fetch.max.bytes: the server's cap, whatever the caller asked (a first batch larger than it still comes whole).
        var readStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        var batches = await log.ReadAsync(offset, Math.Min(maxBytes, options.Value.Log.FetchMaxBytes));
        Diagnostics.OrleansGroupsMetrics.Fetched(_partition, readStarted);
        return new FetchResult(batches, log.LogStartOffset, log.HighWatermark);
    }

    public async Task<PartitionWatermarks> GetWatermarks()
    {
        var log = await ReadyAsync();
        return new PartitionWatermarks(log.LogStartOffset, log.HighWatermark);
    }

    public async Task<long> GetOffsetForTimestamp(long timestampMs) => await (await ReadyAsync()).OffsetForTimestampAsync(timestampMs);

    public async Task<PartitionStats> GetStats() => (await ReadyAsync()).Stats;

    public async Task DeleteLog(long incarnation)
    {
        // Forget the log first: calls from now on go back to the registry, which no longer knows the topic (or knows
        // a new incarnation of the same name, with its own storage path).
        _deletedIncarnation = incarnation;
        var log = _log;
        _log = null;
        _retentionTimer?.Dispose();
        _retentionTimer = null;
        DeactivateOnIdle();
        try
        {
            if (log is not null)
            {
                await log.CloseAsync(new UnknownTopicException(_partition.Topic));
            }
            await PartitionLog.DeleteAllAsync(store, _partition, incarnation);
        }
        catch (Exception e) when (e is not OrleansGroupsException)
        {
            throw new StorageUnavailableException(
                $"The log of {_partition} could not be deleted ({e.GetType().Name}: {e.Message}); the topic stays hidden, and deleting it again finishes the job.", e);
        }
    }

    public async Task<int> ApplyRetention() => await (await ReadyAsync()).ApplyRetentionAsync(_config);

    /// <summary>
    /// Publishes the new high watermark on the partition's notification stream, at most one publish in flight (appends
    /// committed meanwhile are announced together), and only while someone fetched recently: an unread partition
    /// costs no stream traffic. Consumer sessions fetch at least every fallback interval, so they keep it on.
    /// </summary>
    private void Announce()
    {
        if (_announcing || _log is null || _log.HighWatermark <= _announced
            || _lastFetchTicks == long.MinValue
            || time.GetElapsedTime(_lastFetchTicks) > 5 * options.Value.Consumers.FallbackFetchInterval)
        {
            return;
        }
        _announcing = true;
        _ = AnnounceAsync();
    }

    private async Task AnnounceAsync()
    {
        try
        {
            _notifications ??= this.GetStreamProvider(PartitionNotifications.ProviderName)
                .GetStream<PartitionAppended>(PartitionNotifications.StreamOf(_partition));
            // At most one notification per stream poll period: pulling agents deliver no sooner, and a session needs only
            // the latest high watermark, so a burst of appends costs one publish, not one each.
            var period = options.Value.Consumers.StreamPollPeriod;
            // The log goes away when the topic is deleted: nothing more to announce then.
            while (_log is { } log && log.HighWatermark > _announced)
            {
                var wait = period - time.GetElapsedTime(_lastAnnounceTicks);
                if (_lastAnnounceTicks != 0 && wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time);
                    continue;
                }
                var highWatermark = log.HighWatermark;
                _lastAnnounceTicks = time.GetTimestamp();
                await _notifications.OnNextAsync(new PartitionAppended(highWatermark));
                _announced = highWatermark;
            }
        }
        catch (Exception e)
        {
            Log.NotifyFailed(logger, GrainKeys.Partition(_partition), e);
        }
        finally
        {
            _announcing = false;
        }
    }

    private async Task<PartitionLog> ReadyAsync()
    {
        if (_log is null)
        {
            var topic = await GrainFactory.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry).GetTopic(_partition.Topic)
                        ?? throw new UnknownTopicException(_partition.Topic);
            if (_partition.Partition < 0 || _partition.Partition >= topic.PartitionCount)
            {
                throw new UnknownPartitionException(_partition.Topic, _partition.Partition, topic.PartitionCount);
            }
            if (topic.Incarnation == _deletedIncarnation)
            {
                // The registry answered before it hid the topic that this activation just deleted.
                throw new UnknownTopicException(_partition.Topic);
            }
            _config = topic.Config;
            // Another turn may have created it while this one awaited the registry.
            if (_log is null)
            {
                _log = new PartitionLog(store, _partition, topic.Incarnation, options.Value.Log, time, logger, tailCacheBudget);
                if (_config.RetentionMs >= 0 || _config.RetentionBytes >= 0)
                {
                    var period = options.Value.Log.RetentionCheckInterval;
                    var log = _log;
                    _retentionTimer = this.RegisterGrainTimer(async _ => await log.ApplyRetentionAsync(_config), TimeSpan.Zero, period);
                }
            }
        }
        var ready = _log;
        try
        {
            await ready.EnsureRecoveredAsync();
        }
        catch (NotLeaderOrFollowerException)
        {
            // Another activation writes this partition now: let the next call find it.
            DeactivateOnIdle();
            throw;
        }
        return ready;
    }
}
