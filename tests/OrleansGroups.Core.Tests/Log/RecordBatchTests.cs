using System.Buffers.Binary;
using System.Text;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using Record = OrleansGroups.Core.Log.Record;

namespace OrleansGroups.Core.Tests.Log;

public class RecordBatchTests
{
    private const long Now = 1_700_000_000_000;

    private static ProducerRecord Rec(string? key, string? value, long timestamp = Now, params RecordHeader[] headers) =>
        new(key is null ? null : Encoding.UTF8.GetBytes(key), value is null ? null : Encoding.UTF8.GetBytes(value), headers, timestamp);

    private static byte[] SmallBatch(long baseOffset = 0) => RecordBatch.Encode(baseOffset,
        [Rec("k", "v1"), Rec(null, "v2", Now + 5, new RecordHeader("h", [1, 2]))]);

    private static void AssertRecordsEqual(long baseOffset, IReadOnlyList<ProducerRecord> expected, IReadOnlyList<Record> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(baseOffset + i, actual[i].Offset);
            Assert.Equal(expected[i].Timestamp, actual[i].Timestamp);
            Assert.Equal(expected[i].Key, actual[i].Key);
            Assert.Equal(expected[i].Value, actual[i].Value);
            var headers = expected[i].Headers ?? [];
            Assert.Equal(headers.Select(h => h.Key), actual[i].Headers.Select(h => h.Key));
            Assert.Equal(headers.Select(h => h.Value), actual[i].Headers.Select(h => h.Value));
        }
    }

    private static void AssertRoundTrips(long baseOffset, params ProducerRecord[] records)
    {
        var batch = RecordBatch.Encode(baseOffset, records);
        Assert.Equal(batch.Length, RecordBatch.EncodedSize(records));
        RecordBatch.Validate(batch);
        AssertRecordsEqual(baseOffset, records, RecordBatch.DecodeBatch(batch));
        AssertRecordsEqual(baseOffset, records, RecordBatch.Decode(batch).ToList());
    }

    [Fact]
    public void HeaderSizeIsTheSumOfTheFixedFields() =>
        Assert.Equal(8 + 4 + 4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4, RecordBatch.HeaderSize);

    [Fact] public void RoundTripsKeyAndValue() => AssertRoundTrips(0, Rec("key", "value"));
    [Fact] public void RoundTripsNullKey() => AssertRoundTrips(7, Rec(null, "value"));
    [Fact] public void RoundTripsNullValue() => AssertRoundTrips(7, Rec("key", null));
    [Fact] public void RoundTripsEmptyKeyAndValueAsEmptyNotNull() => AssertRoundTrips(7, Rec("", ""));

    [Fact]
    public void RoundTripsHeadersIncludingNullValueAndNonAsciiKey() => AssertRoundTrips(3,
        Rec("k", "v", Now, new RecordHeader("trace-id", [9, 9]), new RecordHeader("empty", []),
            new RecordHeader("none", null), new RecordHeader("clé☃𝄞", [1]), new RecordHeader("trace-id", [7])));

    [Fact]
    public void RoundTripsManyRecordsWithDecreasingTimestamps() =>
        AssertRoundTrips(1_000, Enumerable.Range(0, 1_000).Select(i => Rec($"k{i}", $"v{i}", Now + 500 - i)).ToArray());

    [Fact]
    public void RoundTripsOneMebibyteValue()
    {
        var value = new byte[1 << 20];
        new Random(1).NextBytes(value);
        AssertRoundTrips(0, new ProducerRecord(null, value, null, Now));
    }

    [Fact]
    public void HeaderDescribesTheBatch()
    {
        var records = new[] { Rec("a", "1", Now + 10), Rec("b", "2", Now + 30), Rec("c", "3", Now + 20) };
        var batch = RecordBatch.Encode(42, records, producerId: 5, producerEpoch: 1, baseSequence: 9);

        Assert.True(RecordBatch.TryReadHeader(batch, out var header));
        Assert.Equal(
            (42L, batch.Length - 12, batch.Length, 2, 44L, 3, Now + 10, Now + 30, 5L, (short)1, 9),
            (header.BaseOffset, header.BatchLength, header.TotalSize, header.LastOffsetDelta, header.LastOffset, header.RecordCount,
                header.BaseTimestamp, header.MaxTimestamp, header.ProducerId, header.ProducerEpoch, header.BaseSequence));
        Assert.Equal(Crc32C.Compute(batch.AsSpan(21)), header.Crc);
    }

    [Fact]
    public void FixedFieldsAreBigEndianAtKafkaPositions()
    {
        var batch = SmallBatch(baseOffset: 0x0102030405060708);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, batch[..8]);
        Assert.Equal(batch.Length - 12, BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(8)));
        Assert.Equal(2, batch[16]);
        Assert.Equal(-1L, BinaryPrimitives.ReadInt64BigEndian(batch.AsSpan(43)));
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(57)));
    }

    [Fact]
    public void DefaultProducerFieldsAreMinusOne()
    {
        RecordBatch.TryReadHeader(SmallBatch(), out var header);
        Assert.Equal((-1L, (short)-1, -1), (header.ProducerId, header.ProducerEpoch, header.BaseSequence));
    }

    [Fact]
    public void EncodeRejectsEmptyListAndNegativeOffset()
    {
        Assert.Throws<InvalidRequestException>(() => RecordBatch.Encode(0, []));
        Assert.Throws<InvalidRequestException>(() => RecordBatch.Encode(-1, [Rec("k", "v")]));
    }

    [Fact]
    public void EncodeRejectsHeaderKeyThatIsNotValidUtf16() =>
        Assert.Throws<InvalidRequestException>(() => RecordBatch.Encode(0, [Rec("k", "v", Now, new RecordHeader("\ud800", null))]));

    [Fact]
    public void SetBaseOffsetKeepsTheBatchValid()
    {
        var batch = SmallBatch();
        RecordBatch.SetBaseOffset(batch, 1_234_567);

        RecordBatch.Validate(batch);
        Assert.Equal([1_234_567L, 1_234_568L], RecordBatch.DecodeBatch(batch).Select(r => r.Offset));
        Assert.Throws<InvalidRequestException>(() => RecordBatch.SetBaseOffset(batch, -1));
        Assert.Throws<CorruptRecordException>(() => RecordBatch.SetBaseOffset(new byte[10], 0));
    }

    [Fact]
    public void DecodeReadsConcatenatedBatchesInOrder()
    {
        var data = Concat(RecordBatch.Encode(0, [Rec("a", "1"), Rec("b", "2")]), RecordBatch.Encode(2, [Rec("c", "3")]));
        Assert.Equal([(0L, "1"), (1L, "2"), (2L, "3")],
            RecordBatch.Decode(data).Select(r => (r.Offset, Encoding.UTF8.GetString(r.Value!))));
    }

    [Fact]
    public void DecodeThrowsOnATruncatedTrailingBatch()
    {
        var batch = SmallBatch();
        var data = Concat(batch, batch[..^1]);
        Assert.Throws<CorruptRecordException>(() => RecordBatch.Decode(data).ToList());
    }

    [Fact]
    public void TryReadHeaderReportsTornTailsWithoutThrowing()
    {
        var batch = SmallBatch();
        Assert.False(RecordBatch.TryReadHeader(batch.AsSpan(0, RecordBatch.HeaderSize - 1), out _));
        // Past the fixed header the header is filled in, so a stream reader knows how much more to read.
        Assert.False(RecordBatch.TryReadHeader(batch.AsSpan(0, batch.Length - 1), out var partial));
        Assert.Equal(batch.Length, partial.TotalSize);
        Assert.True(RecordBatch.TryReadHeader(Concat(batch, [1, 2, 3]), out _));
    }

    [Fact]
    public void TryReadHeaderThrowsOnBadMagic()
    {
        var batch = SmallBatch();
        batch[16] = 1;
        var error = Assert.Throws<CorruptRecordException>(() => RecordBatch.TryReadHeader(batch, out _));
        Assert.Contains("magic 1", error.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(48)]
    [InlineData(int.MaxValue)]
    public void TryReadHeaderThrowsOnImpossibleBatchLength(int batchLength)
    {
        var batch = SmallBatch();
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(8), batchLength);
        var error = Assert.Throws<CorruptRecordException>(() => RecordBatch.TryReadHeader(batch, out _));
        Assert.Contains($"batchLength {batchLength}", error.Message);
    }

    [Fact]
    public void ValidateNamesACrcMismatch()
    {
        var batch = SmallBatch();
        batch[^1] ^= 0x01;
        var error = Assert.Throws<CorruptRecordException>(() => RecordBatch.Validate(batch));
        Assert.Contains("CRC mismatch", error.Message);
        Assert.Equal(OrleansGroupsErrorCode.CorruptRecord, error.Code);
    }

    [Fact]
    public void ValidateRejectsTruncationAndTrailingBytes()
    {
        var batch = SmallBatch();
        Assert.Contains("Truncated", Assert.Throws<CorruptRecordException>(() => RecordBatch.Validate(batch[..^1])).Message);
        Assert.Contains("bytes were given", Assert.Throws<CorruptRecordException>(() => RecordBatch.Validate(Concat(batch, [0]))).Message);
    }

    [Fact]
    public void EveryFlippedBitIsDetected()
    {
        var batch = SmallBatch(baseOffset: 10);
        for (var bit = 0; bit < batch.Length * 8; bit++)
        {
            var damaged = (byte[])batch.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));

            var validateThrew = Throws(() => RecordBatch.Validate(damaged));
            var prefix = RecordBatch.ScanValidPrefix(damaged, 10, out var next);
            Assert.True(validateThrew || prefix == 0, $"flipping bit {bit} went unnoticed");
            if (prefix == 0)
                Assert.Equal(10, next);
        }
    }

    [Fact]
    public void ScanValidPrefixFindsEveryCompleteBatchOfATornLog()
    {
        var first = RecordBatch.Encode(100, [Rec("a", "1"), Rec("b", "2")]);
        var second = RecordBatch.Encode(102, [Rec("c", "3")]);
        var third = RecordBatch.Encode(103, [Rec("d", "4"), Rec("e", "5"), Rec("f", "6")]);
        var log = Concat(first, second, third);

        for (var length = 0; length <= log.Length; length++)
        {
            var (bytes, offset) =
                length >= log.Length ? (log.Length, 106L)
                : length >= first.Length + second.Length ? (first.Length + second.Length, 103L)
                : length >= first.Length ? (first.Length, 102L)
                : (0, 100L);
            Assert.Equal(bytes, RecordBatch.ScanValidPrefix(log.AsSpan(0, length), 100, out var next));
            Assert.Equal(offset, next);
        }
    }

    [Fact]
    public void ScanValidPrefixStopsAtAnOffsetGapOrOverlap()
    {
        var first = RecordBatch.Encode(0, [Rec("a", "1"), Rec("b", "2")]);
        Assert.Equal(first.Length, RecordBatch.ScanValidPrefix(Concat(first, RecordBatch.Encode(3, [Rec("c", "3")])), 0, out var next));
        Assert.Equal(2, next);
        Assert.Equal(first.Length, RecordBatch.ScanValidPrefix(Concat(first, RecordBatch.Encode(1, [Rec("c", "3")])), 0, out next));
        Assert.Equal(2, next);
        Assert.Equal(0, RecordBatch.ScanValidPrefix(first, 5, out next));
        Assert.Equal(5, next);
    }

    [Fact]
    public void ScanValidPrefixStopsAtGarbageAfterValidBatches()
    {
        var first = SmallBatch();
        Assert.Equal(first.Length, RecordBatch.ScanValidPrefix(Concat(first, new byte[100]), 0, out var next));
        Assert.Equal(2, next);
    }

    private static bool Throws(Action action)
    {
        try
        {
            action();
            return false;
        }
        catch (CorruptRecordException)
        {
            return true;
        }
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
