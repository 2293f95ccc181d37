using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace OrleansGroups.Storage;

/// <summary>
/// Partition logs as Azure append blobs: <c>{prefix}logs/{topic}/{partition:D5}/{baseOffset:D20}.log</c>.
/// Every append is one append-block call guarded by <c>If-Append-Position-Equal</c>, so a write is atomic,
/// a second writer is fenced, and a retried write never lands twice. Segments are created with <c>If-None-Match: *</c>,
/// sealed with the append blob seal operation, and the writer epoch is a small blob <c>writer</c> beside them,
/// updated with <c>If-Match</c>.
/// </summary>
public sealed class AzureAppendBlobLogStore : ILogStore
{
    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private readonly SemaphoreSlim _containerCreated = new(1, 1);
    private volatile bool _containerExists;

    /// <summary>Creates the store over a container; <paramref name="prefix"/> separates services sharing it.</summary>
    public AzureAppendBlobLogStore(BlobContainerClient container, string prefix)
    {
        _container = container;
        _prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
    }

    /// <inheritdoc />
    public async Task<long> ClaimWriterAsync(string partitionPath, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        var writer = WriterBlob(partitionPath);
        // Compare-and-set on the blob's ETag: two claimants racing both succeed in turn, never with the same epoch.
        for (var attempt = 0; ; attempt++)
        {
            var (epoch, etag) = await ReadWriterAsync(writer, cancellationToken);
            var conditions = etag is { } known ? new BlobRequestConditions { IfMatch = known } : new BlobRequestConditions { IfNoneMatch = ETag.All };
            try
            {
                await writer.UploadAsync(BinaryData.FromString((epoch + 1).ToString(CultureInfo.InvariantCulture)),
                    new BlobUploadOptions { Conditions = conditions }, cancellationToken);
                return epoch + 1;
            }
            catch (RequestFailedException e) when ((e.Status is 409 or 412) && attempt < 20)
            {
            }
        }
    }

    /// <inheritdoc />
    public async Task<long> ReadWriterEpochAsync(string partitionPath, CancellationToken cancellationToken = default) =>
        (await ReadWriterAsync(WriterBlob(partitionPath), cancellationToken)).Epoch;

    /// <inheritdoc />
    public async Task<IReadOnlyList<LogSegmentInfo>> ListSegmentsAsync(string partitionPath, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        var segments = new List<LogSegmentInfo>();
        var folder = Folder(partitionPath);
        await foreach (var blob in _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, folder, cancellationToken))
        {
            var name = blob.Name[folder.Length..];
            if (name.EndsWith(".log", StringComparison.Ordinal) &&
                long.TryParse(name.AsSpan(0, name.Length - 4), NumberStyles.None, CultureInfo.InvariantCulture, out var baseOffset))
            {
                segments.Add(new LogSegmentInfo(baseOffset, blob.Properties.ContentLength ?? 0, blob.Properties.IsSealed ?? false));
            }
        }
        segments.Sort((a, b) => a.BaseOffset.CompareTo(b.BaseOffset));
        return segments;
    }

    /// <inheritdoc />
    public async Task CreateSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        try
        {
            await Blob(partitionPath, baseOffset).CreateAsync(
                new AppendBlobCreateOptions { Conditions = new AppendBlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            throw new LogWriteConflictException(LogWriteConflict.SegmentExists, $"Segment {partitionPath}@{baseOffset} already exists.", e);
        }
    }

    /// <inheritdoc />
    public async Task<long> SealSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        var blob = Blob(partitionPath, baseOffset);
        try
        {
            await blob.SealAsync(cancellationToken: cancellationToken);
            // Sealed, so the length read now is final.
            return (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value.ContentLength;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new LogWriteConflictException(LogWriteConflict.SegmentMissing, $"Segment {partitionPath}@{baseOffset} does not exist.", e);
        }
    }

    /// <inheritdoc />
    public async Task AppendAsync(string partitionPath, long baseOffset, ReadOnlyMemory<byte> data, long expectedLength, CancellationToken cancellationToken = default)
    {
        var options = new AppendBlobAppendBlockOptions
        {
            Conditions = new AppendBlobRequestConditions { IfAppendPositionEqual = expectedLength },
        };
        try
        {
            using var stream = new ReadOnlyMemoryStream(data);
            await Blob(partitionPath, baseOffset).AppendBlockAsync(stream, options, cancellationToken);
        }
        catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.AppendPositionConditionNotMet || e.Status == 412)
        {
            throw new LogWriteConflictException(LogWriteConflict.LengthMismatch,
                $"Segment {partitionPath}@{baseOffset} is not {expectedLength} bytes long: another write landed.", e);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new LogWriteConflictException(LogWriteConflict.SegmentMissing, $"Segment {partitionPath}@{baseOffset} does not exist.", e);
        }
        catch (RequestFailedException e) when (e.Status == 409 && e.ErrorCode == SealedErrorCode)
        {
            throw new LogWriteConflictException(LogWriteConflict.Sealed, $"Segment {partitionPath}@{baseOffset} is sealed.", e);
        }
    }

    /// <inheritdoc />
    public async Task<byte[]> ReadAsync(string partitionPath, long baseOffset, long position, int length, CancellationToken cancellationToken = default)
    {
        if (length <= 0)
        {
            return [];
        }
        try
        {
            var result = await Blob(partitionPath, baseOffset).DownloadContentAsync(
                new BlobDownloadOptions { Range = new HttpRange(position, length) }, cancellationToken);
            return result.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 416)
        {
            return [];
        }
    }

    /// <inheritdoc />
    public async Task DeleteSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        // The log first: an index without its log is ignored by listing, a log without its index is rescanned.
        await Blob(partitionPath, baseOffset).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        await IndexBlob(partitionPath, baseOffset).DeleteIfExistsAsync(cancellationToken: cancellationToken);
    }

    /// <inheritdoc />
    public async Task WriteIndexAsync(string partitionPath, long baseOffset, byte[] index, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        await IndexBlob(partitionPath, baseOffset).UploadAsync(new BinaryData(index), overwrite: true, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<byte[]?> ReadIndexAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        try
        {
            var result = await IndexBlob(partitionPath, baseOffset).DownloadContentAsync(cancellationToken);
            return result.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    /// <summary>The error code of an append to a sealed append blob (not in <see cref="BlobErrorCode"/>).</summary>
    private const string SealedErrorCode = "BlobIsSealed";

    private static async Task<(long Epoch, ETag? ETag)> ReadWriterAsync(BlobClient writer, CancellationToken cancellationToken)
    {
        try
        {
            var result = await writer.DownloadContentAsync(cancellationToken);
            var epoch = long.Parse(result.Value.Content.ToString(), NumberStyles.None, CultureInfo.InvariantCulture);
            return (epoch, result.Value.Details.ETag);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return (0, null);
        }
    }

    private BlobClient WriterBlob(string partitionPath) => _container.GetBlobClient($"{Folder(partitionPath)}writer");

    private BlobClient IndexBlob(string partitionPath, long baseOffset) =>
        _container.GetBlobClient($"{Folder(partitionPath)}{baseOffset:D20}.index");

    private string Folder(string partitionPath) => $"{_prefix}logs/{partitionPath}/";

    private AppendBlobClient Blob(string partitionPath, long baseOffset) =>
        _container.GetAppendBlobClient($"{Folder(partitionPath)}{baseOffset:D20}.log");

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_containerExists)
        {
            return;
        }
        await _containerCreated.WaitAsync(cancellationToken);
        try
        {
            if (!_containerExists)
            {
                await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
                _containerExists = true;
            }
        }
        finally
        {
            _containerCreated.Release();
        }
    }

    /// <summary>A read-only stream over memory, so appends do not copy the buffer.</summary>
    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> data) : Stream
    {
        private int _position;
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => _position = (int)value; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, data.Length - _position);
            data.Span.Slice(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => _position = (int)(origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => data.Length + offset,
        });
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
