using CsCheck;
using OrleansGroups.Core.Log;

namespace OrleansGroups.Core.Tests.Log;

public class RecordBatchPropertyTests
{
    private static readonly Gen<byte[]?> NullableBytes = Gen.Frequency(
        (1, Gen.Const(() => (byte[]?)null)),
        (4, Gen.Byte.Array[0, 64].Select(b => (byte[]?)b)));

    private static readonly Gen<string> HeaderKey = Gen.OneOf(
        Gen.String[Gen.Char["abcxyz-_.0129"], 0, 12],
        Gen.OneOf(Gen.Const("é"), Gen.Const("☃"), Gen.Const("𝄞key"), Gen.Const("")));

    private static readonly Gen<RecordHeader> Header = Gen.Select(HeaderKey, NullableBytes, (k, v) => new RecordHeader(k, v));

    private static readonly Gen<ProducerRecord> Producer = Gen.Select(
        NullableBytes, NullableBytes, Header.Array[0, 4], Gen.Long,
        (key, value, headers, timestamp) => new ProducerRecord(key, value, headers, timestamp));

    private static readonly Gen<(long BaseOffset, ProducerRecord[] Records)> Batches =
        Gen.Select(Gen.Long[0, long.MaxValue / 2], Producer.Array[1, 30]);

    [Fact]
    public void ArbitraryBatchesRoundTrip() => Batches.Sample((baseOffset, records) =>
    {
        var batch = RecordBatch.Encode(baseOffset, records);
        Assert.Equal(RecordBatch.EncodedSize(records), batch.Length);
        RecordBatch.Validate(batch);

        var decoded = RecordBatch.DecodeBatch(batch);
        Assert.Equal(records.Length, decoded.Count);
        for (var i = 0; i < records.Length; i++)
        {
            Assert.Equal(baseOffset + i, decoded[i].Offset);
            Assert.Equal(records[i].Timestamp, decoded[i].Timestamp);
            Assert.Equal(records[i].Key, decoded[i].Key);
            Assert.Equal(records[i].Value, decoded[i].Value);
            Assert.Equal(records[i].Headers!.Select(h => (h.Key, h.Value)), decoded[i].Headers.Select(h => (h.Key, h.Value)));
        }

        Assert.True(RecordBatch.TryReadHeader(batch, out var header));
        Assert.Equal(records.Max(r => r.Timestamp), header.MaxTimestamp);
        Assert.Equal(batch.Length, RecordBatch.ScanValidPrefix(batch, baseOffset, out var next));
        Assert.Equal(baseOffset + records.Length, next);
    }, iter: 500);

    [Fact]
    public void ScanOfAnyTruncationIsAPrefixOfWholeBatches() =>
        Gen.Select(Producer.Array[1, 5].Array[1, 5], Gen.Double.Unit).Sample((batches, cut) =>
        {
            var encoded = new List<byte[]>();
            long offset = 0;
            foreach (var batch in batches)
            {
                encoded.Add(RecordBatch.Encode(offset, batch));
                offset += batch.Length;
            }
            var log = encoded.SelectMany(b => b).ToArray();
            var length = (int)(cut * log.Length);

            var valid = RecordBatch.ScanValidPrefix(log.AsSpan(0, length), 0, out var next);

            var (bytes, records) = (0, 0L);
            for (var i = 0; i < encoded.Count && bytes + encoded[i].Length <= length; i++)
                (bytes, records) = (bytes + encoded[i].Length, records + batches[i].Length);
            Assert.Equal((bytes, records), (valid, next));
        }, iter: 300);
}
