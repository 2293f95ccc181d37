using Microsoft.Extensions.Logging;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.Storage;

namespace OrleansGroups.Partitions;

/// <summary>
/// One partition's log over an <see cref="ILogStore"/>: group commit, segment rolling with index checkpoints,
/// an in-memory index of appended runs, a tail cache so consumers that keep up never touch storage,
/// idempotent-producer deduplication, retention, and crash recovery.
/// Not thread-safe: it runs inside one (reentrant) grain activation, whose turns never overlap.
/// </summary>
/// <remarks>
/// <para><b>One writer.</b> Orleans normally runs one activation per partition, but not always (a silo paused past its
/// membership timeout, a split network). So the log does not rely on it: a writer holds the partition's writer epoch
/// in the store, and only the current holder can acknowledge.</para>
/// <para>The claim (first recovery): 1. raise the writer epoch; 2. seal every open segment, so the previous writer's
/// appends fail from now on; 3. rebuild the index from checkpoints and scans, failing loudly on overlaps, gaps and
/// damage; 4. create a fresh active segment at the high watermark, only if absent; 5. read the epoch again.
/// A roll does the same from step 2 for one segment: seal (the sealed length must be what this writer wrote),
/// checkpoint, create only if absent, confirm the epoch. A writer that confirms after a claimant claimed is fenced
/// before it acknowledges anything in the new segment; one that confirmed before is seen by the claimant's listing.</para>
/// </remarks>
internal sealed class PartitionLog(
    ILogStore store, TopicPartition partition, long incarnation, LogOptions options, TimeProvider time, ILogger logger,
    TailCacheBudget? tailCacheBudget = null)
{
    private readonly TailCacheBudget _budget = tailCacheBudget ?? new TailCacheBudget(long.MaxValue);
    private readonly string _path = PathOf(partition, incarnation);
    private readonly List<Segment> _segments = [];
    private readonly List<IndexEntry> _index = [];
    private readonly Queue<IndexEntry> _tailCacheOrder = new();
    private readonly Dictionary<long, byte[]> _tailCache = [];
    private readonly List<PendingAppend> _pending = [];
    private readonly Dictionary<(long ProducerId, short Epoch, int BaseSequence, int Count), Task<AppendResult>> _inFlightByProducer = [];
    private readonly ProducerStateTable _producers = new(partition);
    private long _tailCacheBytes;
    private long _pendingBytes;
    private long _lastProducerExpiryMs;
    private bool _flushing;
    private Task _flush = Task.CompletedTask;
    private bool _needsRecovery = true;
    private Task? _recovery;
    private long _writerEpoch;
    private OrleansGroupsException? _failure;
    private TaskCompletionSource _dataArrived = NewSignal();

    /// <summary>First offset in the log.</summary>
    public long LogStartOffset { get; private set; }

    /// <summary>
    /// Where a partition's segments live in the <see cref="ILogStore"/>: <c>{topic}/i{incarnation}/{partition:D5}</c>, so a
    /// topic created again with a deleted one's name never sees its leftovers. Incarnation 0 (topics created before
    /// incarnations existed) keeps the original <c>{topic}/{partition:D5}</c>.
    /// </summary>
    public static string PathOf(TopicPartition partition, long incarnation) => incarnation == 0
        ? $"{partition.Topic}/{partition.Partition:D5}"
        : $"{partition.Topic}/i{incarnation}/{partition.Partition:D5}";

    /// <summary>
    /// Deletes every segment of a partition (topic deletion). Claims the writer epoch first and seals before deleting, so
    /// the live writer's next append fails instead of landing in a deleted log; lists again after each pass, so a segment
    /// rolled by an append that was already in flight is caught by the next pass (its writer, fenced, never appends to it).
    /// </summary>
    public static async Task DeleteAllAsync(ILogStore store, TopicPartition partition, long incarnation)
    {
        var path = PathOf(partition, incarnation);
        await store.ClaimWriterAsync(path);
        for (var pass = 0; pass < 3; pass++)
        {
            var segments = await store.ListSegmentsAsync(path);
            if (segments.Count == 0)
            {
                break;
            }
            foreach (var segment in segments)
            {
                if (!segment.IsSealed)
                {
                    await SealIfPresentAsync(store, path, segment.BaseOffset);
                }
                await store.DeleteSegmentAsync(path, segment.BaseOffset);
            }
        }
        // The writer epoch stays (a few bytes): were it reset, a new claim could reuse a fenced writer's epoch.
    }

    private static async Task SealIfPresentAsync(ILogStore store, string path, long baseOffset)
    {
        try
        {
            await store.SealSegmentAsync(path, baseOffset);
        }
        catch (LogWriteConflictException e) when (e.Conflict == LogWriteConflict.SegmentMissing)
        {
        }
    }

    /// <summary>Offset the next record gets.</summary>
    public long HighWatermark { get; private set; }

    /// <summary>Counters since activation, and the log's shape now.</summary>
    public PartitionStats Stats => new(LogStartOffset, HighWatermark, _segments.Count, _segments.Sum(s => s.Length),
        StorageAppends, RecordsAppended, _producers.Count);

    private long StorageAppends { get; set; }

    private long RecordsAppended { get; set; }

    /// <summary>Loads the segments and rebuilds the index (first use, or after a failed append).</summary>
    public Task EnsureRecoveredAsync()
    {
        if (_failure is { } failure)
        {
            return Task.FromException(failure);
        }
        if (!_needsRecovery)
        {
            return Task.CompletedTask;
        }
        if (_recovery is { } running)
        {
            return running;
        }
        // Keep the task only while it runs: a store that completes synchronously must not leave a finished
        // recovery behind, or the next failed append would never be followed by a real one.
        var recovery = RecoverOnceAsync();
        if (!recovery.IsCompleted)
        {
            _recovery = recovery;
        }
        return recovery;

        async Task RecoverOnceAsync()
        {
            try
            {
                await RecoverAsync();
                _needsRecovery = false;
            }
            catch (Exception e) when (e is not OrleansGroupsException)
            {
                throw new StorageUnavailableException(
                    $"The log of {partition} could not be read from storage ({e.GetType().Name}: {FirstLine(e.Message)}); nothing was changed.", e);
            }
            finally
            {
                _recovery = null;
            }
        }
    }

    /// <summary>
    /// Queues a validated batch for the next storage append and completes once it is durable. Concurrent
    /// calls share appends: while one append is in flight, the next collects everything that arrives.
    /// A retried batch of an idempotent producer gets its original offsets and is not appended again.
    /// </summary>
    public Task<AppendResult> AppendAsync(byte[] batch, RecordBatchHeader header)
    {
        if (_failure is { } failure)
        {
            return Task.FromException<AppendResult>(failure);
        }
        // 1. A retry of a batch in flight or already written is answered without queueing anything.
        if (header.ProducerId >= 0)
        {
            if (_inFlightByProducer.TryGetValue(InFlightKey(header), out var inFlight))
            {
                return inFlight;
            }
            var check = _producers.Check(header.ProducerId, header.ProducerEpoch, header.BaseSequence, header.RecordCount);
            if (check.IsDuplicate)
            {
                return Task.FromResult(new AppendResult(check.BaseOffset, header.RecordCount, check.AppendTime));
            }
        }
        // 2. Backpressure: a bounded queue (one batch always fits, or an oversized one could never be written).
        if (_pending.Count > 0 && _pendingBytes + batch.Length > options.MaxQueuedAppendBytes)
        {
            return Task.FromException<AppendResult>(
                new AppendQueueFullException(partition.Topic, partition.Partition, _pendingBytes, options.MaxQueuedAppendBytes));
        }
        // 3. Queue it; the flush loop takes everything queued into the next storage append.
        if (header.ProducerId >= 0)
        {
            _producers.Record(header.ProducerId, header.ProducerEpoch, header.BaseSequence, header.RecordCount, -1, -1);
        }
        var completion = new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending.Add(new PendingAppend(batch, header, completion));
        _pendingBytes += batch.Length;
        if (header.ProducerId >= 0)
        {
            _inFlightByProducer[InFlightKey(header)] = completion.Task;
        }
        if (!_flushing)
        {
            _flush = FlushAsync();
        }
        return completion.Task;
    }

    /// <summary>Bytes queued for the next storage appends.</summary>
    public long QueuedBytes => _pendingBytes;

    /// <summary>
    /// Stops the log for good (topic deletion): queued appends fail with <paramref name="reason"/>, later calls too, and
    /// this completes once the append already in storage has finished either way.
    /// </summary>
    public async Task CloseAsync(OrleansGroupsException reason)
    {
        _failure ??= reason;
        FailPending(reason);
        _dataArrived.TrySetResult();
        ReleaseTailCache();
        try
        {
            await _flush;
        }
        catch (Exception e)
        {
            // Its callers were told; closing only waits for it.
            Log.AppendFailed(logger, _path, e);
        }
    }

    /// <summary>Completes when the log has records at or past <paramref name="offset"/>, or after <paramref name="maxWait"/>.</summary>
    public async Task WaitForDataAsync(long offset, TimeSpan maxWait)
    {
        if (HighWatermark > offset || maxWait <= TimeSpan.Zero)
        {
            return;
        }
        await Task.WhenAny(_dataArrived.Task, Task.Delay(maxWait, time));
    }

    /// <summary>Whole batches from the one holding <paramref name="offset"/>, about <paramref name="maxBytes"/> (at least one batch).</summary>
    public async Task<byte[]> ReadAsync(long offset, int maxBytes)
    {
        if (offset >= HighWatermark || _index.Count == 0)
        {
            return [];
        }
        // Copy the entries this read needs: a recovery may rebuild the index while the read awaits storage.
        var entries = new List<(IndexEntry Entry, long SegmentBase)>();
        var planned = 0L;
        for (var i = FindEntry(offset); i < _index.Count && (entries.Count == 0 || planned < maxBytes); i++)
        {
            entries.Add((_index[i], SegmentOf(_index[i].FirstOffset).BaseOffset));
            planned += _index[i].Length;
        }
        var raw = new List<byte[]>();
        // Neighbouring uncached runs of a segment are read in one request; the trim below keeps whole batches.
        for (var i = 0; i < entries.Count; i++)
        {
            var (entry, segmentBase) = entries[i];
            if (_tailCache.TryGetValue(entry.FirstOffset, out var cached))
            {
                raw.Add(cached);
                continue;
            }
            var end = i;
            var length = (long)entry.Length;
            while (end + 1 < entries.Count && entries[end + 1].SegmentBase == segmentBase &&
                   entries[end + 1].Entry.Position == entries[end].Entry.Position + entries[end].Entry.Length &&
                   !_tailCache.ContainsKey(entries[end + 1].Entry.FirstOffset))
            {
                end++;
                length += entries[end].Entry.Length;
            }
            raw.Add(await store.ReadAsync(_path, segmentBase, entry.Position, (int)length));
            i = end;
        }
        return TrimToBatches(raw, offset, maxBytes);
    }

    /// <summary>
    /// Kafka's ListOffsets: the first offset whose record timestamp is at or after <paramref name="timestampMs"/>
    /// (the high watermark when there is none). -2 asks for the log start, -1 for the end, as in Kafka.
    /// </summary>
    public async Task<long> OffsetForTimestampAsync(long timestampMs)
    {
        switch (timestampMs)
        {
            case ListOffsetsEarliest:
                return LogStartOffset;
            case ListOffsetsLatest:
                return HighWatermark;
            case < 0:
                throw new InvalidRequestException($"Timestamp {timestampMs} is invalid: use unix milliseconds, -1 (latest) or -2 (earliest).");
        }
        foreach (var entry in _index)
        {
            if (entry.MaxTimestamp < timestampMs)
            {
                continue;
            }
            var bytes = await ReadAsync(entry.FirstOffset, entry.Length);
            foreach (var record in RecordBatch.Decode(bytes))
            {
                if (record.Offset >= entry.FirstOffset && record.Timestamp >= timestampMs)
                {
                    return record.Offset;
                }
            }
        }
        return HighWatermark;
    }

    /// <summary>Kafka's ListOffsets code for the log start.</summary>
    public const long ListOffsetsEarliest = -2;

    /// <summary>Kafka's ListOffsets code for the log end.</summary>
    public const long ListOffsetsLatest = -1;

    /// <summary>
    /// Deletes whole sealed segments older than <paramref name="config"/>'s retention.ms, or beyond its retention.bytes,
    /// oldest first, and moves the log start offset. The active segment is never deleted (as in Kafka).
    /// </summary>
    public async Task<int> ApplyRetentionAsync(TopicConfig config)
    {
        await EnsureRecoveredAsync();
        var deleted = 0;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        while (_segments.Count > 1 && !_flushing)
        {
            var oldest = _segments[0];
            var size = _segments.Sum(s => s.Length);
            var expired = config.RetentionMs >= 0 && oldest.MaxTimestamp >= 0 && oldest.MaxTimestamp < now - config.RetentionMs;
            var oversize = config.RetentionBytes >= 0 && size - oldest.Length >= config.RetentionBytes;
            if (!expired && !oversize)
            {
                break;
            }
            await store.DeleteSegmentAsync(_path, oldest.BaseOffset);
            _segments.RemoveAt(0);
            var nextStart = _segments[0].BaseOffset;
            _index.RemoveAll(e => e.FirstOffset < nextStart);
            LogStartOffset = nextStart;
            deleted++;
            Log.SegmentDeleted(logger, _path, oldest.BaseOffset, expired ? "retention.ms" : "retention.bytes", LogStartOffset);
        }
        return deleted;
    }

    private async Task FlushAsync()
    {
        _flushing = true;
        try
        {
            while (_pending.Count > 0)
            {
                try
                {
                    await EnsureRecoveredAsync();
                }
                catch (Exception e)
                {
                    FailPending(e);
                    return;
                }
                await AppendRunAsync(TakeForOneAppend());
            }
        }
        finally
        {
            _flushing = false;
        }
    }

    private List<PendingAppend> TakeForOneAppend()
    {
        var take = new List<PendingAppend>();
        var bytes = 0L;
        foreach (var item in _pending)
        {
            if (take.Count > 0 && bytes + item.Batch.Length > options.MaxAppendBytes)
            {
                break;
            }
            take.Add(item);
            bytes += item.Batch.Length;
        }
        _pending.RemoveRange(0, take.Count);
        _pendingBytes -= bytes;
        return take;
    }

    private async Task AppendRunAsync(List<PendingAppend> items)
    {
        var length = items.Sum(i => i.Batch.Length);
        try
        {
            var segment = await ActiveSegmentForAsync(length);
            var buffer = new byte[length];
            var next = HighWatermark;
            var position = 0;
            var baseOffsets = new long[items.Count];
            for (var i = 0; i < items.Count; i++)
            {
                var batch = items[i].Batch;
                RecordBatch.SetBaseOffset(batch, next);
                baseOffsets[i] = next;
                batch.CopyTo(buffer, position);
                position += batch.Length;
                next += items[i].Header.RecordCount;
            }

            var appendStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            await store.AppendAsync(_path, segment.BaseOffset, buffer, segment.Length);
            Diagnostics.OrleansGroupsMetrics.Appended(partition, next - HighWatermark, length, appendStarted);

            var entry = new IndexEntry(HighWatermark, next, segment.Length, length, items.Max(i => i.Header.MaxTimestamp));
            segment.Append(entry);
            AddToIndex(entry, buffer);
            HighWatermark = next;
            StorageAppends++;
            RecordsAppended += next - entry.FirstOffset;
            var appendTime = time.GetUtcNow().ToUnixTimeMilliseconds();
            for (var i = 0; i < items.Count; i++)
            {
                var header = items[i].Header;
                if (header.ProducerId >= 0)
                {
                    _producers.Complete(header.ProducerId, header.ProducerEpoch, header.BaseSequence, header.RecordCount, baseOffsets[i], appendTime);
                    _inFlightByProducer.Remove(InFlightKey(header));
                }
                items[i].Completion.TrySetResult(new AppendResult(baseOffsets[i], header.RecordCount, appendTime));
            }
            if (appendTime - _lastProducerExpiryMs >= ProducerExpiryPeriodMs)
            {
                ExpireIdleProducers(appendTime);
            }
            var arrived = _dataArrived;
            _dataArrived = NewSignal();
            arrived.TrySetResult();
        }
        catch (Exception e)
        {
            // The write may or may not have landed: re-read the log before the next append so offsets and
            // producer sequences stay truthful, and tell these producers nothing was acknowledged. A fenced writer
            // re-reads nothing: its recovery would only find the newer epoch again.
            _needsRecovery = true;
            Log.AppendFailed(logger, _path, e);
            // Closed meanwhile (topic deletion sealed the segment under this write): say why, not how.
            Fail(items, _failure ?? e);
        }
    }

    private void FailPending(Exception cause)
    {
        Fail([.. _pending], cause);
        _pending.Clear();
        _pendingBytes = 0;
    }

    private void Fail(IEnumerable<PendingAppend> items, Exception cause)
    {
        var error = cause as OrleansGroupsException ?? new StorageUnavailableException(
            $"The log of {partition} could not be written ({cause.GetType().Name}: {FirstLine(cause.Message)}); the records were not acknowledged.");
        foreach (var item in items)
        {
            if (item.Header.ProducerId >= 0)
            {
                _inFlightByProducer.Remove(InFlightKey(item.Header));
            }
            item.Completion.TrySetException(error);
        }
    }

    private async Task<Segment> ActiveSegmentForAsync(int appendLength)
    {
        var active = _segments[^1];
        // Age by the clock, not by record timestamps: producers' clocks differ, and a skewed one must not roll every append.
        var tooOld = time.GetUtcNow() - active.OpenedAt > options.SegmentMaxAge;
        if (active.Length > 0 && (active.Length + appendLength > options.SegmentMaxBytes || active.Blocks >= options.SegmentMaxBlocks || tooOld))
        {
            // 1. Seal: from now on nobody appends to it. Its final length must be what this writer wrote, or a second
            //    writer appended (it acknowledged those records, so they must be read before offsets go on).
            var sealedLength = await store.SealSegmentAsync(_path, active.BaseOffset);
            if (sealedLength != active.Length)
            {
                throw new LogWriteConflictException(LogWriteConflict.LengthMismatch,
                    $"Segment {_path}@{active.BaseOffset} was sealed at {sealedLength} bytes; this writer wrote {active.Length}.");
            }
            // 2. Checkpoint the sealed segment; 3. open the next one only if nobody did; 4. confirm the epoch.
            await WriteCheckpointAsync(active);
            await store.CreateSegmentAsync(_path, HighWatermark);
            await EnsureStillWriterAsync();
            active = new Segment(HighWatermark) { OpenedAt = time.GetUtcNow() };
            _segments.Add(active);
        }
        return active;
    }

    /// <summary>Writes the index checkpoint of a segment that takes no more appends.</summary>
    private async Task WriteCheckpointAsync(Segment segment)
    {
        var next = _segments[^1] == segment ? HighWatermark : _segments[_segments.IndexOf(segment) + 1].BaseOffset;
        var entries = SegmentIndex.Sparse(_index.Where(e => e.FirstOffset >= segment.BaseOffset && e.FirstOffset < next), options.IndexIntervalBytes);
        ExpireIdleProducers(time.GetUtcNow().ToUnixTimeMilliseconds());
        var checkpoint = new SegmentIndex(segment.BaseOffset, next, segment.Length, entries, _producers.Export());
        await store.WriteIndexAsync(_path, segment.BaseOffset, checkpoint.Encode());
    }

    /// <summary>Fails for good when another writer claimed the partition since this one did.</summary>
    private async Task EnsureStillWriterAsync()
    {
        var current = await store.ReadWriterEpochAsync(_path);
        if (current != _writerEpoch)
        {
            Log.WriterFenced(logger, _path, _writerEpoch, current);
            _failure = new NotLeaderOrFollowerException(partition.Topic, partition.Partition, _writerEpoch, current);
            FailPending(_failure);
            throw _failure;
        }
    }

    private async Task RecoverAsync()
    {
        // 1. Claim the partition (first recovery), or confirm this writer still holds it (after a failed append).
        if (_writerEpoch == 0)
        {
            _writerEpoch = await store.ClaimWriterAsync(_path);
            Log.WriterClaimed(logger, _path, _writerEpoch);
        }
        else
        {
            await EnsureStillWriterAsync();
        }
        for (var attempt = 1; ; attempt++)
        {
            // 2. Seal every open segment: a previous writer's appends fail from here on, and lengths are final.
            var stored = new List<LogSegmentInfo>();
            foreach (var info in await store.ListSegmentsAsync(_path))
            {
                stored.Add(info.IsSealed ? info : info with { Length = await store.SealSegmentAsync(_path, info.BaseOffset), IsSealed = true });
            }
            // 3. Rebuild the index.
            await RebuildAsync(stored);
            // 4. A fresh active segment at the high watermark, created only if absent. An empty last segment holds
            //    nothing, so it gives way to the new one (sealed, it cannot fill up meanwhile).
            if (_segments.Count > 0 && _segments[^1] is { Length: 0 } empty && empty.BaseOffset == HighWatermark)
            {
                await store.DeleteSegmentAsync(_path, empty.BaseOffset);
                _segments.RemoveAt(_segments.Count - 1);
            }
            try
            {
                await store.CreateSegmentAsync(_path, HighWatermark);
            }
            catch (LogWriteConflictException e) when (e.Conflict == LogWriteConflict.SegmentExists && attempt < 5)
            {
                // Someone created it after this listing: a newer writer (then the check fences this one), or a
                // fenced one (then the next pass seals and replaces its empty segment).
                await EnsureStillWriterAsync();
                continue;
            }
            _segments.Add(new Segment(HighWatermark) { OpenedAt = time.GetUtcNow() });
            if (_segments.Count == 1)
            {
                LogStartOffset = HighWatermark;
            }
            // 5. Confirm: a claimant that came after this read lists the new segment and seals it.
            await EnsureStillWriterAsync();
            return;
        }
    }

    /// <summary>
    /// Rebuilds segments, index, watermarks and producer state from sealed segments: checkpoints where they match
    /// their segment, scans otherwise (then checkpointed). Never truncates: damage, overlaps and gaps quarantine.
    /// </summary>
    private async Task RebuildAsync(List<LogSegmentInfo> stored)
    {
        _segments.Clear();
        _index.Clear();
        ReleaseTailCache();
        _producers.Clear();
        LogStartOffset = HighWatermark = stored.Count == 0 ? 0 : stored[0].BaseOffset;
        var next = LogStartOffset;
        var scannedBytes = 0L;
        var recoveredAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        // Every sealed segment has a small checkpoint: read them side by side, not one round trip after another
        // (a partition reactivated often has many segments until retention removes them).
        var checkpoints = await ReadCheckpointsAsync(stored);
        foreach (var info in stored)
        {
            if (_segments.Count > 0 && info.BaseOffset != next)
            {
                if (info.Length == 0 && info.BaseOffset < next)
                {
                    // Created by a writer that was fenced before it appended (see the class remarks).
                    await store.DeleteSegmentAsync(_path, info.BaseOffset);
                    Log.StraySegmentRemoved(logger, _path, info.BaseOffset);
                    continue;
                }
                throw Quarantine(info.BaseOffset < next
                    ? $"segment {info.BaseOffset} overlaps offsets {info.BaseOffset}..{next - 1} of the segment before it"
                    : $"offsets {next}..{info.BaseOffset - 1} are missing between segments");
            }
            var segment = new Segment(info.BaseOffset);
            if (ValidCheckpoint(info, checkpoints[info.BaseOffset]) is { } checkpoint)
            {
                foreach (var entry in checkpoint.Entries)
                {
                    segment.Append(entry);
                    _index.Add(entry);
                }
                segment.Length = checkpoint.Length;
                _producers.Import(checkpoint.Producers);
                next = checkpoint.NextOffset;
            }
            else
            {
                var data = await ReadWholeAsync(info);
                scannedBytes += data.Length;
                if (data.Length != info.Length)
                {
                    throw Quarantine($"segment {info.BaseOffset} is sealed at {info.Length} bytes but {data.Length} could be read");
                }
                var scan = RecordBatch.ScanSegment(data, info.BaseOffset);
                if (scan.End == SegmentScanEnd.Corrupt)
                {
                    throw Quarantine($"segment {info.BaseOffset} is damaged {scan.Problem}");
                }
                if (scan.End == SegmentScanEnd.TornTail)
                {
                    // An incomplete last batch: a write that never finished, so never acknowledged. Sealed, it stays as is.
                    Log.TornTail(logger, _path, info.BaseOffset, scan.ValidLength, data.Length);
                }
                var position = 0;
                while (position < scan.ValidLength && RecordBatch.TryReadHeader(data.AsSpan(position, scan.ValidLength - position), out var header))
                {
                    var entry = new IndexEntry(header.BaseOffset, header.LastOffset + 1, position, header.TotalSize, header.MaxTimestamp);
                    segment.Append(entry);
                    _index.Add(entry);
                    if (header.ProducerId >= 0)
                    {
                        // The recovery time, not the batch's timestamp (the producer's clock, possibly long ago): expiry
                        // must not forget a producer whose retry may still come.
                        _producers.Record(header.ProducerId, header.ProducerEpoch, header.BaseSequence, header.RecordCount, header.BaseOffset, recoveredAt);
                    }
                    position += header.TotalSize;
                }
                segment.Length = data.Length;
                next = scan.NextOffset;
                if (data.Length > 0)
                {
                    // Sealed now, so the checkpoint is final: the next recovery reads it instead of the segment.
                    ExpireIdleProducers(recoveredAt);
                    var entries = SegmentIndex.Sparse(_index.Where(e => e.FirstOffset >= info.BaseOffset), options.IndexIntervalBytes);
                    await store.WriteIndexAsync(_path, info.BaseOffset,
                        new SegmentIndex(info.BaseOffset, next, data.Length, entries, _producers.Export()).Encode());
                }
            }
            _segments.Add(segment);
        }
        HighWatermark = next;
        Log.Recovered(logger, _path, LogStartOffset, HighWatermark, _segments.Count, scannedBytes);
    }

    /// <summary>How often appends run producer-id expiry (it also runs at every checkpoint).</summary>
    private const long ProducerExpiryPeriodMs = 60_000;

    /// <summary>Forgets idle producers (Kafka's producer.id.expiration.ms) and the least active past the count bound.</summary>
    private void ExpireIdleProducers(long nowMs)
    {
        _producers.ExpireIdle(nowMs, (long)options.ProducerIdExpiration.TotalMilliseconds, options.MaxProducersPerPartition);
        _lastProducerExpiryMs = nowMs;
    }

    private CorruptLogException Quarantine(string detail)
    {
        Log.Quarantined(logger, _path, detail);
        _failure = new CorruptLogException(partition.Topic, partition.Partition, detail);
        return (CorruptLogException)_failure;
    }

    private async Task<Dictionary<long, byte[]?>> ReadCheckpointsAsync(IReadOnlyList<LogSegmentInfo> stored)
    {
        using var parallel = new SemaphoreSlim(16);
        var reads = stored.Select(async info =>
        {
            await parallel.WaitAsync();
            try
            {
                return (info.BaseOffset, Bytes: await store.ReadIndexAsync(_path, info.BaseOffset));
            }
            finally
            {
                parallel.Release();
            }
        });
        return (await Task.WhenAll(reads)).ToDictionary(r => r.BaseOffset, r => r.Bytes);
    }

    private SegmentIndex? ValidCheckpoint(LogSegmentInfo info, byte[]? bytes)
    {
        if (bytes is null)
        {
            return null;
        }
        try
        {
            var checkpoint = SegmentIndex.Decode(bytes);
            if (checkpoint.BaseOffset != info.BaseOffset)
            {
                Log.BadCheckpoint(logger, _path, info.BaseOffset, $"it is of segment {checkpoint.BaseOffset}");
                return null;
            }
            if (checkpoint.Length > info.Length)
            {
                throw Quarantine($"segment {info.BaseOffset} is {info.Length} bytes but its checkpoint covers {checkpoint.Length}: acknowledged bytes are missing");
            }
            if (checkpoint.Length < info.Length)
            {
                // Bytes were appended after the checkpoint was taken (by a writer that did not know of it): rescan, so
                // they are neither dropped nor given offsets that the next segment already uses (the continuity check).
                Log.BadCheckpoint(logger, _path, info.BaseOffset, $"it covers {checkpoint.Length} of {info.Length} bytes");
                return null;
            }
            return checkpoint;
        }
        catch (CorruptRecordException e)
        {
            Log.BadCheckpoint(logger, _path, info.BaseOffset, e.Message);
            return null;
        }
    }

    private async Task<byte[]> ReadWholeAsync(LogSegmentInfo info)
    {
        if (info.Length == 0)
        {
            return [];
        }
        var data = new byte[info.Length];
        var position = 0L;
        while (position < info.Length)
        {
            var piece = await store.ReadAsync(_path, info.BaseOffset, position, (int)Math.Min(8 << 20, info.Length - position));
            if (piece.Length == 0)
            {
                break;
            }
            piece.CopyTo(data, position);
            position += piece.Length;
        }
        return position == data.Length ? data : data[..(int)position];
    }

    private Segment SegmentOf(long offset)
    {
        for (var i = _segments.Count - 1; i > 0; i--)
        {
            if (_segments[i].BaseOffset <= offset)
            {
                return _segments[i];
            }
        }
        return _segments[0];
    }

    private int FindEntry(long offset)
    {
        int lo = 0, hi = _index.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (_index[mid].FirstOffset <= offset)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return lo;
    }

    private void AddToIndex(IndexEntry entry, byte[] bytes)
    {
        _index.Add(entry);
        if (bytes.Length > options.TailCacheBytes)
        {
            return;
        }
        // Within this partition's cap, and within the silo's budget: past it, evict this partition's oldest bytes,
        // or leave this run to storage reads.
        while (_tailCacheOrder.Count > 0 && _tailCacheBytes + bytes.Length > options.TailCacheBytes)
        {
            EvictOldest();
        }
        while (!_budget.TryReserve(bytes.Length))
        {
            if (_tailCacheOrder.Count == 0)
            {
                return;
            }
            EvictOldest();
        }
        _tailCache[entry.FirstOffset] = bytes;
        _tailCacheOrder.Enqueue(entry);
        _tailCacheBytes += bytes.Length;
    }

    private void EvictOldest()
    {
        var evicted = _tailCacheOrder.Dequeue();
        _tailCache.Remove(evicted.FirstOffset);
        _tailCacheBytes -= evicted.Length;
        _budget.Release(evicted.Length);
    }

    /// <summary>Drops the tail cache and gives its bytes back to the silo's budget (deactivation, recovery, close).</summary>
    public void ReleaseTailCache()
    {
        _budget.Release(_tailCacheBytes);
        _tailCache.Clear();
        _tailCacheOrder.Clear();
        _tailCacheBytes = 0;
    }

    private static byte[] TrimToBatches(List<byte[]> raw, long offset, int maxBytes)
    {
        var output = new MemoryStream();
        foreach (var bytes in raw)
        {
            var position = 0;
            while (position < bytes.Length && RecordBatch.TryReadHeader(bytes.AsSpan(position), out var header))
            {
                if (header.LastOffset >= offset)
                {
                    if (output.Length > 0 && output.Length + header.TotalSize > maxBytes)
                    {
                        return output.ToArray();
                    }
                    output.Write(bytes, position, header.TotalSize);
                }
                position += header.TotalSize;
            }
        }
        return output.ToArray();
    }

    private static (long, short, int, int) InFlightKey(RecordBatchHeader header) =>
        (header.ProducerId, header.ProducerEpoch, header.BaseSequence, header.RecordCount);

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record PendingAppend(byte[] Batch, RecordBatchHeader Header, TaskCompletionSource<AppendResult> Completion);

    private sealed class Segment(long baseOffset)
    {
        public long BaseOffset { get; } = baseOffset;
        public long Length { get; set; }
        public int Blocks { get; private set; }
        public long FirstTimestamp { get; private set; } = -1;
        public DateTimeOffset OpenedAt { get; set; }
        public long MaxTimestamp { get; private set; } = -1;

        public void Append(IndexEntry entry)
        {
            Length = Math.Max(Length, entry.Position + entry.Length);
            Blocks++;
            MaxTimestamp = Math.Max(MaxTimestamp, entry.MaxTimestamp);
            if (FirstTimestamp < 0)
            {
                FirstTimestamp = entry.MaxTimestamp;
            }
        }
    }
}
