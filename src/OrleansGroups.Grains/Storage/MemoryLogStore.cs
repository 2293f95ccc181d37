using System.Collections.Concurrent;

namespace OrleansGroups.Storage;

/// <summary>
/// Partition logs in this process's memory: fast and lost when the process exits. For development, tests
/// and single-silo runs; a partition that moves to another silo starts empty there.
/// </summary>
public sealed class MemoryLogStore : ILogStore
{
    private readonly ConcurrentDictionary<string, SortedList<long, MemoryStream>> _partitions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string, long), byte[]> _indexes = new();

    /// <inheritdoc />
    public Task<IReadOnlyList<LogSegmentInfo>> ListSegmentsAsync(string partitionPath, CancellationToken cancellationToken = default)
    {
        var segments = Segments(partitionPath);
        lock (segments)
        {
            return Task.FromResult<IReadOnlyList<LogSegmentInfo>>(
                segments.Select(s => new LogSegmentInfo(s.Key, s.Value.Length)).ToList());
        }
    }

    /// <inheritdoc />
    public Task CreateSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        var segments = Segments(partitionPath);
        lock (segments)
        {
            segments.TryAdd(baseOffset, new MemoryStream());
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task AppendAsync(string partitionPath, long baseOffset, ReadOnlyMemory<byte> data, long expectedLength, CancellationToken cancellationToken = default)
    {
        var segments = Segments(partitionPath);
        lock (segments)
        {
            if (!segments.TryGetValue(baseOffset, out var segment))
            {
                throw new LogAppendConflictException($"Segment {partitionPath}@{baseOffset} does not exist.");
            }
            if (segment.Length != expectedLength)
            {
                throw new LogAppendConflictException(
                    $"Segment {partitionPath}@{baseOffset} is {segment.Length} bytes, expected {expectedLength}.");
            }
            segment.Seek(0, SeekOrigin.End);
            segment.Write(data.Span);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<byte[]> ReadAsync(string partitionPath, long baseOffset, long position, int length, CancellationToken cancellationToken = default)
    {
        var segments = Segments(partitionPath);
        lock (segments)
        {
            if (!segments.TryGetValue(baseOffset, out var segment))
            {
                throw new FileNotFoundException($"Segment {partitionPath}@{baseOffset} does not exist.");
            }
            var available = (int)Math.Max(0, Math.Min(length, segment.Length - position));
            var buffer = new byte[available];
            Array.Copy(segment.GetBuffer(), position, buffer, 0, available);
            return Task.FromResult(buffer);
        }
    }

    /// <inheritdoc />
    public Task DeleteSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        var segments = Segments(partitionPath);
        lock (segments)
        {
            segments.Remove(baseOffset);
        }
        _indexes.TryRemove((partitionPath, baseOffset), out _);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task WriteIndexAsync(string partitionPath, long baseOffset, byte[] index, CancellationToken cancellationToken = default)
    {
        _indexes[(partitionPath, baseOffset)] = index.ToArray();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<byte[]?> ReadIndexAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default) =>
        Task.FromResult(_indexes.TryGetValue((partitionPath, baseOffset), out var index) ? index.ToArray() : null);

    private SortedList<long, MemoryStream> Segments(string partitionPath) =>
        _partitions.GetOrAdd(partitionPath, _ => new SortedList<long, MemoryStream>());
}
