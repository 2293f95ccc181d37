namespace OrleansGroups.Storage;

/// <summary>A segment of a partition log: a file or blob that starts at <see cref="BaseOffset"/>.</summary>
/// <param name="BaseOffset">Offset of the first record written to the segment.</param>
/// <param name="Length">Bytes in the segment.</param>
public sealed record LogSegmentInfo(long BaseOffset, long Length);

/// <summary>
/// Where partition logs live: ordered segments of appended bytes per partition. Implementations:
/// <see cref="AzureAppendBlobLogStore"/> (durable) and <see cref="MemoryLogStore"/> (one process).
/// Both pass the same contract tests.
/// </summary>
public interface ILogStore
{
    /// <summary>The segments of a partition, by base offset.</summary>
    Task<IReadOnlyList<LogSegmentInfo>> ListSegmentsAsync(string partitionPath, CancellationToken cancellationToken = default);

    /// <summary>Creates an empty segment; a no-op when it already exists.</summary>
    Task CreateSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends bytes at the end of a segment in one atomic write, only if the segment is exactly
    /// <paramref name="expectedLength"/> bytes long; otherwise throws <see cref="LogAppendConflictException"/>
    /// and writes nothing. That check fences a second writer and detects a write that landed although its caller saw an error.
    /// </summary>
    Task AppendAsync(string partitionPath, long baseOffset, ReadOnlyMemory<byte> data, long expectedLength, CancellationToken cancellationToken = default);

    /// <summary>Reads up to <paramref name="length"/> bytes of a segment from <paramref name="position"/>.</summary>
    Task<byte[]> ReadAsync(string partitionPath, long baseOffset, long position, int length, CancellationToken cancellationToken = default);

    /// <summary>Deletes a segment and its index (retention).</summary>
    Task DeleteSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default);

    /// <summary>Writes (or replaces) the index checkpoint of a sealed segment.</summary>
    Task WriteIndexAsync(string partitionPath, long baseOffset, byte[] index, CancellationToken cancellationToken = default);

    /// <summary>The index checkpoint of a segment, or null when there is none.</summary>
    Task<byte[]?> ReadIndexAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default);
}

/// <summary>The segment was not the expected length: another writer appended, or an earlier append landed unseen.</summary>
public sealed class LogAppendConflictException(string message, Exception? inner = null) : Exception(message, inner);
