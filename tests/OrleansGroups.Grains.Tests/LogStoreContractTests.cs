using Azure.Storage.Blobs;
using OrleansGroups.Storage;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// The <see cref="ILogStore"/> contract, run against every store: conditional appends, conditional creation, sealing,
/// writer epochs, listing and index checkpoints. <c>PartitionLog</c>'s one-writer protocol rests on exactly these.
/// Each test uses its own partition path.
/// </summary>
public abstract class LogStoreContractTests
{
    protected abstract ILogStore Store { get; }

    private readonly string _path = $"contract/{Guid.NewGuid():N}";

    private static byte[] Bytes(int count, byte fill) => Enumerable.Repeat(fill, count).ToArray();

    [Fact]
    public async Task Append_AtTheExpectedLength_Lands_AndAtAnyOther_ConflictsAndWritesNothing()
    {
        await Store.CreateSegmentAsync(_path, 0);
        await Store.AppendAsync(_path, 0, Bytes(10, 1), expectedLength: 0);

        var stale = await Assert.ThrowsAsync<LogWriteConflictException>(() => Store.AppendAsync(_path, 0, Bytes(5, 2), expectedLength: 0));
        await Store.AppendAsync(_path, 0, Bytes(5, 3), expectedLength: 10);

        Assert.Equal(LogWriteConflict.LengthMismatch, stale.Conflict);
        var read = await Store.ReadAsync(_path, 0, 0, 100);
        Assert.Equal(Bytes(10, 1).Concat(Bytes(5, 3)), read);
    }

    [Fact]
    public async Task CreateSegment_WhenItExists_IsSegmentExists_AndKeepsItsBytes()
    {
        await Store.CreateSegmentAsync(_path, 7);
        await Store.AppendAsync(_path, 7, Bytes(4, 9), 0);

        var again = await Assert.ThrowsAsync<LogWriteConflictException>(() => Store.CreateSegmentAsync(_path, 7));

        Assert.Equal(LogWriteConflict.SegmentExists, again.Conflict);
        Assert.Equal(Bytes(4, 9), await Store.ReadAsync(_path, 7, 0, 100));
    }

    [Fact]
    public async Task Seal_ReturnsTheFinalLength_IsIdempotent_AndEveryLaterAppendFails()
    {
        await Store.CreateSegmentAsync(_path, 0);
        await Store.AppendAsync(_path, 0, Bytes(6, 1), 0);

        var first = await Store.SealSegmentAsync(_path, 0);
        var second = await Store.SealSegmentAsync(_path, 0);
        var append = await Assert.ThrowsAsync<LogWriteConflictException>(() => Store.AppendAsync(_path, 0, Bytes(1, 2), 6));

        Assert.Equal((6L, 6L), (first, second));
        Assert.Equal(LogWriteConflict.Sealed, append.Conflict);
        Assert.Equal([new LogSegmentInfo(0, 6, IsSealed: true)], await Store.ListSegmentsAsync(_path));
    }

    [Fact]
    public async Task AppendOrSeal_OfAMissingSegment_IsSegmentMissing()
    {
        var append = await Assert.ThrowsAsync<LogWriteConflictException>(() => Store.AppendAsync(_path, 0, Bytes(1, 1), 0));
        var seal = await Assert.ThrowsAsync<LogWriteConflictException>(() => Store.SealSegmentAsync(_path, 0));

        Assert.Equal((LogWriteConflict.SegmentMissing, LogWriteConflict.SegmentMissing), (append.Conflict, seal.Conflict));
        Assert.Empty(await Store.ListSegmentsAsync(_path));
    }

    [Fact]
    public async Task ClaimWriter_RaisesTheEpoch_AndConcurrentClaimsGetDistinctEpochs()
    {
        Assert.Equal(0, await Store.ReadWriterEpochAsync(_path));
        Assert.Equal(1, await Store.ClaimWriterAsync(_path));

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Task.Run(() => Store.ClaimWriterAsync(_path))));

        Assert.Equal([2L, 3, 4, 5, 6], concurrent.Order());
        Assert.Equal(6, await Store.ReadWriterEpochAsync(_path));
        Assert.Equal(0, await Store.ReadWriterEpochAsync(_path + "-other"));
    }

    [Fact]
    public async Task List_GivesSegmentsInOffsetOrder_WithLengthAndSeal_AndNothingElseInTheFolder()
    {
        await Store.CreateSegmentAsync(_path, 100);
        await Store.CreateSegmentAsync(_path, 20);
        await Store.AppendAsync(_path, 20, Bytes(3, 1), 0);
        await Store.SealSegmentAsync(_path, 20);
        await Store.WriteIndexAsync(_path, 20, [1, 2, 3]);
        await Store.ClaimWriterAsync(_path);

        Assert.Equal([new LogSegmentInfo(20, 3, true), new LogSegmentInfo(100, 0, false)], await Store.ListSegmentsAsync(_path));
    }

    [Fact]
    public async Task Index_IsWrittenReplacedReadAndDeletedWithItsSegment()
    {
        await Store.CreateSegmentAsync(_path, 0);
        Assert.Null(await Store.ReadIndexAsync(_path, 0));
        await Store.WriteIndexAsync(_path, 0, [1]);
        await Store.WriteIndexAsync(_path, 0, [2, 2]);
        Assert.Equal([2, 2], await Store.ReadIndexAsync(_path, 0));

        await Store.DeleteSegmentAsync(_path, 0);

        Assert.Null(await Store.ReadIndexAsync(_path, 0));
        Assert.Empty(await Store.ListSegmentsAsync(_path));
        // Deleted, the name is free again (an empty segment replaced by its writer).
        await Store.CreateSegmentAsync(_path, 0);
    }

    [Fact]
    public async Task Read_PastTheEnd_GivesWhatThereIs()
    {
        await Store.CreateSegmentAsync(_path, 0);
        await Store.AppendAsync(_path, 0, Bytes(4, 5), 0);

        Assert.Equal(Bytes(2, 5), await Store.ReadAsync(_path, 0, 2, 100));
        Assert.Empty(await Store.ReadAsync(_path, 0, 4, 100));
    }
}

public sealed class MemoryLogStoreContractTests : LogStoreContractTests
{
    protected override ILogStore Store { get; } = new MemoryLogStore();
}

[Collection(AzuriteClusterCollection.Name)]
public sealed class AzureAppendBlobLogStoreContractTests(AzuriteClusterFixture fixture) : LogStoreContractTests
{
    protected override ILogStore Store { get; } = StoreOver(fixture.ConnectionString);

    internal static ILogStore StoreOver(string connectionString) =>
        new AzureAppendBlobLogStore(new BlobServiceClient(connectionString).GetBlobContainerClient("log-store-contract"), $"{Guid.NewGuid():N}");
}
