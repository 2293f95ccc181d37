using OrleansGroups.Core.Errors;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.Partitions;
using OrleansGroups.Storage;

using static OrleansGroups.Grains.Tests.LogBatches;

namespace OrleansGroups.Grains.Tests;

/// <summary><see cref="PartitionLog.DeleteAllAsync"/> alone (no cluster): what topic deletion leaves in the store.</summary>
public sealed class PartitionLogDeletionTests
{
    private static readonly TopicPartition Partition = new("deleted", 3);

    [Fact]
    public async Task DeleteAll_RemovesEverySegment_AndOnlyThatPartitions_SoARecreatedLogStartsAtZero()
    {
        var store = new MemoryLogStore();
        // Segments of at most two batches, so the log has several.
        var options = new LogOptions { SegmentMaxBytes = 150 };
        var log = new PartitionLog(store, Partition, 1, options, TimeProvider.System, NullLogger.Instance);
        var neighbour = new PartitionLog(store, Partition with { Partition = 4 }, 1, options, TimeProvider.System, NullLogger.Instance);
        for (var i = 0; i < 6; i++)
        {
            await AppendAsync(log, $"record {i}");
        }
        await AppendAsync(neighbour, "kept");
        Assert.True((await store.ListSegmentsAsync(PartitionLog.PathOf(Partition, 1))).Count > 1, "the log rolled segments");

        await PartitionLog.DeleteAllAsync(store, Partition, 1);
        await PartitionLog.DeleteAllAsync(store, Partition, 1);

        Assert.Empty(await store.ListSegmentsAsync(PartitionLog.PathOf(Partition, 1)));
        Assert.NotEmpty(await store.ListSegmentsAsync(PartitionLog.PathOf(Partition with { Partition = 4 }, 1)));
        var recreated = new PartitionLog(store, Partition, 1, options, TimeProvider.System, NullLogger.Instance);
        await recreated.EnsureRecoveredAsync();
        Assert.Equal((0L, 0L), (recreated.LogStartOffset, recreated.HighWatermark));
    }

    [Fact]
    public async Task DeleteAll_FencesTheLiveWriter_SoNothingIsAcknowledgedIntoTheDeletedLog()
    {
        var store = new MemoryLogStore();
        var log = new PartitionLog(store, Partition, 1, new LogOptions(), TimeProvider.System, NullLogger.Instance);
        await AppendAsync(log, "before");

        await PartitionLog.DeleteAllAsync(store, Partition, 1);

        // The writer still thinks it holds the log; its next append must fail, and leave nothing behind.
        await Assert.ThrowsAnyAsync<Exception>(() => AppendAsync(log, "after"));
        await Assert.ThrowsAsync<NotLeaderOrFollowerException>(() => AppendAsync(log, "again"));
        Assert.Empty(await store.ListSegmentsAsync(PartitionLog.PathOf(Partition, 1)));
    }
}
