using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;
using OrleansGroups.Core.Errors;

namespace OrleansGroups.Core.Log;

/// <summary>The fixed fields at the start of a record batch, read without touching its records.</summary>
public readonly struct RecordBatchHeader
{
    internal RecordBatchHeader(ReadOnlySpan<byte> b)
    {
        BaseOffset = BinaryPrimitives.ReadInt64BigEndian(b[RecordBatch.BaseOffsetAt..]);
        BatchLength = BinaryPrimitives.ReadInt32BigEndian(b[RecordBatch.BatchLengthAt..]);
        PartitionLeaderEpoch = BinaryPrimitives.ReadInt32BigEndian(b[RecordBatch.PartitionLeaderEpochAt..]);
        Magic = b[RecordBatch.MagicAt];
        Crc = BinaryPrimitives.ReadUInt32BigEndian(b[RecordBatch.CrcAt..]);
        Attributes = BinaryPrimitives.ReadInt16BigEndian(b[RecordBatch.AttributesAt..]);
        LastOffsetDelta = BinaryPrimitives.ReadInt32BigEndian(b[RecordBatch.LastOffsetDeltaAt..]);
        BaseTimestamp = BinaryPrimitives.ReadInt64BigEndian(b[RecordBatch.BaseTimestampAt..]);
        MaxTimestamp = BinaryPrimitives.ReadInt64BigEndian(b[RecordBatch.MaxTimestampAt..]);
        ProducerId = BinaryPrimitives.ReadInt64BigEndian(b[RecordBatch.ProducerIdAt..]);
        ProducerEpoch = BinaryPrimitives.ReadInt16BigEndian(b[RecordBatch.ProducerEpochAt..]);
        BaseSequence = BinaryPrimitives.ReadInt32BigEndian(b[RecordBatch.BaseSequenceAt..]);
        RecordCount = BinaryPrimitives.ReadInt32BigEndian(b[RecordBatch.RecordCountAt..]);
    }

    /// <summary>Offset of the first record; the only field rewritten after encoding (see <see cref="RecordBatch.SetBaseOffset"/>).</summary>
    public long BaseOffset { get; }

    /// <summary>Bytes after the batch-length field, i.e. <see cref="TotalSize"/> minus <see cref="RecordBatch.LogOverhead"/>.</summary>
    public int BatchLength { get; }

    /// <summary>Size of the whole batch in bytes: where the next batch starts.</summary>
    public int TotalSize => RecordBatch.LogOverhead + BatchLength;

    /// <summary>Offset of the last record relative to <see cref="BaseOffset"/>.</summary>
    public int LastOffsetDelta { get; }

    /// <summary>Absolute offset of the last record; the next batch starts at <c>LastOffset + 1</c>.</summary>
    public long LastOffset => BaseOffset + LastOffsetDelta;

    /// <summary>How many records the batch holds.</summary>
    public int RecordCount { get; }

    /// <summary>Timestamp of the first record (unix ms); record timestamps are stored as deltas from it.</summary>
    public long BaseTimestamp { get; }

    /// <summary>Largest record timestamp in the batch (unix ms), so time-based retention need not decode records.</summary>
    public long MaxTimestamp { get; }

    /// <summary>Idempotent-producer id, or -1 when none.</summary>
    public long ProducerId { get; }

    /// <summary>Idempotent-producer epoch, or -1 when none.</summary>
    public short ProducerEpoch { get; }

    /// <summary>Sequence number of the first record for the producer, or -1 when none.</summary>
    public int BaseSequence { get; }

    /// <summary>The stored CRC-32C over everything from the attributes field to the end of the batch.</summary>
    public uint Crc { get; }

    internal int PartitionLeaderEpoch { get; }

    internal byte Magic { get; }

    internal short Attributes { get; }
}

/// <summary>
/// Encodes and decodes record batches in Kafka's v2 (magic 2) layout, big-endian, uncompressed:
/// <code>
/// baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
/// attributes int16 | lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 |
/// producerId int64 | producerEpoch int16 | baseSequence int32 | recordCount int32 | records
/// </code>
/// Each record is <c>length varint | attributes int8 | timestampDelta varlong | offsetDelta varint |
/// keyLength varint | key | valueLength varint | value | headerCount varint | headers</c>, lengths -1 for null.
/// The CRC-32C covers attributes to the end, so the base offset can be assigned at append time without re-hashing.
/// </summary>
public static class RecordBatch
{
    /// <summary>Bytes before the part counted by batchLength: baseOffset (8) + batchLength (4).</summary>
    public const int LogOverhead = 12;

    /// <summary>Size of the fixed header: 8+4+4+1+4+2+4+8+8+8+2+4+4 = 61 bytes.</summary>
    public const int HeaderSize = 61;

    /// <summary>The only format version written and read.</summary>
    public const byte CurrentMagic = 2;

    internal const int BaseOffsetAt = 0;
    internal const int BatchLengthAt = 8;
    internal const int PartitionLeaderEpochAt = 12;
    internal const int MagicAt = 16;
    internal const int CrcAt = 17;
    internal const int AttributesAt = 21;
    internal const int LastOffsetDeltaAt = 23;
    internal const int BaseTimestampAt = 27;
    internal const int MaxTimestampAt = 35;
    internal const int ProducerIdAt = 43;
    internal const int ProducerEpochAt = 51;
    internal const int BaseSequenceAt = 53;
    internal const int RecordCountAt = 57;

    private const int MinBatchLength = HeaderSize - LogOverhead;
    private const int MaxBatchLength = int.MaxValue - LogOverhead;

    // Strict so a key with a lone surrogate is rejected instead of silently turning into U+FFFD.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The exact size <see cref="Encode"/> will produce for <paramref name="records"/>, to size batches before encoding.</summary>
    /// <exception cref="InvalidRequestException">The list is empty, a header key is null or not valid UTF-16, or the batch would exceed 2 GiB.</exception>
    public static int EncodedSize(IReadOnlyList<ProducerRecord> records) => Measure(records, out _);

    /// <summary>Encodes <paramref name="records"/> as one batch whose first record gets <paramref name="baseOffset"/>.</summary>
    /// <param name="baseOffset">Offset of the first record; later records follow contiguously.</param>
    /// <param name="records">At least one record.</param>
    /// <param name="producerId">Idempotent-producer id, -1 for none.</param>
    /// <param name="producerEpoch">Idempotent-producer epoch, -1 for none.</param>
    /// <param name="baseSequence">Sequence of the first record, -1 for none.</param>
    /// <exception cref="InvalidRequestException">The list is empty, the base offset is negative, a header key is null or not valid UTF-16, or the batch would exceed 2 GiB.</exception>
    public static byte[] Encode(long baseOffset, IReadOnlyList<ProducerRecord> records,
        long producerId = -1, short producerEpoch = -1, int baseSequence = -1)
    {
        EnsureOffset(baseOffset);
        var size = Measure(records, out var bodySizes);
        var baseTimestamp = records[0].Timestamp;
        var maxTimestamp = long.MinValue;

        var buffer = new byte[size];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteInt64BigEndian(span[BaseOffsetAt..], baseOffset);
        BinaryPrimitives.WriteInt32BigEndian(span[BatchLengthAt..], size - LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(span[PartitionLeaderEpochAt..], 0);
        span[MagicAt] = CurrentMagic;
        BinaryPrimitives.WriteInt16BigEndian(span[AttributesAt..], 0);
        BinaryPrimitives.WriteInt32BigEndian(span[LastOffsetDeltaAt..], records.Count - 1);
        BinaryPrimitives.WriteInt64BigEndian(span[BaseTimestampAt..], baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(span[ProducerIdAt..], producerId);
        BinaryPrimitives.WriteInt16BigEndian(span[ProducerEpochAt..], producerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(span[BaseSequenceAt..], baseSequence);
        BinaryPrimitives.WriteInt32BigEndian(span[RecordCountAt..], records.Count);

        var pos = HeaderSize;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            maxTimestamp = Math.Max(maxTimestamp, record.Timestamp);
            pos += VarInt.Write(span[pos..], bodySizes[i]);
            span[pos++] = 0; // record attributes: unused in v2
            pos += VarInt.Write(span[pos..], record.Timestamp - baseTimestamp);
            pos += VarInt.Write(span[pos..], i);
            pos += WriteBytes(span[pos..], record.Key);
            pos += WriteBytes(span[pos..], record.Value);
            var headers = record.Headers ?? [];
            pos += VarInt.Write(span[pos..], headers.Count);
            foreach (var header in headers)
            {
                var keyLength = StrictUtf8.GetByteCount(header.Key);
                pos += VarInt.Write(span[pos..], keyLength);
                pos += StrictUtf8.GetBytes(header.Key, span[pos..]);
                pos += WriteBytes(span[pos..], header.Value);
            }
        }

        BinaryPrimitives.WriteInt64BigEndian(span[MaxTimestampAt..], maxTimestamp);
        BinaryPrimitives.WriteUInt32BigEndian(span[CrcAt..], Crc32C.Compute(span[AttributesAt..]));
        return buffer;
    }

    /// <summary>
    /// Reads the fixed header at the start of <paramref name="buffer"/>. Returns false when the buffer holds
    /// less than <see cref="HeaderSize"/> bytes or less than the batch's <see cref="RecordBatchHeader.TotalSize"/>
    /// (a torn tail). In the second case <paramref name="header"/> is still filled in, so a caller reading from
    /// a stream learns how many bytes to read next. Does not check the CRC: see <see cref="Validate"/>.
    /// </summary>
    /// <exception cref="CorruptRecordException">The magic byte is not 2, or batchLength is negative, too small for a header, or absurdly large.</exception>
    public static bool TryReadHeader(ReadOnlySpan<byte> buffer, out RecordBatchHeader header)
    {
        var status = ParseHeader(buffer, out header, out var error);
        return status == HeaderStatus.Corrupt ? throw new CorruptRecordException(error!) : status == HeaderStatus.Complete;
    }

    /// <summary>
    /// Checks that <paramref name="batch"/> is exactly one well-formed batch: header, CRC, and every record's
    /// framing, offset delta and header encoding. Run it on untrusted input before appending.
    /// </summary>
    /// <exception cref="CorruptRecordException">The batch is truncated, has trailing bytes, fails its CRC, or is malformed; the message says where.</exception>
    public static void Validate(ReadOnlySpan<byte> batch)
    {
        var header = ReadWholeBatch(batch);
        if (Check(batch, header, sink: null) is { } error)
            throw new CorruptRecordException(error);
    }

    /// <summary>
    /// Rewrites the base offset of the batch at the start of <paramref name="batch"/> in place. The CRC does not
    /// cover the base offset (as in Kafka), so the log assigns offsets at append time without re-hashing.
    /// </summary>
    /// <exception cref="InvalidRequestException"><paramref name="baseOffset"/> is negative.</exception>
    /// <exception cref="CorruptRecordException">The span is shorter than a batch header.</exception>
    public static void SetBaseOffset(Span<byte> batch, long baseOffset)
    {
        EnsureOffset(baseOffset);
        if (batch.Length < HeaderSize)
            throw new CorruptRecordException($"Not a record batch: {batch.Length} bytes, a batch header alone is {HeaderSize}.");
        BinaryPrimitives.WriteInt64BigEndian(batch[BaseOffsetAt..], baseOffset);
    }

    /// <summary>
    /// Decodes concatenated batches into records with absolute offsets, lazily, one batch at a time. Each batch
    /// is validated (CRC included) before any of its records is returned.
    /// </summary>
    /// <exception cref="CorruptRecordException">Enumeration reached a corrupt batch or a truncated trailing batch.</exception>
    public static IEnumerable<Record> Decode(ReadOnlyMemory<byte> batches)
    {
        var position = 0;
        while (position < batches.Length)
        {
            var records = DecodeBatchAt(batches, position, out var size);
            position += size;
            foreach (var record in records)
                yield return record;
        }
    }

    /// <summary>Validates and decodes exactly one batch.</summary>
    /// <exception cref="CorruptRecordException">As for <see cref="Validate"/>.</exception>
    public static IReadOnlyList<Record> DecodeBatch(ReadOnlySpan<byte> batch)
    {
        var header = ReadWholeBatch(batch);
        var records = new List<Record>(header.RecordCount);
        if (Check(batch, header, records) is { } error)
            throw new CorruptRecordException(error);
        return records;
    }

    /// <summary>
    /// Crash recovery: walks the batches at the start of <paramref name="data"/> and returns how many bytes form
    /// complete, valid batches with contiguous offsets starting at <paramref name="expectedFirstOffset"/>.
    /// Stops, without throwing, at the first torn, corrupt or out-of-sequence batch; everything after it should
    /// be truncated.
    /// </summary>
    /// <param name="data">The log bytes, typically a whole segment.</param>
    /// <param name="expectedFirstOffset">The offset the first batch must start at.</param>
    /// <param name="nextOffset">The offset after the last valid batch (<paramref name="expectedFirstOffset"/> if none).</param>
    public static int ScanValidPrefix(ReadOnlySpan<byte> data, long expectedFirstOffset, out long nextOffset)
    {
        var scan = ScanSegment(data, expectedFirstOffset);
        nextOffset = scan.NextOffset;
        return scan.ValidLength;
    }

    /// <summary>
    /// Crash recovery of one segment: walks its batches like <see cref="ScanValidPrefix"/> and also says how the valid
    /// prefix ends. Only an incomplete last batch is a torn tail (a write that never finished, so never acknowledged);
    /// a complete batch that fails its checks, or whose offsets do not follow, is damage to records that may have been
    /// acknowledged, and must not be truncated away.
    /// </summary>
    /// <param name="data">The whole segment.</param>
    /// <param name="expectedFirstOffset">The offset the first batch must start at (the segment's base offset).</param>
    public static SegmentScan ScanSegment(ReadOnlySpan<byte> data, long expectedFirstOffset)
    {
        var position = 0;
        var nextOffset = expectedFirstOffset;
        while (position < data.Length)
        {
            var rest = data[position..];
            switch (ParseHeader(rest, out var header, out var error))
            {
                case HeaderStatus.Incomplete:
                    return new SegmentScan(position, nextOffset, SegmentScanEnd.TornTail, $"{rest.Length} bytes of an incomplete batch at byte {position}");
                case HeaderStatus.Corrupt:
                    return new SegmentScan(position, nextOffset, SegmentScanEnd.Corrupt, $"at byte {position}: {error}");
            }
            if (header.BaseOffset != nextOffset)
            {
                return new SegmentScan(position, nextOffset, SegmentScanEnd.Corrupt,
                    $"at byte {position}: the batch starts at offset {header.BaseOffset}, expected {nextOffset}");
            }
            if (Check(rest[..header.TotalSize], header, sink: null) is { } problem)
            {
                return new SegmentScan(position, nextOffset, SegmentScanEnd.Corrupt, $"at byte {position}: {problem}");
            }
            position += header.TotalSize;
            nextOffset = header.LastOffset + 1;
        }
        return new SegmentScan(position, nextOffset, SegmentScanEnd.Clean, null);
    }

    private enum HeaderStatus { Complete, Incomplete, Corrupt }

    private static HeaderStatus ParseHeader(ReadOnlySpan<byte> buffer, out RecordBatchHeader header, out string? error)
    {
        error = null;
        header = default;
        if (buffer.Length < HeaderSize)
            return HeaderStatus.Incomplete;
        header = new RecordBatchHeader(buffer);
        if (header.Magic != CurrentMagic)
        {
            error = $"Unsupported record batch magic {header.Magic} (expected {CurrentMagic}) in batch at base offset {header.BaseOffset}.";
            return HeaderStatus.Corrupt;
        }
        if (header.BatchLength is < MinBatchLength or > MaxBatchLength)
        {
            error = $"Invalid batchLength {header.BatchLength} in batch at base offset {header.BaseOffset}: must be {MinBatchLength}..{MaxBatchLength}.";
            return HeaderStatus.Corrupt;
        }
        return buffer.Length < header.TotalSize ? HeaderStatus.Incomplete : HeaderStatus.Complete;
    }

    private static RecordBatchHeader ReadWholeBatch(ReadOnlySpan<byte> batch)
    {
        var status = ParseHeader(batch, out var header, out var error);
        return status switch
        {
            HeaderStatus.Complete => header,
            HeaderStatus.Corrupt => throw new CorruptRecordException(error!),
            _ when batch.Length < HeaderSize => throw new CorruptRecordException(
                $"Truncated record batch: {batch.Length} bytes, a batch header alone is {HeaderSize}."),
            _ => throw new CorruptRecordException(
                $"Truncated record batch at base offset {header.BaseOffset}: {batch.Length} bytes of {header.TotalSize}."),
        };
    }

    private static IReadOnlyList<Record> DecodeBatchAt(ReadOnlyMemory<byte> batches, int position, out int size)
    {
        var rest = batches.Span[position..];
        var status = ParseHeader(rest, out var header, out _);
        // A complete header bounds the batch; otherwise let DecodeBatch report the truncation or corruption.
        size = status == HeaderStatus.Complete ? header.TotalSize : rest.Length;
        return DecodeBatch(rest[..size]);
    }

    /// <summary>
    /// Checks everything past the header parse and, when <paramref name="sink"/> is given, materialises the
    /// records in the same pass. Returns the first problem, or null.
    /// </summary>
    private static string? Check(ReadOnlySpan<byte> batch, in RecordBatchHeader h, List<Record>? sink)
    {
        // Built only on failure: recovery scans call this for every batch of a segment.
        var baseOffset = h.BaseOffset;
        string Where() => $"Record batch at base offset {baseOffset}";
        if (batch.Length != h.TotalSize)
            return $"{Where()} is {h.TotalSize} bytes by its batchLength but {batch.Length} bytes were given.";
        if (h.BaseOffset < 0)
            return $"{Where()}: the base offset is negative.";
        // Not covered by the CRC (as in Kafka) and never set by OrleansGroups, so any other value is damage.
        if (h.PartitionLeaderEpoch != 0)
            return $"{Where()}: partitionLeaderEpoch is {h.PartitionLeaderEpoch}, expected 0.";
        var computed = Crc32C.Compute(batch[AttributesAt..]);
        if (computed != h.Crc)
            return $"{Where()}: CRC mismatch, stored 0x{h.Crc:X8} but computed 0x{computed:X8}.";
        if (h.Attributes != 0)
            return $"{Where()}: unsupported attributes 0x{h.Attributes:X4} (compression, transactions and control batches are not supported).";
        if (h.RecordCount <= 0)
            return $"{Where()}: recordCount is {h.RecordCount}, expected at least 1.";
        if (h.LastOffsetDelta != h.RecordCount - 1)
            return $"{Where()}: lastOffsetDelta is {h.LastOffsetDelta} but there are {h.RecordCount} records.";
        if (h.BaseOffset > long.MaxValue - h.LastOffsetDelta)
            return $"{Where()}: the last offset overflows.";

        var pos = HeaderSize;
        var maxTimestamp = long.MinValue;
        for (var i = 0; i < h.RecordCount; i++)
        {
            if (!VarInt.TryRead(batch, ref pos, out int length) || length < 0 || length > batch.Length - pos)
                return $"{Where()}, record {i}: invalid record length.";
            var record = batch.Slice(pos, length);
            pos += length;

            var p = 1;
            if (record.IsEmpty || record[0] != 0)
                return $"{Where()}, record {i}: missing or non-zero record attributes.";
            if (!VarInt.TryRead(record, ref p, out long timestampDelta))
                return $"{Where()}, record {i}: invalid timestamp delta.";
            if (!VarInt.TryRead(record, ref p, out int offsetDelta) || offsetDelta != i)
                return $"{Where()}, record {i}: offset delta is not {i}.";
            if (!TryReadBytes(record, ref p, out var keyAt, out var keyLength))
                return $"{Where()}, record {i}: invalid key length.";
            if (!TryReadBytes(record, ref p, out var valueAt, out var valueLength))
                return $"{Where()}, record {i}: invalid value length.";
            // Each header takes at least two bytes, which bounds the count before anything is allocated.
            if (!VarInt.TryRead(record, ref p, out int headerCount) || headerCount < 0 || headerCount > (record.Length - p) / 2)
                return $"{Where()}, record {i}: invalid header count.";

            var headers = sink is null || headerCount == 0 ? null : new RecordHeader[headerCount];
            for (var j = 0; j < headerCount; j++)
            {
                if (!TryReadBytes(record, ref p, out var hKeyAt, out var hKeyLength) || hKeyLength < 0)
                    return $"{Where()}, record {i}, header {j}: invalid key length.";
                var hKey = record.Slice(hKeyAt, hKeyLength);
                if (!Utf8.IsValid(hKey))
                    return $"{Where()}, record {i}, header {j}: key is not valid UTF-8.";
                if (!TryReadBytes(record, ref p, out var hValueAt, out var hValueLength))
                    return $"{Where()}, record {i}, header {j}: invalid value length.";
                if (headers is not null)
                    headers[j] = new RecordHeader(Encoding.UTF8.GetString(hKey), Copy(record, hValueAt, hValueLength));
            }
            if (p != record.Length)
                return $"{Where()}, record {i}: {record.Length - p} unexpected bytes at the end of the record.";

            var timestamp = h.BaseTimestamp + timestampDelta;
            maxTimestamp = Math.Max(maxTimestamp, timestamp);
            sink?.Add(new Record(h.BaseOffset + i, timestamp, Copy(record, keyAt, keyLength),
                Copy(record, valueAt, valueLength), headers ?? []));
        }
        if (pos != batch.Length)
            return $"{Where()}: {batch.Length - pos} unexpected bytes after the last record.";
        if (maxTimestamp != h.MaxTimestamp)
            return $"{Where()}: maxTimestamp is {h.MaxTimestamp} but the records' largest timestamp is {maxTimestamp}.";
        return null;
    }

    /// <summary>Reads a varint length and skips the bytes it announces; length -1 means null.</summary>
    private static bool TryReadBytes(ReadOnlySpan<byte> source, ref int position, out int start, out int length)
    {
        start = 0;
        if (!VarInt.TryRead(source, ref position, out length) || length < -1 || length > source.Length - position)
            return false;
        start = position;
        if (length > 0)
            position += length;
        return true;
    }

    private static byte[]? Copy(ReadOnlySpan<byte> source, int start, int length) =>
        length < 0 ? null : source.Slice(start, length).ToArray();

    private static int WriteBytes(Span<byte> destination, byte[]? bytes)
    {
        if (bytes is null)
            return VarInt.Write(destination, -1);
        var written = VarInt.Write(destination, bytes.Length);
        bytes.CopyTo(destination[written..]);
        return written + bytes.Length;
    }

    private static int SizeOfBytes(byte[]? bytes) =>
        bytes is null ? VarInt.SizeOf(-1) : VarInt.SizeOf(bytes.Length) + bytes.Length;

    /// <summary>Total encoded size; also checks the records and returns each record's body size for the writer.</summary>
    private static int Measure(IReadOnlyList<ProducerRecord> records, out int[] bodySizes)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
            throw new InvalidRequestException("A record batch needs at least one record.");

        var baseTimestamp = records[0].Timestamp;
        bodySizes = new int[records.Count];
        long total = HeaderSize;
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            long body = 1 + VarInt.SizeOf(record.Timestamp - baseTimestamp) + VarInt.SizeOf(i)
                + SizeOfBytes(record.Key) + SizeOfBytes(record.Value);
            var headers = record.Headers ?? [];
            body += VarInt.SizeOf(headers.Count);
            foreach (var header in headers)
            {
                if (header?.Key is null)
                    throw new InvalidRequestException($"Record {i} has a header with a null key.");
                int keyLength;
                try
                {
                    keyLength = StrictUtf8.GetByteCount(header.Key);
                }
                catch (EncoderFallbackException e)
                {
                    throw new InvalidRequestException($"Record {i} has a header key that is not valid UTF-16: {e.Message}");
                }
                body += VarInt.SizeOf(keyLength) + keyLength + SizeOfBytes(header.Value);
            }
            if (body > MaxBatchLength)
                throw TooLarge();
            bodySizes[i] = (int)body;
            total += VarInt.SizeOf((int)body) + body;
            if (total > Array.MaxLength)
                throw TooLarge();
        }
        return (int)total;

        static InvalidRequestException TooLarge() =>
            new($"The records need more than {Array.MaxLength} bytes; split them into several batches.");
    }

    private static void EnsureOffset(long baseOffset)
    {
        if (baseOffset < 0)
            throw new InvalidRequestException($"A base offset must not be negative, got {baseOffset}.");
    }
}

/// <summary>How the valid batches of a segment end (<see cref="RecordBatch.ScanSegment"/>).</summary>
public enum SegmentScanEnd
{
    /// <summary>Every byte belongs to a valid batch.</summary>
    Clean,

    /// <summary>The segment ends in an incomplete batch: a write that never finished.</summary>
    TornTail,

    /// <summary>A complete batch fails its checks, or its offsets do not follow: damage, not a torn write.</summary>
    Corrupt,
}

/// <summary>The result of <see cref="RecordBatch.ScanSegment"/>.</summary>
/// <param name="ValidLength">Bytes of complete, valid batches with contiguous offsets from the start.</param>
/// <param name="NextOffset">The offset after the last valid batch.</param>
/// <param name="End">What follows the valid bytes.</param>
/// <param name="Problem">What is wrong after the valid bytes, when <paramref name="End"/> is not <see cref="SegmentScanEnd.Clean"/>.</param>
public readonly record struct SegmentScan(int ValidLength, long NextOffset, SegmentScanEnd End, string? Problem);
