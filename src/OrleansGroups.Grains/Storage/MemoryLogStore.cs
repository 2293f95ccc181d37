using System.Collections.Concurrent;

namespace OrleansGroups.Storage;

/// <summary>
/// Partition logs in this process's memory: fast and lost when the process exits. For development, tests
/// and single-silo runs; a partition that moves to another silo starts empty there. Obeys the same
/// contract as <see cref="AzureAppendBlobLogStore"/> (writer epochs, conditional create, sealing).
/// </summary>
public sealed class MemoryLogStore : ILogStore
{
    private readonly ConcurrentDictionary<string, Partition> _partitions = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task<long> ClaimWriterAsync(string partitionPath, CancellationToken cancellationToken = default)
    {
        var partition = PartitionOf(partitionPath);
        lock (partition)
        {
            return Task.FromResult(++partition.WriterEpoch);
        }
    }

    /// <inheritdoc />
    public Task<long> ReadWriterEpochAsync(string partitionPath, CancellationToken cancellationToken = default)
    {
        var partition = PartitionOf(partitionPath);
        lock (partition)
        {
            return Task.FromResult(partition.WriterEpoch);
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<LogSegmentInfo>> ListSegmentsAsync(string partitionPath, CancellationToken cancellationToken = default)
    {
        var partition = PartitionOf(partitionPath);
        lock (partition)
        {
            return Task.FromResult<IReadOnlyList<LogSegmentInfo>>(
                partition.Segments.Select(s => new LogSegmentInfo(s.Key, s.Value.Data.Length, s.Value.IsSealed)).ToList());
        }
    }

    /// <inheritdoc />
    public Task CreateSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        var partition = PartitionOf(partitionPath);
        lock (partition)
        {
            if (!partition.Segments.TryAdd(baseOffset, new Segment()))
            {
                throw new LogWriteConflictException(LogWriteConflict.SegmentExists, $"Segment {partitionPath}@{baseOffset} already exists.");
            }
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long> SealSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        var partition = PartitionOf(partitionPath);
        lock (partition)
        {
            var segment = SegmentOf(partition, partitionPath, baseOffset);
            segment.IsSealed = true;
            return Task.FromResult(segment.Data.Length);
        }
    }

    /// <inheritdoc />
    public Task AppendAsync(string partitionPath, long baseOffset, ReadOnlyMemory<byte> data, long expectedLength, CancellationToken cancellationToken = default)
    {
        var partition = PartitionOf(partitionPath);
        lock (partition)
        {
            var segment = SegmentOf(partition, partitionPath, baseOffset);
            if (segment.IsSealed)
            {
                throw new LogWriteConflictException(LogWriteConflict.Sealed, $"Segment {partitionPath}@{baseOffset} is sealed.");
            }
            if (segment.Data.Length != expectedLength)
            {
                throw new LogWriteConflictException(LogWriteConflict.LengthMismatch,
                    $"Segment {partitionPath}@{baseOffset} is {segment.Data.Length} bytes, expected {expectedLength}.");
            }
            segment.Data.Seek(0, SeekOrigin.End);
            segment.Data.Write(data.Span);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<byte[]> ReadAsync(string partitionPath, long baseOffset, long position, int length, CancellationToken cancellationToken = default)
    {
        var partition = PartitionOf(partitionPath);
        lock (partition)
        {
            if (!partition.Segments.TryGetValue(baseOffset, out var segment))
            {
                throw new FileNotFoundException($"Segment {partitionPath}@{baseOffset} does not exist.");
            }
            var available = (int)Math.Max(0, Math.Min(length, segment.Data.Length - position));
            var buffer = new byte[available];
            Array.Copy(segment.Data.GetBuffer(), position, buffer, 0, available);
            return Task.FromResult(buffer);
        }
    }

    /// <inheritdoc />
    public Task DeleteSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        var partition = PartitionOf(partitionPath);
        lock (partition)
        {
            partition.Segments.Remove(baseOffset);
            partition.Indexes.Remove(baseOffset);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task WriteIndexAsync(string partitionPath, long baseOffset, byte[] index, CancellationToken cancellationToken = default)
    {
        var partition = PartitionOf(partitionPath);
        lock (partition)
        {
            partition.Indexes[baseOffset] = index.ToArray();
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<byte[]?> ReadIndexAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        var partition = PartitionOf(partitionPath);
        lock (partition)
        {
            return Task.FromResult(partition.Indexes.TryGetValue(baseOffset, out var index) ? index.ToArray() : null);
        }
    }

    private static Segment SegmentOf(Partition partition, string partitionPath, long baseOffset) =>
        partition.Segments.TryGetValue(baseOffset, out var segment)
            ? segment
            : throw new LogWriteConflictException(LogWriteConflict.SegmentMissing, $"Segment {partitionPath}@{baseOffset} does not exist.");

    private Partition PartitionOf(string partitionPath) => _partitions.GetOrAdd(partitionPath, _ => new Partition());

    private sealed class Partition
    {
        public long WriterEpoch { get; set; }
        public SortedList<long, Segment> Segments { get; } = [];
        public Dictionary<long, byte[]> Indexes { get; } = [];
    }

    private sealed class Segment
    {
        public MemoryStream Data { get; } = new();
        public bool IsSealed { get; set; }
    }
}
