namespace OrleansGroups.Storage;

/// <summary>A segment of a partition log: a file or blob that starts at <see cref="BaseOffset"/>.</summary>
/// <param name="BaseOffset">Offset of the first record written to the segment.</param>
/// <param name="Length">Bytes in the segment.</param>
/// <param name="IsSealed">The segment takes no more appends (<see cref="ILogStore.SealSegmentAsync"/>).</param>
public sealed record LogSegmentInfo(long BaseOffset, long Length, bool IsSealed = false);

/// <summary>
/// Where partition logs live: ordered segments of appended bytes per partition, and a writer epoch per partition.
/// Implementations: <see cref="AzureAppendBlobLogStore"/> (durable) and <see cref="MemoryLogStore"/> (one process);
/// both pass one contract suite (<c>LogStoreContractTests</c>).
/// </summary>
/// <remarks>
/// The primitives are chosen so that one writer at a time can be enforced by the store, not by trust in Orleans'
/// single activation (which a paused silo or a split network can break): the writer epoch is a compare-and-set
/// counter, segments are created only if absent, an append lands only at the expected length of an unsealed
/// segment, and a sealed segment never changes again. <c>PartitionLog</c> combines them into its claim protocol.
/// </remarks>
public interface ILogStore
{
    /// <summary>
    /// Takes over the partition: raises its writer epoch by one (compare-and-set, retried against concurrent
    /// claims) and returns the new epoch. Whoever held the previous epoch is fenced from now on.
    /// </summary>
    Task<long> ClaimWriterAsync(string partitionPath, CancellationToken cancellationToken = default);

    /// <summary>The partition's current writer epoch; 0 when nobody ever claimed it.</summary>
    Task<long> ReadWriterEpochAsync(string partitionPath, CancellationToken cancellationToken = default);

    /// <summary>The segments of a partition, by base offset.</summary>
    Task<IReadOnlyList<LogSegmentInfo>> ListSegmentsAsync(string partitionPath, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates an empty segment only if no segment of that base offset exists; otherwise throws
    /// <see cref="LogWriteConflictException"/> (<see cref="LogWriteConflict.SegmentExists"/>) and changes nothing.
    /// </summary>
    Task CreateSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default);

    /// <summary>
    /// Seals a segment: every later append to it fails. Idempotent. Returns the segment's final length, so the
    /// caller learns whether anyone appended after its own last write.
    /// </summary>
    Task<long> SealSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends bytes at the end of a segment in one atomic write, only if the segment exists, is not sealed and is
    /// exactly <paramref name="expectedLength"/> bytes long; otherwise throws <see cref="LogWriteConflictException"/>
    /// and writes nothing. That check fences a second writer and detects a write that landed although its caller saw an error.
    /// </summary>
    Task AppendAsync(string partitionPath, long baseOffset, ReadOnlyMemory<byte> data, long expectedLength, CancellationToken cancellationToken = default);

    /// <summary>Reads up to <paramref name="length"/> bytes of a segment from <paramref name="position"/>.</summary>
    Task<byte[]> ReadAsync(string partitionPath, long baseOffset, long position, int length, CancellationToken cancellationToken = default);

    /// <summary>Deletes a segment and its index (retention, topic deletion, an empty segment replaced).</summary>
    Task DeleteSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default);

    /// <summary>Writes (or replaces) the index checkpoint of a sealed segment.</summary>
    Task WriteIndexAsync(string partitionPath, long baseOffset, byte[] index, CancellationToken cancellationToken = default);

    /// <summary>The index checkpoint of a segment, or null when there is none.</summary>
    Task<byte[]?> ReadIndexAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default);
}

/// <summary>Why a conditional write of a log store did not happen.</summary>
public enum LogWriteConflict
{
    /// <summary>The segment was not the expected length: another writer appended, or an earlier append landed unseen.</summary>
    LengthMismatch,

    /// <summary>The segment is sealed.</summary>
    Sealed,

    /// <summary>The segment does not exist (deleted, or never created).</summary>
    SegmentMissing,

    /// <summary>A segment with that base offset already exists.</summary>
    SegmentExists,
}

/// <summary>A conditional write of an <see cref="ILogStore"/> did not happen; nothing was written.</summary>
public sealed class LogWriteConflictException(LogWriteConflict conflict, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Which condition failed.</summary>
    public LogWriteConflict Conflict { get; } = conflict;
}
