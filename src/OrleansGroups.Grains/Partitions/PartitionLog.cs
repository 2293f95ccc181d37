using Microsoft.Extensions.Logging;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Storage;

namespace OrleansGroups.Partitions;

/// <summary>
/// One partition's log over an <see cref="ILogStore"/>: group commit, segment rolling, an in-memory index of
/// appended chunks, a tail cache so consumers that keep up never touch storage, and crash recovery.
/// Not thread-safe: it runs inside one (reentrant) grain activation, whose turns never overlap.
/// </summary>
internal sealed class PartitionLog(ILogStore store, string partitionPath, LogOptions options, ILogger logger)
{
    private readonly List<Segment> _segments = [];
    private readonly List<Chunk> _chunks = [];
    private readonly Queue<Chunk> _tailCacheOrder = new();
    private readonly Dictionary<long, byte[]> _tailCache = [];
    private readonly List<PendingAppend> _pending = [];
    private long _tailCacheBytes;
    private bool _flushing;
    private bool _needsRecovery = true;
    private Task? _recovery;
    private TaskCompletionSource _dataArrived = NewSignal();

    /// <summary>First offset in the log.</summary>
    public long LogStartOffset { get; private set; }

    /// <summary>Offset the next record gets.</summary>
    public long HighWatermark { get; private set; }

    /// <summary>Storage appends done since activation.</summary>
    public long StorageAppends { get; private set; }

    /// <summary>Records appended since activation; divided by <see cref="StorageAppends"/> it is the group-commit factor.</summary>
    public long RecordsAppended { get; private set; }

    /// <summary>Loads the segments and rebuilds the index (first use, or after a failed append).</summary>
    public Task EnsureRecoveredAsync()
    {
        if (!_needsRecovery)
        {
            return Task.CompletedTask;
        }
        return _recovery ??= RecoverOnceAsync();

        async Task RecoverOnceAsync()
        {
            try
            {
                await RecoverAsync();
                _needsRecovery = false;
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
    /// </summary>
    public Task<AppendResult> AppendAsync(byte[] batch, RecordBatchHeader header)
    {
        var completion = new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending.Add(new PendingAppend(batch, header.RecordCount, completion));
        if (!_flushing)
        {
            _ = FlushAsync();
        }
        return completion.Task;
    }

    /// <summary>Completes when the log has records at or past <paramref name="offset"/>, or after <paramref name="maxWait"/>.</summary>
    public async Task WaitForDataAsync(long offset, TimeSpan maxWait)
    {
        if (HighWatermark > offset || maxWait <= TimeSpan.Zero)
        {
            return;
        }
        await Task.WhenAny(_dataArrived.Task, Task.Delay(maxWait));
    }

    /// <summary>Whole batches from the one holding <paramref name="offset"/>, about <paramref name="maxBytes"/> (at least one batch).</summary>
    public async Task<byte[]> ReadAsync(long offset, int maxBytes)
    {
        if (offset >= HighWatermark || _chunks.Count == 0)
        {
            return [];
        }
        var index = FindChunk(offset);
        var first = _chunks[index];
        var raw = new List<byte[]>();
        var rawBytes = 0L;
        // Whole chunks from one segment until maxBytes is covered; the trim below keeps whole batches.
        for (var i = index; i < _chunks.Count && (i == index || rawBytes < maxBytes); i++)
        {
            var chunk = _chunks[i];
            if (chunk.SegmentBase != first.SegmentBase)
            {
                break;
            }
            var cached = FromCache(chunk);
            if (cached is null)
            {
                var end = i;
                var length = (long)chunk.Length;
                while (end + 1 < _chunks.Count && _chunks[end + 1].SegmentBase == first.SegmentBase &&
                       rawBytes + length < maxBytes && FromCache(_chunks[end + 1]) is null)
                {
                    end++;
                    length += _chunks[end].Length;
                }
                raw.Add(await store.ReadAsync(partitionPath, chunk.SegmentBase, chunk.Position, (int)length));
                rawBytes += length;
                i = end;
            }
            else
            {
                raw.Add(cached);
                rawBytes += cached.Length;
            }
        }
        return TrimToBatches(raw, offset, maxBytes);
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
                    FailPending(_pending.ToList(), e);
                    _pending.Clear();
                    return;
                }
                var take = TakeForOneAppend();
                await AppendChunkAsync(take);
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
        return take;
    }

    private async Task AppendChunkAsync(List<PendingAppend> items)
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
                next += items[i].RecordCount;
            }

            await store.AppendAsync(partitionPath, segment.BaseOffset, buffer, segment.Length);

            var chunk = new Chunk(HighWatermark, next, segment.BaseOffset, segment.Length, length);
            segment.Length += length;
            segment.Blocks++;
            AddChunk(chunk, buffer);
            HighWatermark = next;
            StorageAppends++;
            RecordsAppended += items.Sum(i => i.RecordCount);
            var appendTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            for (var i = 0; i < items.Count; i++)
            {
                items[i].Completion.TrySetResult(new AppendResult(baseOffsets[i], items[i].RecordCount, appendTime));
            }
            var arrived = _dataArrived;
            _dataArrived = NewSignal();
            arrived.TrySetResult();
        }
        catch (Exception e)
        {
            // The write may or may not have landed: re-read the log before the next append so offsets
            // stay truthful, and tell these producers nothing was acknowledged.
            _needsRecovery = true;
            Log.AppendFailed(logger, partitionPath, e);
            FailPending(items, e);
        }
    }

    private static void FailPending(IEnumerable<PendingAppend> items, Exception cause)
    {
        var error = cause as OrleansGroupsException ?? new StorageUnavailableException(
            $"The partition log could not be written ({cause.GetType().Name}: {cause.Message}); the records were not acknowledged.");
        foreach (var item in items)
        {
            item.Completion.TrySetException(error);
        }
    }

    private async Task<Segment> ActiveSegmentForAsync(int appendLength)
    {
        var active = _segments[^1];
        if (active.Length > 0 && (active.Length + appendLength > options.SegmentMaxBytes || active.Blocks >= options.SegmentMaxBlocks))
        {
            await store.CreateSegmentAsync(partitionPath, HighWatermark);
            active = new Segment(HighWatermark) { Length = 0 };
            _segments.Add(active);
        }
        return active;
    }

    private async Task RecoverAsync()
    {
        _segments.Clear();
        _chunks.Clear();
        _tailCache.Clear();
        _tailCacheOrder.Clear();
        _tailCacheBytes = 0;
        var stored = await store.ListSegmentsAsync(partitionPath);
        if (stored.Count == 0)
        {
            await store.CreateSegmentAsync(partitionPath, 0);
            _segments.Add(new Segment(0));
            LogStartOffset = HighWatermark = 0;
            return;
        }

        LogStartOffset = stored[0].BaseOffset;
        var next = LogStartOffset;
        var tornTail = false;
        foreach (var info in stored)
        {
            if (info.BaseOffset != next)
            {
                Log.SegmentGap(logger, partitionPath, next, info.BaseOffset);
                next = info.BaseOffset;
            }
            var data = await ReadWholeAsync(info);
            var valid = RecordBatch.ScanValidPrefix(data, info.BaseOffset, out var segmentNext);
            var segment = new Segment(info.BaseOffset) { Length = data.Length };
            var position = 0;
            while (position < valid && RecordBatch.TryReadHeader(data.AsSpan(position, valid - position), out var header))
            {
                _chunks.Add(new Chunk(header.BaseOffset, header.LastOffset + 1, info.BaseOffset, position, header.TotalSize));
                segment.Blocks++;
                position += header.TotalSize;
            }
            _segments.Add(segment);
            tornTail = valid < data.Length;
            if (tornTail)
            {
                Log.TornTail(logger, partitionPath, info.BaseOffset, valid, data.Length);
            }
            next = segmentNext;
        }
        HighWatermark = next;
        if (tornTail)
        {
            // Bytes after the last valid batch were never acknowledged; appending after them would hide
            // new batches behind garbage, so continue in a fresh segment.
            await store.CreateSegmentAsync(partitionPath, HighWatermark);
            _segments.Add(new Segment(HighWatermark));
        }
        Log.Recovered(logger, partitionPath, LogStartOffset, HighWatermark, _segments.Count);
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
            var piece = await store.ReadAsync(partitionPath, info.BaseOffset, position, (int)Math.Min(8 << 20, info.Length - position));
            if (piece.Length == 0)
            {
                break;
            }
            piece.CopyTo(data, position);
            position += piece.Length;
        }
        return position == data.Length ? data : data[..(int)position];
    }

    private int FindChunk(long offset)
    {
        int lo = 0, hi = _chunks.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (_chunks[mid].FirstOffset <= offset)
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

    private void AddChunk(Chunk chunk, byte[] bytes)
    {
        _chunks.Add(chunk);
        _tailCache[chunk.FirstOffset] = bytes;
        _tailCacheOrder.Enqueue(chunk);
        _tailCacheBytes += bytes.Length;
        while (_tailCacheBytes > options.TailCacheBytes && _tailCacheOrder.Count > 1)
        {
            var evicted = _tailCacheOrder.Dequeue();
            _tailCacheBytes -= evicted.Length;
            _tailCache.Remove(evicted.FirstOffset);
        }
    }

    private byte[]? FromCache(Chunk chunk) => _tailCache.GetValueOrDefault(chunk.FirstOffset);

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

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed record PendingAppend(byte[] Batch, int RecordCount, TaskCompletionSource<AppendResult> Completion);

    /// <summary>A contiguous run of batches written by one append (or found by recovery).</summary>
    private readonly record struct Chunk(long FirstOffset, long NextOffset, long SegmentBase, long Position, int Length);

    private sealed class Segment(long baseOffset)
    {
        public long BaseOffset { get; } = baseOffset;
        public long Length { get; set; }
        public int Blocks { get; set; }
    }
}
