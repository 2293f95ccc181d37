using System.Text;
using OrleansGroups.Core.Log;
using OrleansGroups.Partitions;

namespace OrleansGroups.Grains.Tests;

/// <summary>One-record batches and appends as <c>PartitionGrain.Append</c> makes them, for tests of <see cref="PartitionLog"/> alone.</summary>
internal static class LogBatches
{
    /// <summary>A one-record batch (timestamp 1,000), of an idempotent producer when <paramref name="producerId"/> is set.</summary>
    public static (byte[] Batch, RecordBatchHeader Header) Batch(string value, long producerId = -1, int sequence = -1)
    {
        var batch = RecordBatch.Encode(0, [new ProducerRecord(null, Encoding.UTF8.GetBytes(value), null, 1_000)],
            producerId, producerId < 0 ? (short)-1 : (short)0, sequence);
        Assert.True(RecordBatch.TryReadHeader(batch, out var header));
        return (batch, header);
    }

    /// <summary>Appends as the grain does: make sure the log is recovered, then append.</summary>
    public static async Task<AppendResult> AppendAsync(PartitionLog log, string value, long producerId = -1, int sequence = -1)
    {
        var (batch, header) = Batch(value, producerId, sequence);
        await log.EnsureRecoveredAsync();
        return await log.AppendAsync(batch, header);
    }
}
