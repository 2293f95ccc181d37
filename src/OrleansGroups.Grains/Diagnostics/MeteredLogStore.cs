using OrleansGroups.Storage;

namespace OrleansGroups.Diagnostics;

/// <summary>
/// Counts every failed log-store call in <c>orleansgroups.storage.failures</c> (operation and kind), then lets the
/// failure through unchanged. Wraps whichever store the silo uses, so the log code stays free of metrics.
/// </summary>
internal sealed class MeteredLogStore(ILogStore inner) : ILogStore
{
    public Task<long> ClaimWriterAsync(string partitionPath, CancellationToken cancellationToken = default) =>
        Metered("log.claim_writer", inner.ClaimWriterAsync(partitionPath, cancellationToken));

    public Task<long> ReadWriterEpochAsync(string partitionPath, CancellationToken cancellationToken = default) =>
        Metered("log.read_writer_epoch", inner.ReadWriterEpochAsync(partitionPath, cancellationToken));

    public Task<IReadOnlyList<LogSegmentInfo>> ListSegmentsAsync(string partitionPath, CancellationToken cancellationToken = default) =>
        Metered("log.list_segments", inner.ListSegmentsAsync(partitionPath, cancellationToken));

    public Task CreateSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default) =>
        Metered("log.create_segment", inner.CreateSegmentAsync(partitionPath, baseOffset, cancellationToken));

    public Task<long> SealSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default) =>
        Metered("log.seal_segment", inner.SealSegmentAsync(partitionPath, baseOffset, cancellationToken));

    public Task AppendAsync(string partitionPath, long baseOffset, ReadOnlyMemory<byte> data, long expectedLength, CancellationToken cancellationToken = default) =>
        Metered("log.append", inner.AppendAsync(partitionPath, baseOffset, data, expectedLength, cancellationToken));

    public Task<byte[]> ReadAsync(string partitionPath, long baseOffset, long position, int length, CancellationToken cancellationToken = default) =>
        Metered("log.read", inner.ReadAsync(partitionPath, baseOffset, position, length, cancellationToken));

    public Task DeleteSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default) =>
        Metered("log.delete_segment", inner.DeleteSegmentAsync(partitionPath, baseOffset, cancellationToken));

    public Task WriteIndexAsync(string partitionPath, long baseOffset, byte[] index, CancellationToken cancellationToken = default) =>
        Metered("log.write_index", inner.WriteIndexAsync(partitionPath, baseOffset, index, cancellationToken));

    public Task<byte[]?> ReadIndexAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default) =>
        Metered("log.read_index", inner.ReadIndexAsync(partitionPath, baseOffset, cancellationToken));

    private static async Task Metered(string operation, Task call)
    {
        try
        {
            await call;
        }
        catch (Exception e)
        {
            OrleansGroupsMetrics.StorageFailed(operation, e);
            throw;
        }
    }

    private static async Task<T> Metered<T>(string operation, Task<T> call)
    {
        try
        {
            return await call;
        }
        catch (Exception e)
        {
            OrleansGroupsMetrics.StorageFailed(operation, e);
            throw;
        }
    }
}
