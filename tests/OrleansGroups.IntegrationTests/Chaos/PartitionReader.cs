using System.Text;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.IntegrationTests.Chaos;

/// <summary>Reads a whole partition for an audit by <see cref="ProduceLedger"/>.</summary>
internal static class PartitionReader
{
    /// <summary>Every record of a partition from its log start to its end, through <see cref="IPartitionGrain.Fetch"/>.</summary>
    public static async Task<(long LogStart, IReadOnlyList<StoredRecord> Records)> ReadAllAsync(IGrainFactory grains, TopicPartition partition)
    {
        var grain = grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(partition));
        var watermarks = await grain.GetWatermarks();
        var records = new List<StoredRecord>();
        var offset = watermarks.LogStartOffset;
        while (offset < watermarks.HighWatermark)
        {
            var fetched = await grain.Fetch(offset, 1 << 20, maxWaitMs: 0);
            var progressed = false;
            foreach (var record in RecordBatch.Decode(fetched.Batches))
            {
                if (record.Offset < offset)
                {
                    continue; // the first batch may start before the offset asked for
                }
                records.Add(new StoredRecord(partition.Partition, record.Offset, Encoding.UTF8.GetString(record.Value ?? [])));
                offset = record.Offset + 1;
                progressed = true;
            }
            if (!progressed)
            {
                throw new InvalidOperationException(
                    $"{partition}: a fetch at offset {offset} below the high watermark {watermarks.HighWatermark} returned no records ({fetched.Batches.Length} bytes)");
            }
        }
        return (watermarks.LogStartOffset, records);
    }
}
