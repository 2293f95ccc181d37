using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace OrleansGroups.Storage;

/// <summary>
/// Partition logs as Azure append blobs: <c>{prefix}logs/{topic}/{partition:D5}/{baseOffset:D20}.log</c>.
/// Every append is one append-block call guarded by <c>If-Append-Position-Equal</c>, so a write is atomic,
/// a second writer is fenced, and a retried write never lands twice.
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
                segments.Add(new LogSegmentInfo(baseOffset, blob.Properties.ContentLength ?? 0));
            }
        }
        segments.Sort((a, b) => a.BaseOffset.CompareTo(b.BaseOffset));
        return segments;
    }

    /// <inheritdoc />
    public async Task CreateSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        await Blob(partitionPath, baseOffset).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
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
            throw new LogAppendConflictException(
                $"Segment {partitionPath}@{baseOffset} is not {expectedLength} bytes long: another write landed.", e);
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
