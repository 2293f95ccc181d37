using OrleansGroups.Core.Errors;

namespace OrleansGroups.Core.Log;

/// <summary>
/// Record batches read ahead of a consumer from one partition, in offset order and without gaps. Pure logic of the
/// consumer grain's prefetch: the grain fetches at <see cref="NextFetchOffset"/> and <see cref="Append"/>s what it
/// got; the consumer reads with <see cref="Read"/>, which also tells the buffer what has been consumed. Not thread-safe.
/// </summary>
/// <remarks>
/// A read does not remove what it returns: a response lost on the way is asked for again with the same offset. Data
/// goes when a read asks for a later offset (the consumer moved past it); a read outside the buffered range (a seek,
/// or a consumer that reset its position) starts the buffer over at that offset.
/// </remarks>
public sealed class PrefetchBuffer
{
    private readonly LinkedList<Batch> _batches = new();

    /// <summary>A buffer that stops asking for more at <paramref name="maxBytes"/> or <paramref name="maxRecords"/> buffered.</summary>
    public PrefetchBuffer(long startOffset, long maxBytes, int maxRecords = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startOffset);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        MaxBytes = maxBytes;
        MaxRecords = maxRecords;
        NextFetchOffset = startOffset;
    }

    /// <summary>Size at which the buffer has no space.</summary>
    public long MaxBytes { get; }

    /// <summary>Record count at which the buffer has no space (small records make many per byte).</summary>
    public int MaxRecords { get; }

    /// <summary>Records held (counting whole batches).</summary>
    public long BufferedRecords { get; private set; }

    /// <summary>The offset the next fetch from the partition should start at (one past the last buffered record).</summary>
    public long NextFetchOffset { get; private set; }

    /// <summary>Bytes held.</summary>
    public long BufferedBytes { get; private set; }

    /// <summary>Batches held.</summary>
    public int BatchCount => _batches.Count;

    /// <summary>Whether a fetch should run now.</summary>
    public bool HasSpace => BufferedBytes < MaxBytes && BufferedRecords < MaxRecords;

    /// <summary>Offset of the first buffered record (the next fetch offset when empty).</summary>
    public long StartOffset => _batches.First?.Value.BaseOffset ?? NextFetchOffset;

    /// <summary>
    /// Adds what a fetch that started at <paramref name="fetchedFrom"/> returned (concatenated whole batches, the first
    /// possibly starting before that offset). Returns false, keeping nothing, when the buffer moved meanwhile (a read
    /// reset it), so a stale fetch can never put records out of order.
    /// </summary>
    /// <exception cref="CorruptRecordException">A batch header is malformed or truncated.</exception>
    public bool Append(long fetchedFrom, ReadOnlyMemory<byte> batches)
    {
        if (fetchedFrom != NextFetchOffset)
        {
            return false;
        }
        var position = 0;
        var added = false;
        while (position < batches.Length)
        {
            if (!RecordBatch.TryReadHeader(batches.Span[position..], out var header))
            {
                throw new CorruptRecordException($"A fetched batch at byte {position} of {batches.Length} is truncated.");
            }
            var bytes = batches.Slice(position, header.TotalSize);
            position += header.TotalSize;
            if (header.LastOffset < NextFetchOffset)
            {
                continue;
            }
            _batches.AddLast(new Batch(header.BaseOffset, header.LastOffset + 1, bytes, header.RecordCount));
            BufferedBytes += bytes.Length;
            BufferedRecords += header.RecordCount;
            NextFetchOffset = header.LastOffset + 1;
            added = true;
        }
        return added;
    }

    /// <summary>
    /// Whole batches from the one holding <paramref name="offset"/>, about <paramref name="maxBytes"/> (at least one batch
    /// when any is buffered), concatenated; empty when nothing at or after the offset is buffered yet. Batches wholly
    /// below the offset are dropped (consumed). An offset outside the buffered range restarts the buffer there.
    /// </summary>
    public byte[] Read(long offset, int maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (offset < StartOffset || offset > NextFetchOffset)
        {
            Reset(offset);
            return [];
        }
        while (_batches.First is { } first && first.Value.NextOffset <= offset)
        {
            BufferedBytes -= first.Value.Bytes.Length;
            BufferedRecords -= first.Value.Records;
            _batches.RemoveFirst();
        }
        if (_batches.First is null)
        {
            return [];
        }
        var take = new List<ReadOnlyMemory<byte>>();
        var total = 0;
        for (var node = _batches.First; node is not null && (take.Count == 0 || total + node.Value.Bytes.Length <= maxBytes); node = node.Next)
        {
            take.Add(node.Value.Bytes);
            total += node.Value.Bytes.Length;
        }
        var result = new byte[total];
        var at = 0;
        foreach (var bytes in take)
        {
            bytes.Span.CopyTo(result.AsSpan(at));
            at += bytes.Length;
        }
        return result;
    }

    /// <summary>Drops everything and fetches from <paramref name="offset"/> next.</summary>
    public void Reset(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        _batches.Clear();
        BufferedBytes = 0;
        BufferedRecords = 0;
        NextFetchOffset = offset;
    }

    private readonly record struct Batch(long BaseOffset, long NextOffset, ReadOnlyMemory<byte> Bytes, int Records);
}
