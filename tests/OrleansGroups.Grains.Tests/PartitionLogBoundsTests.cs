using System.Text;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.Partitions;
using OrleansGroups.Storage;

using static OrleansGroups.Grains.Tests.LogBatches;

namespace OrleansGroups.Grains.Tests;

/// <summary><see cref="PartitionLog"/>'s memory bounds: the append queue per partition and the silo-wide tail-cache budget.</summary>
public sealed class PartitionLogBoundsTests
{
    [Fact]
    public async Task AppendQueue_RefusesPastItsBound_WithARetriableTypedError_AndWritesNothingOfTheRefusedBatch()
    {
        var store = PartitionLogRecoveryTests.FlakyLogStore.Over(new MemoryLogStore(), out var flaky);
        flaky.Asynchronous = true;
        var size = Batch("v0").Batch.Length;
        var log = new PartitionLog(store, new TopicPartition("bounded", 0), 1,
            new LogOptions { MaxQueuedAppendBytes = 3 * size }, TimeProvider.System, NullLogger.Instance);
        await log.EnsureRecoveredAsync();

        // 1. One append is held in storage; three batches queue behind it, up to the bound.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        flaky.HoldNextAppendThenFail = gate.Task;
        var held = AppendAsync(log, "v0");
        await flaky.AppendHeld;
        var queued = new[] { AppendAsync(log, "v1"), AppendAsync(log, "v2"), AppendAsync(log, "v3") };

        // 2. The fourth would pass the bound: refused at once, retriable.
        var refused = await Assert.ThrowsAsync<AppendQueueFullException>(() => AppendAsync(log, "refused"));
        Assert.True(refused.IsRetriable);
        Assert.Equal((3L * size, 3L * size), (refused.QueuedBytes, refused.MaxQueuedBytes));

        // 3. Storage answers: the queued batches are written, the refused one is not.
        gate.SetResult();
        await Assert.ThrowsAsync<StorageUnavailableException>(() => held);
        var offsets = (await Task.WhenAll(queued)).Select(r => r.BaseOffset);
        Assert.Equal([0L, 1, 2], offsets);
        Assert.Equal(3, log.HighWatermark);
        Assert.Equal(0, log.QueuedBytes);
    }

    [Fact]
    public async Task TailCaches_StayWithinTheSiloBudget_AndReadsPastItComeFromStorage()
    {
        var store = new MemoryLogStore();
        var size = Batch("value-00").Batch.Length;
        var budget = new TailCacheBudget(5 * size / 2);
        PartitionLog NewLog(int partition) =>
            new(store, new TopicPartition("budget", partition), 1, new LogOptions(), TimeProvider.System, NullLogger.Instance, budget);
        var first = NewLog(0);
        var second = NewLog(1);

        for (var i = 0; i < 4; i++)
        {
            await AppendAsync(first, $"value-0{i}");
            Assert.InRange(budget.UsedBytes, 1, budget.CapacityBytes);
        }
        for (var i = 0; i < 4; i++)
        {
            await AppendAsync(second, $"value-1{i}");
            Assert.InRange(budget.UsedBytes, 1, budget.CapacityBytes);
        }

        foreach (var (log, digit) in new[] { (first, 0), (second, 1) })
        {
            var values = RecordBatch.Decode(await log.ReadAsync(0, 1 << 20)).Select(r => Encoding.UTF8.GetString(r.Value!));
            Assert.Equal(Enumerable.Range(0, 4).Select(i => $"value-{digit}{i}"), values);
        }
        first.ReleaseTailCache();
        second.ReleaseTailCache();
        Assert.Equal(0, budget.UsedBytes);
    }

    [Fact]
    public async Task IdleProducers_AreForgottenAfterProducerIdExpiration_ByAppendsAndByRecovery()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20_000));
        var store = new MemoryLogStore();
        var options = new LogOptions { ProducerIdExpiration = TimeSpan.FromHours(1) };
        var partition = new TopicPartition("expiry", 0);
        var log = new PartitionLog(store, partition, 1, options, time, NullLogger.Instance);
        await AppendAsync(log, "a0", producerId: 7, sequence: 0);
        await AppendAsync(log, "b0", producerId: 8, sequence: 0);
        Assert.Equal(2, log.Stats.Producers);

        // 1. Producer 7 stays silent past the expiration; producer 8's next append runs the expiry.
        time.Advance(TimeSpan.FromMinutes(40));
        await AppendAsync(log, "b1", producerId: 8, sequence: 1);
        time.Advance(TimeSpan.FromMinutes(40));
        await AppendAsync(log, "b2", producerId: 8, sequence: 2);
        Assert.Equal(1, log.Stats.Producers);

        // 2. A recovery dates replayed batches by its own clock (record timestamps here are from 1970), so it keeps both
        //    producers of the segment it scans, and forgets them only an expiration later.
        var recovered = new PartitionLog(store, partition, 1, options, time, NullLogger.Instance);
        await recovered.EnsureRecoveredAsync();
        Assert.Equal(2, recovered.Stats.Producers);
        time.Advance(TimeSpan.FromMinutes(61));
        await AppendAsync(recovered, "c0", producerId: 9, sequence: 0);
        Assert.Equal(1, recovered.Stats.Producers);
    }
}
