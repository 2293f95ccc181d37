using System.Buffers.Binary;
using CsCheck;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;

namespace OrleansGroups.Core.Tests.Log;

public class SegmentIndexTests
{
    private const long Now = 1_700_000_000_000;

    private static IndexEntry Entry(long first, long next, long position, int length, long maxTimestamp = Now) =>
        new(first, next, position, length, maxTimestamp);

    private static SegmentIndex Small() => new(100, 130, 4096,
        [Entry(100, 110, 0, 2048, Now + 1), Entry(110, 130, 2048, 2048, Now + 2)],
        [new ProducerSnapshot(7, 2, [new ProducerBatchSnapshot(0, 9, 100, Now), new ProducerBatchSnapshot(10, 29, 110, Now + 5)])]);

    private static void AssertSameIndex(SegmentIndex expected, SegmentIndex actual)
    {
        Assert.Equal((expected.BaseOffset, expected.NextOffset, expected.Length), (actual.BaseOffset, actual.NextOffset, actual.Length));
        Assert.Equal(expected.Entries, actual.Entries);
        Assert.Equivalent(expected.Producers, actual.Producers, strict: true);
    }

    [Fact]
    public void EmptyIndexRoundTrips()
    {
        var index = new SegmentIndex(0, 0, 0, [], []);

        var encoded = index.Encode();
        var decoded = SegmentIndex.Decode(encoded);

        Assert.Equal(4 + 4 + 8 + 8 + 8 + 4 + 4 + 4, encoded.Length);
        AssertSameIndex(index, decoded);
        Assert.Equal(-1, decoded.MaxTimestamp);
    }

    [Fact]
    public void SmallIndexRoundTrips()
    {
        var index = Small();

        var decoded = SegmentIndex.Decode(index.Encode());

        AssertSameIndex(index, decoded);
        Assert.Equal(Now + 2, decoded.MaxTimestamp);
    }

    [Fact]
    public void LargeIndexWithProducersRoundTrips()
    {
        var rng = new Random(17);
        var entries = new List<IndexEntry>();
        long offset = 1_000_000, position = 0;
        for (var i = 0; i < 5000; i++)
        {
            var count = rng.Next(1, 500);
            var length = rng.Next(61, 70_000);
            entries.Add(Entry(offset, offset + count, position, length, Now + rng.NextInt64(-1_000_000, 1_000_000)));
            (offset, position) = (offset + count, position + length);
        }
        entries.Add(Entry(long.MaxValue - 1, long.MaxValue, long.MaxValue - int.MaxValue, int.MaxValue, long.MinValue));
        var producers = Enumerable.Range(0, 300).Select(p => new ProducerSnapshot(
                p == 0 ? long.MinValue : p == 1 ? long.MaxValue : rng.NextInt64(),
                p == 2 ? short.MinValue : p == 3 ? short.MaxValue : (short)rng.Next(short.MinValue, short.MaxValue),
                Enumerable.Range(0, p % 6).Select(_ => new ProducerBatchSnapshot(rng.Next(), p == 4 ? int.MaxValue : rng.Next(), rng.NextInt64(), rng.NextInt64(long.MinValue, long.MaxValue))).ToList()))
            .ToList();
        var index = new SegmentIndex(1_000_000, offset, position, entries, producers);

        var encoded = index.Encode();
        var decoded = SegmentIndex.Decode(encoded);

        Assert.Equal(4 + 4 + 8 + 8 + 8 + 4 + (entries.Count * 36) + 4 + producers.Sum(p => 14 + (24 * p.Batches.Count)) + 4, encoded.Length);
        AssertSameIndex(index, decoded);
    }

    [Fact]
    public void EncodingIsBigEndianWithMagicVersionAndCrc32CTrailer()
    {
        var encoded = Small().Encode();

        Assert.Equal(0x4F474958, BinaryPrimitives.ReadInt32BigEndian(encoded));
        Assert.Equal(1, BinaryPrimitives.ReadInt32BigEndian(encoded.AsSpan(4)));
        Assert.Equal(100, BinaryPrimitives.ReadInt64BigEndian(encoded.AsSpan(8)));
        Assert.Equal(130, BinaryPrimitives.ReadInt64BigEndian(encoded.AsSpan(16)));
        Assert.Equal(4096, BinaryPrimitives.ReadInt64BigEndian(encoded.AsSpan(24)));
        Assert.Equal(2, BinaryPrimitives.ReadInt32BigEndian(encoded.AsSpan(32)));
        Assert.Equal(Crc32C.Compute(encoded.AsSpan(0, encoded.Length - 4)), BinaryPrimitives.ReadUInt32BigEndian(encoded.AsSpan(encoded.Length - 4)));
    }

    [Fact]
    public void AnySingleFlippedBitIsCorrupt()
    {
        var encoded = Small().Encode();

        for (var bit = 0; bit < encoded.Length * 8; bit++)
        {
            var damaged = (byte[])encoded.Clone();
            damaged[bit / 8] ^= (byte)(1 << (bit % 8));
            var at = bit;
            var e = Xunit.Record.Exception(() => SegmentIndex.Decode(damaged));
            Assert.True(e is CorruptRecordException, $"bit {at}: {e?.GetType().Name ?? "no exception"}");
        }
    }

    [Fact]
    public void EveryTruncationIsCorrupt()
    {
        var encoded = Small().Encode();

        for (var length = 0; length < encoded.Length; length++)
        {
            var at = length;
            var e = Xunit.Record.Exception(() => SegmentIndex.Decode(encoded.AsSpan(0, at)));
            Assert.True(e is CorruptRecordException, $"length {at}: {e?.GetType().Name ?? "no exception"}");
        }
    }

    [Fact]
    public void TrailingGarbageIsCorrupt()
    {
        var encoded = Small().Encode();

        Assert.Throws<CorruptRecordException>(() => SegmentIndex.Decode([.. encoded, 0]));
        Assert.Throws<CorruptRecordException>(() => SegmentIndex.Decode([.. encoded, .. encoded]));
    }

    [Fact]
    public void UnknownVersionWithValidCrcIsCorrupt()
    {
        var encoded = Small().Encode();
        BinaryPrimitives.WriteInt32BigEndian(encoded.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt32BigEndian(encoded.AsSpan(encoded.Length - 4), Crc32C.Compute(encoded.AsSpan(0, encoded.Length - 4)));

        Assert.Throws<CorruptRecordException>(() => SegmentIndex.Decode(encoded));
    }

    [Fact]
    public void SparseMergesContiguousEntriesUntilInterval()
    {
        IndexEntry[] entries =
        [
            Entry(0, 5, 0, 100, Now + 3),
            Entry(5, 9, 100, 100, Now + 9),
            Entry(9, 10, 200, 100, Now + 1),
            Entry(10, 20, 300, 100, Now + 4),
        ];

        var sparse = SegmentIndex.Sparse(entries, 250);

        Assert.Equal([Entry(0, 10, 0, 300, Now + 9), Entry(10, 20, 300, 100, Now + 4)], sparse);
    }

    [Fact]
    public void SparseClosesAnEntryAsSoonAsItReachesTheInterval()
    {
        IndexEntry[] entries = [Entry(0, 1, 0, 100), Entry(1, 2, 100, 100), Entry(2, 3, 200, 100), Entry(3, 4, 300, 100)];

        var sparse = SegmentIndex.Sparse(entries, 200);

        Assert.Equal([Entry(0, 2, 0, 200), Entry(2, 4, 200, 200)], sparse);
    }

    [Fact]
    public void SparseNeverMergesAcrossAGapInPosition()
    {
        IndexEntry[] entries = [Entry(0, 5, 0, 100, Now + 2), Entry(5, 9, 150, 100, Now + 1), Entry(9, 12, 250, 100, Now + 7)];

        var sparse = SegmentIndex.Sparse(entries, 1000);

        Assert.Equal([Entry(0, 5, 0, 100, Now + 2), Entry(5, 12, 150, 200, Now + 7)], sparse);
    }

    [Fact]
    public void SparseNeverSplitsAnEntryLargerThanTheInterval()
    {
        IndexEntry[] entries = [Entry(0, 50, 0, 10_000), Entry(50, 51, 10_000, 10), Entry(51, 52, 10_010, 10)];

        var sparse = SegmentIndex.Sparse(entries, 100);

        Assert.Equal([Entry(0, 50, 0, 10_000), Entry(50, 52, 10_000, 20)], sparse);
    }

    [Fact]
    public void SparseOfNothingIsEmpty() => Assert.Empty(SegmentIndex.Sparse([], 4096));

    [Fact]
    public void SparseWithIntervalOfOneByteKeepsEveryEntry()
    {
        IndexEntry[] entries = [Entry(0, 1, 0, 10), Entry(1, 2, 10, 10), Entry(2, 3, 20, 10)];

        Assert.Equal(entries, SegmentIndex.Sparse(entries, 1));
    }

    [Fact]
    public void SparseNeverMergesBeyondIntMaxValueBytes()
    {
        IndexEntry[] entries = [Entry(0, 1, 0, int.MaxValue - 10), Entry(1, 2, int.MaxValue - 10L, 20), Entry(2, 3, int.MaxValue + 10L, 5)];

        var sparse = SegmentIndex.Sparse(entries, int.MaxValue);

        Assert.Equal([Entry(0, 1, 0, int.MaxValue - 10), Entry(1, 3, int.MaxValue - 10L, 25)], sparse);
    }

    private static readonly Gen<(int Records, int Length, long Timestamp, int Gap)> RunGen = Gen.Select(
        Gen.Int[1, 50], Gen.Int[1, 5000], Gen.Long[Now - 100_000, Now + 100_000],
        Gen.Frequency((9, Gen.Const(0)), (1, Gen.Int[1, 300])));

    private static IndexEntry[] Build((int Records, int Length, long Timestamp, int Gap)[] runs, long firstOffset, bool gaps)
    {
        var entries = new IndexEntry[runs.Length];
        long offset = firstOffset, position = 0;
        for (var i = 0; i < runs.Length; i++)
        {
            var (records, length, timestamp, gap) = runs[i];
            position += gaps && i > 0 ? gap : 0;
            entries[i] = Entry(offset, offset + records, position, length, timestamp);
            offset += records;
            position += length;
        }
        return entries;
    }

    /// <summary>
    /// The sparse index is the input cut into consecutive groups: each output entry is exactly one group merged
    /// (first offset of its first, next offset of its last, max timestamp, summed length), a group never spans a gap,
    /// and a group is closed exactly when it reaches the interval (or at a gap, or at the end).
    /// </summary>
    private static void AssertSparse(IndexEntry[] input, int interval, IReadOnlyList<IndexEntry> sparse)
    {
        var i = 0;
        for (var s = 0; s < sparse.Count; s++)
        {
            var output = sparse[s];
            var group = new List<IndexEntry> { input[i++] };
            while (group.Sum(e => (long)e.Length) < output.Length)
            {
                Assert.True(i < input.Length, $"entry {s} covers more than the input");
                group.Add(input[i++]);
            }
            Assert.Equal(Entry(group[0].FirstOffset, group[^1].NextOffset, group[0].Position, (int)group.Sum(e => (long)e.Length), group.Max(e => e.MaxTimestamp)), output);
            for (var g = 1; g < group.Count; g++)
            {
                Assert.Equal(group[g - 1].Position + group[g - 1].Length, group[g].Position);
                Assert.True(group.Take(g).Sum(e => (long)e.Length) < interval, $"entry {s} kept growing after reaching the interval");
            }
            var last = s == sparse.Count - 1;
            var nextIsContiguous = !last && output.Position + output.Length == input[i].Position;
            Assert.True(last || !nextIsContiguous || output.Length >= interval, $"entry {s} closed early: {output.Length} < {interval}");
        }
        Assert.Equal(input.Length, i);
        Assert.Equal(input.Sum(e => (long)e.Length), sparse.Sum(e => (long)e.Length));
    }

    [Fact]
    public void SparseOfContiguousEntriesIsAnExactCover() =>
        Gen.Select(RunGen.Array[0, 200], Gen.Int[1, 40_000], Gen.Long[0, long.MaxValue / 2]).Sample((runs, interval, first) =>
        {
            var input = Build(runs, first, gaps: false);

            var sparse = SegmentIndex.Sparse(input, interval);

            AssertSparse(input, interval, sparse);
            for (var s = 0; s < sparse.Count - 1; s++)
            {
                Assert.True(sparse[s].Length >= interval, $"entry {s} is {sparse[s].Length} < {interval}");
                Assert.Equal(sparse[s].NextOffset, sparse[s + 1].FirstOffset);
            }
            if (input.Length > 0)
            {
                Assert.Equal((input[0].FirstOffset, input[^1].NextOffset), (sparse[0].FirstOffset, sparse[^1].NextOffset));
                Assert.Equal(input.Max(e => e.MaxTimestamp), sparse.Max(e => e.MaxTimestamp));
            }
        }, iter: 500);

    [Fact]
    public void SparseWithGapsNeverMergesAcrossThem() =>
        Gen.Select(RunGen.Array[0, 200], Gen.Int[1, 40_000]).Sample((runs, interval) =>
        {
            var input = Build(runs, 0, gaps: true);

            var sparse = SegmentIndex.Sparse(input, interval);

            AssertSparse(input, interval, sparse);
            var gaps = input.Zip(input.Skip(1)).Count(p => p.First.Position + p.First.Length != p.Second.Position);
            Assert.True(sparse.Count >= gaps + (input.Length > 0 ? 1 : 0));
        }, iter: 500);

    [Fact]
    public void SparseIsIdempotent() =>
        Gen.Select(RunGen.Array[0, 100], Gen.Int[1, 20_000]).Sample((runs, interval) =>
        {
            var once = SegmentIndex.Sparse(Build(runs, 0, gaps: true), interval);

            Assert.Equal(once, SegmentIndex.Sparse(once, interval));
        }, iter: 300);
}
