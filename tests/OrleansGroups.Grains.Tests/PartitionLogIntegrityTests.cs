using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.Partitions;
using OrleansGroups.Storage;

using static OrleansGroups.Grains.Tests.LogBatches;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// <see cref="PartitionLog"/>'s one-writer protocol and its recovery of every damaged or torn shape, on every store.
/// Two <see cref="PartitionLog"/> instances over one store are two activations of one partition, as a split brain
/// makes them. Shapes that no correct writer leaves are written into the store by hand.
/// </summary>
public abstract class PartitionLogIntegrityTests
{
    protected abstract ILogStore Store { get; }

    private readonly TopicPartition _partition = new($"integrity-{Guid.NewGuid():N}"[..24], 0);

    private string Path => PartitionLog.PathOf(_partition, 1);

    private PartitionLog NewWriter(LogOptions? options = null) =>
        new(Store, _partition, 1, options ?? new LogOptions(), TimeProvider.System, NullLogger.Instance);

    private static byte[] Batch(long baseOffset, string value) =>
        RecordBatch.Encode(baseOffset, [new ProducerRecord(null, Encoding.UTF8.GetBytes(value), null, 1_000)]);

    private static async Task<List<(long Offset, string Value)>> ReadAllAsync(PartitionLog log)
    {
        await log.EnsureRecoveredAsync();
        var records = new List<(long, string)>();
        var offset = log.LogStartOffset;
        while (offset < log.HighWatermark)
        {
            var batch = RecordBatch.Decode(await log.ReadAsync(offset, 1 << 20)).Where(r => r.Offset >= offset).ToList();
            Assert.NotEmpty(batch);
            records.AddRange(batch.Select(r => (r.Offset, Encoding.UTF8.GetString(r.Value!))));
            offset = batch[^1].Offset + 1;
        }
        return records;
    }

    /// <summary>Writes a segment by hand: the given bytes, sealed or not.</summary>
    private async Task WriteSegmentAsync(long baseOffset, byte[] bytes, bool seal = true)
    {
        await Store.CreateSegmentAsync(Path, baseOffset);
        if (bytes.Length > 0)
        {
            await Store.AppendAsync(Path, baseOffset, bytes, 0);
        }
        if (seal)
        {
            await Store.SealSegmentAsync(Path, baseOffset);
        }
    }

    private async Task<long> SegmentLengthAsync(long baseOffset) =>
        (await Store.ListSegmentsAsync(Path)).Single(s => s.BaseOffset == baseOffset).Length;

    [Fact]
    public async Task SecondWriter_FencesTheFirst_WhichNeverAcknowledgesAgain_AndNothingAcknowledgedIsLost()
    {
        var first = NewWriter();
        await AppendAsync(first, "a0");
        await AppendAsync(first, "a1");

        var second = NewWriter();
        await second.EnsureRecoveredAsync();

        // The first writer's segment is sealed: its append fails, and its recovery finds the newer epoch.
        await Assert.ThrowsAnyAsync<OrleansGroupsException>(() => AppendAsync(first, "a2"));
        var fenced = await Assert.ThrowsAsync<NotLeaderOrFollowerException>(() => AppendAsync(first, "a3"));
        var b0 = await AppendAsync(second, "b0");

        Assert.Equal((1L, 2L), (fenced.WriterEpoch, fenced.CurrentEpoch));
        Assert.Equal(2, b0.BaseOffset);
        Assert.Equal([(0L, "a0"), (1L, "a1"), (2L, "b0")], await ReadAllAsync(NewWriter()));
    }

    [Fact]
    public async Task FencedWriterThatRolls_FindsTheNextSegmentTaken_AndAcknowledgesNothing()
    {
        var rollEveryTwo = new LogOptions { SegmentMaxBlocks = 2 };
        var first = NewWriter(rollEveryTwo);
        await AppendAsync(first, "a0");
        await AppendAsync(first, "a1");
        var second = NewWriter(rollEveryTwo);
        await second.EnsureRecoveredAsync();

        // The first writer's next append rolls: its old segment is sealed (by the claim) at the length it knows, but the
        // next segment already exists, made by the second writer.
        await Assert.ThrowsAnyAsync<OrleansGroupsException>(() => AppendAsync(first, "a2"));
        await Assert.ThrowsAsync<NotLeaderOrFollowerException>(() => AppendAsync(first, "a3"));
        await AppendAsync(second, "b0");
        await AppendAsync(second, "b1");
        await AppendAsync(second, "b2");

        Assert.Equal([(0L, "a0"), (1L, "a1"), (2L, "b0"), (3L, "b1"), (4L, "b2")], await ReadAllAsync(NewWriter()));
    }

    [Fact]
    public async Task Reactivations_KeepEveryRecord_AndAddNoSegmentWhenNothingWasWritten()
    {
        var first = NewWriter();
        await AppendAsync(first, "x");
        await NewWriter().EnsureRecoveredAsync();
        var segmentsAfterOneTakeover = (await Store.ListSegmentsAsync(Path)).Count;

        await NewWriter().EnsureRecoveredAsync();
        await NewWriter().EnsureRecoveredAsync();

        Assert.Equal(2, segmentsAfterOneTakeover);
        Assert.Equal(segmentsAfterOneTakeover, (await Store.ListSegmentsAsync(Path)).Count);
        Assert.Equal([(0L, "x")], await ReadAllAsync(NewWriter()));
    }

    [Fact]
    public async Task TornTail_IsLeftAsIs_AndAppendsGoOnAfterTheLastCompleteBatch()
    {
        var whole = Batch(0, "complete");
        var torn = Batch(1, "never acknowledged");
        await WriteSegmentAsync(0, [.. whole, .. torn.AsSpan(0, torn.Length / 2)], seal: false);

        var log = NewWriter();
        var next = await AppendAsync(log, "after");

        Assert.Equal(1, next.BaseOffset);
        Assert.Equal([(0L, "complete"), (1L, "after")], await ReadAllAsync(NewWriter()));
        Assert.Equal(whole.Length + torn.Length / 2, await SegmentLengthAsync(0));
    }

    [Fact]
    public async Task CorruptBatchInTheMiddle_Quarantines_AndTruncatesNothing()
    {
        var middle = Batch(1, "damaged");
        middle[^1] ^= 0xFF;
        byte[] bytes = [.. Batch(0, "r0"), .. middle, .. Batch(2, "r2")];
        await WriteSegmentAsync(0, bytes, seal: false);

        var log = NewWriter();
        var error = await Assert.ThrowsAsync<CorruptLogException>(log.EnsureRecoveredAsync);
        await Assert.ThrowsAsync<CorruptLogException>(() => AppendAsync(log, "refused"));

        Assert.Contains("CRC", error.Detail);
        Assert.Equal(bytes.Length, await SegmentLengthAsync(0));
        Assert.Equal([0L], (await Store.ListSegmentsAsync(Path)).Select(s => s.BaseOffset));
    }

    [Fact]
    public async Task CheckpointShorterThanItsSealedSegment_IsRescanned_SoNoRecordIsDropped()
    {
        var r0 = Batch(0, "r0");
        await WriteSegmentAsync(0, [.. r0, .. Batch(1, "written after the checkpoint")]);
        var stale = new SegmentIndex(0, 1, r0.Length, [new IndexEntry(0, 1, 0, r0.Length, 1_000)], []);
        await Store.WriteIndexAsync(Path, 0, stale.Encode());

        var log = NewWriter();
        var next = await AppendAsync(log, "r2");

        Assert.Equal(2, next.BaseOffset);
        Assert.Equal([(0L, "r0"), (1L, "written after the checkpoint"), (2L, "r2")], await ReadAllAsync(NewWriter()));
    }

    [Fact]
    public async Task CheckpointLongerThanItsSegment_Quarantines()
    {
        var r0 = Batch(0, "r0");
        await WriteSegmentAsync(0, r0);
        await Store.WriteIndexAsync(Path, 0, new SegmentIndex(0, 2, r0.Length * 2, [new IndexEntry(0, 1, 0, r0.Length, 1_000)], []).Encode());

        var error = await Assert.ThrowsAsync<CorruptLogException>(NewWriter().EnsureRecoveredAsync);

        Assert.Contains("missing", error.Detail);
    }

    [Fact]
    public async Task OverlappingSegmentsWithRecords_Quarantine()
    {
        await WriteSegmentAsync(0, [.. Batch(0, "r0"), .. Batch(1, "r1")]);
        await WriteSegmentAsync(1, Batch(1, "a second r1"));

        var error = await Assert.ThrowsAsync<CorruptLogException>(NewWriter().EnsureRecoveredAsync);

        Assert.Contains("overlaps", error.Detail);
        Assert.Equal([0L, 1L], (await Store.ListSegmentsAsync(Path)).Select(s => s.BaseOffset));
    }

    [Fact]
    public async Task EmptySegmentInsideTheLog_LeftByAFencedWriter_IsRemoved()
    {
        await WriteSegmentAsync(0, [.. Batch(0, "r0"), .. Batch(1, "r1"), .. Batch(2, "r2")]);
        await WriteSegmentAsync(1, [], seal: false);

        var log = NewWriter();
        await log.EnsureRecoveredAsync();

        Assert.Equal(3, log.HighWatermark);
        Assert.DoesNotContain(1L, (await Store.ListSegmentsAsync(Path)).Select(s => s.BaseOffset));
    }

    [Fact]
    public async Task GapBetweenSegments_Quarantines()
    {
        await WriteSegmentAsync(0, Batch(0, "r0"));
        await WriteSegmentAsync(5, Batch(5, "r5"));

        var error = await Assert.ThrowsAsync<CorruptLogException>(NewWriter().EnsureRecoveredAsync);

        Assert.Contains("missing", error.Detail);
    }
}

public sealed class MemoryPartitionLogIntegrityTests : PartitionLogIntegrityTests
{
    protected override ILogStore Store { get; } = new MemoryLogStore();
}

[Collection(AzuriteClusterCollection.Name)]
public sealed class AzuritePartitionLogIntegrityTests(AzuriteClusterFixture fixture) : PartitionLogIntegrityTests
{
    protected override ILogStore Store { get; } = AzureAppendBlobLogStoreContractTests.StoreOver(fixture.ConnectionString);
}
