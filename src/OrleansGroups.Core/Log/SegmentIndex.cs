using System.Buffers.Binary;
using OrleansGroups.Core.Errors;

namespace OrleansGroups.Core.Log;

/// <summary>A run of whole batches in a segment: where it is and what it holds.</summary>
/// <param name="FirstOffset">Offset of the first record in the run.</param>
/// <param name="NextOffset">Offset after the last record in the run.</param>
/// <param name="Position">Byte position of the run in its segment.</param>
/// <param name="Length">Bytes in the run.</param>
/// <param name="MaxTimestamp">Largest record timestamp in the run (unix ms).</param>
public readonly record struct IndexEntry(long FirstOffset, long NextOffset, long Position, int Length, long MaxTimestamp);

/// <summary>
/// The checkpoint written beside a sealed segment (Kafka's .index plus producer snapshot): a sparse offset index
/// and the producer state as of the segment's end. Recovery reads it instead of the segment's bytes, so activation
/// cost no longer grows with the log. Protected by a CRC32C; a damaged index is ignored and the segment rescanned.
/// </summary>
public sealed record SegmentIndex(long BaseOffset, long NextOffset, long Length, IReadOnlyList<IndexEntry> Entries, IReadOnlyList<ProducerSnapshot> Producers)
{
    private const int Magic = 0x4F474958; // "OGIX"
    private const int Version = 1;

    /// <summary>Largest record timestamp in the segment, or -1 when empty.</summary>
    public long MaxTimestamp => Entries.Count == 0 ? -1 : Entries.Max(e => e.MaxTimestamp);

    /// <summary>
    /// Merges adjacent runs until each covers at least <paramref name="intervalBytes"/>: a fetch reads at most one
    /// interval more than it needs, and the index stays small (a 64 MiB segment at 64 KiB: about 1,000 entries).
    /// </summary>
    public static IReadOnlyList<IndexEntry> Sparse(IEnumerable<IndexEntry> entries, int intervalBytes)
    {
        var result = new List<IndexEntry>();
        IndexEntry? open = null;
        foreach (var entry in entries)
        {
            if (open is { } current && current.Position + current.Length == entry.Position && current.Length < intervalBytes &&
                (long)current.Length + entry.Length <= int.MaxValue)
            {
                open = current with
                {
                    NextOffset = entry.NextOffset,
                    Length = current.Length + entry.Length,
                    MaxTimestamp = Math.Max(current.MaxTimestamp, entry.MaxTimestamp),
                };
                continue;
            }
            if (open is { } done)
            {
                result.Add(done);
            }
            open = entry;
        }
        if (open is { } last)
        {
            result.Add(last);
        }
        return result;
    }

    /// <summary>Encodes the index (big-endian, CRC32C over everything before the CRC).</summary>
    public byte[] Encode()
    {
        var producerBytes = Producers.Sum(p => 8 + 2 + 4 + (p.Batches.Count * 24));
        var size = 4 + 4 + 8 + 8 + 8 + 4 + (Entries.Count * 36) + 4 + producerBytes + 4;
        var buffer = new byte[size];
        var at = 0;
        void Int(int v) { BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(at), v); at += 4; }
        void Long(long v) { BinaryPrimitives.WriteInt64BigEndian(buffer.AsSpan(at), v); at += 8; }
        Int(Magic);
        Int(Version);
        Long(BaseOffset);
        Long(NextOffset);
        Long(Length);
        Int(Entries.Count);
        foreach (var e in Entries)
        {
            Long(e.FirstOffset);
            Long(e.NextOffset);
            Long(e.Position);
            Int(e.Length);
            Long(e.MaxTimestamp);
        }
        Int(Producers.Count);
        foreach (var p in Producers)
        {
            Long(p.ProducerId);
            BinaryPrimitives.WriteInt16BigEndian(buffer.AsSpan(at), p.Epoch);
            at += 2;
            Int(p.Batches.Count);
            foreach (var b in p.Batches)
            {
                Int(b.BaseSequence);
                Int(b.LastSequence);
                Long(b.BaseOffset);
                Long(b.AppendTime);
            }
        }
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(at), Crc32C.Compute(buffer.AsSpan(0, at)));
        return buffer;
    }

    /// <summary>Decodes an index; throws <see cref="CorruptRecordException"/> when it is damaged or truncated.</summary>
    public static SegmentIndex Decode(ReadOnlySpan<byte> data)
    {
        try
        {
            if (data.Length < 4 || BinaryPrimitives.ReadUInt32BigEndian(data[^4..]) != Crc32C.Compute(data[..^4]))
            {
                throw new CorruptRecordException("Segment index failed its CRC check.");
            }
            var at = 0;
            int Int(ReadOnlySpan<byte> d) { var v = BinaryPrimitives.ReadInt32BigEndian(d[at..]); at += 4; return v; }
            long Long(ReadOnlySpan<byte> d) { var v = BinaryPrimitives.ReadInt64BigEndian(d[at..]); at += 8; return v; }
            if (Int(data) != Magic || Int(data) != Version)
            {
                throw new CorruptRecordException("Not a segment index of a known version.");
            }
            var baseOffset = Long(data);
            var nextOffset = Long(data);
            var length = Long(data);
            int Count(ReadOnlySpan<byte> d, int recordSize)
            {
                var count = Int(d);
                return count >= 0 && (long)count * recordSize <= d.Length - at
                    ? count
                    : throw new CorruptRecordException($"Segment index claims {count} records of {recordSize} bytes in {d.Length - at} bytes.");
            }
            var entries = new IndexEntry[Count(data, 36)];
            for (var i = 0; i < entries.Length; i++)
            {
                entries[i] = new IndexEntry(Long(data), Long(data), Long(data), Int(data), Long(data));
            }
            var producers = new ProducerSnapshot[Count(data, 14)];
            for (var i = 0; i < producers.Length; i++)
            {
                var id = Long(data);
                var epoch = BinaryPrimitives.ReadInt16BigEndian(data[at..]);
                at += 2;
                var batches = new ProducerBatchSnapshot[Count(data, 24)];
                for (var b = 0; b < batches.Length; b++)
                {
                    batches[b] = new ProducerBatchSnapshot(Int(data), Int(data), Long(data), Long(data));
                }
                producers[i] = new ProducerSnapshot(id, epoch, batches);
            }
            return new SegmentIndex(baseOffset, nextOffset, length, entries, producers);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw new CorruptRecordException("Segment index is truncated.");
        }
    }
}
