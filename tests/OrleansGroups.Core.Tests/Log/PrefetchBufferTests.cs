using System.Text;
using CsCheck;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;

namespace OrleansGroups.Core.Tests.Log;

public class PrefetchBufferTests
{
    /// <summary>A partition log of batches with 1..5 records each; record values are their offsets.</summary>
    private sealed class FakeLog
    {
        private readonly List<byte[]> _batches = [];

        public long End { get; private set; }

        public void Append(int records)
        {
            var batch = RecordBatch.Encode(End, [.. Enumerable.Range(0, records).Select(i =>
                new ProducerRecord(null, Encoding.UTF8.GetBytes((End + i).ToString()), null, 0))]);
            _batches.Add(batch);
            End += records;
        }

        /// <summary>Whole batches from the one holding <paramref name="offset"/>, at least one, about maxBytes.</summary>
        public byte[] Fetch(long offset, int maxBytes)
        {
            var output = new List<byte>();
            foreach (var batch in _batches)
            {
                RecordBatch.TryReadHeader(batch, out var header);
                if (header.LastOffset < offset)
                {
                    continue;
                }
                if (output.Count > 0 && output.Count + batch.Length > maxBytes)
                {
                    break;
                }
                output.AddRange(batch);
            }
            return [.. output];
        }
    }

    private static List<long> Offsets(byte[] batches) => [.. RecordBatch.Decode(batches).Select(r => r.Offset)];

    [Fact]
    public void ReadsWhatWasFetched_FromTheBatchHoldingTheOffset()
    {
        var log = new FakeLog();
        log.Append(3);
        log.Append(2);
        var buffer = new PrefetchBuffer(0, 1 << 20);

        Assert.True(buffer.Append(0, log.Fetch(0, 1 << 20)));

        Assert.Equal(5, buffer.NextFetchOffset);
        Assert.Equal([0, 1, 2, 3, 4], Offsets(buffer.Read(0, 1 << 20)));
        // Offset 4 sits in the second batch: the first is consumed and dropped.
        Assert.Equal([3, 4], Offsets(buffer.Read(4, 1 << 20)));
        Assert.Equal(1, buffer.BatchCount);
        Assert.Empty(buffer.Read(5, 1 << 20));
        Assert.Equal(0, buffer.BufferedBytes);
    }

    [Fact]
    public void ARead_DoesNotConsume_SoALostResponseCanBeAskedForAgain()
    {
        var log = new FakeLog();
        log.Append(4);
        var buffer = new PrefetchBuffer(0, 1 << 20);
        buffer.Append(0, log.Fetch(0, 1 << 20));

        var first = buffer.Read(0, 1 << 20);
        var again = buffer.Read(0, 1 << 20);

        Assert.Equal(first, again);
    }

    [Fact]
    public void AReadOutsideTheBufferedRange_RestartsTheBufferThere()
    {
        var log = new FakeLog();
        log.Append(10);
        log.Append(10);
        var buffer = new PrefetchBuffer(10, 1 << 20);
        buffer.Append(10, log.Fetch(10, 1 << 20));

        Assert.Empty(buffer.Read(3, 1 << 20));

        Assert.Equal(3, buffer.NextFetchOffset);
        Assert.Equal(0, buffer.BufferedBytes);
    }

    [Fact]
    public void AFetchThatStartedBeforeASeek_IsDropped()
    {
        var log = new FakeLog();
        log.Append(5);
        log.Append(5);
        var buffer = new PrefetchBuffer(0, 1 << 20);
        var stale = log.Fetch(0, 1 << 20);

        buffer.Read(7, 1 << 20);

        Assert.False(buffer.Append(0, stale));
        Assert.Equal(7, buffer.NextFetchOffset);
        Assert.True(buffer.Append(7, log.Fetch(7, 1 << 20)));
        // The batch holding 7 starts at 5: whole batches travel, the consumer skips what is below its position.
        Assert.Equal([5, 6, 7, 8, 9], Offsets(buffer.Read(7, 1 << 20)));
    }

    [Fact]
    public void HasSpace_UntilMaxBytes()
    {
        var log = new FakeLog();
        log.Append(1);
        var oneBatch = log.Fetch(0, 1 << 20).Length;
        var buffer = new PrefetchBuffer(0, oneBatch);

        Assert.True(buffer.HasSpace);
        buffer.Append(0, log.Fetch(0, 1 << 20));

        Assert.False(buffer.HasSpace);
        buffer.Read(1, 1 << 20);
        Assert.True(buffer.HasSpace);
    }

    [Fact]
    public void HasSpace_UntilMaxRecords_CountingWholeBatches()
    {
        var log = new FakeLog();
        log.Append(3);
        log.Append(3);
        var buffer = new PrefetchBuffer(0, 1 << 20, maxRecords: 4);

        buffer.Append(0, log.Fetch(0, 1));
        Assert.True(buffer.HasSpace);
        buffer.Append(3, log.Fetch(3, 1));

        Assert.Equal(6, buffer.BufferedRecords);
        Assert.False(buffer.HasSpace);
        buffer.Read(3, 1 << 20);
        Assert.Equal(3, buffer.BufferedRecords);
        Assert.True(buffer.HasSpace);
    }

    [Fact]
    public void ATruncatedFetch_IsCorrupt()
    {
        var log = new FakeLog();
        log.Append(3);
        var whole = log.Fetch(0, 1 << 20);
        var buffer = new PrefetchBuffer(0, 1 << 20);

        Assert.Throws<CorruptRecordException>(() => buffer.Append(0, whole.AsMemory(0, whole.Length - 1)));
    }

    [Fact]
    public void ConsumerReadingThroughRandomFetchesReadsAndSeeks_SeesTheLogInOrderWithoutGapsOrRepeats()
    {
        // Steps: 0 = the log grows, 1 = a fetch completes, 2 = the consumer reads and advances, 3 = the consumer seeks.
        var steps = Gen.Select(Gen.Int[0, 3], Gen.Int[1, 5], Gen.Int[1, 400]).Array[1, 200];
        steps.Sample(plan =>
        {
            var log = new FakeLog();
            var buffer = new PrefetchBuffer(0, 600);
            long position = 0;
            var expectedNext = 0L;
            foreach (var (step, size, bytes) in plan)
            {
                switch (step)
                {
                    case 0:
                        log.Append(size);
                        break;
                    case 1 when buffer.HasSpace && buffer.NextFetchOffset < log.End:
                        buffer.Append(buffer.NextFetchOffset, log.Fetch(buffer.NextFetchOffset, bytes));
                        break;
                    case 2:
                        foreach (var offset in Offsets(buffer.Read(position, bytes)).Where(o => o >= position))
                        {
                            Assert.Equal(expectedNext, offset);
                            expectedNext = position = offset + 1;
                        }
                        break;
                    case 3:
                        position = expectedNext = Math.Min(log.End, size * 3);
                        buffer.Read(position, bytes);
                        break;
                }
                Assert.True(buffer.BufferedBytes <= 600 + 400, "the buffer overfills by at most one fetch");
            }
        });
    }
}
