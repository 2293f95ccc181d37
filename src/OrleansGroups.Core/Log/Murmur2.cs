using System.Buffers.Binary;

namespace OrleansGroups.Core.Log;

/// <summary>
/// MurmurHash2 exactly as Kafka's <c>org.apache.kafka.common.utils.Utils.murmur2(byte[])</c> computes it,
/// so a keyed record lands on the same partition here as it would with a Java Kafka producer.
/// </summary>
public static class Murmur2
{
    private const uint Seed = 0x9747b28c;
    private const uint M = 0x5bd1e995;
    private const int R = 24;

    /// <summary>The 32-bit murmur2 hash of <paramref name="data"/>, signed as Java returns it.</summary>
    public static int Hash(ReadOnlySpan<byte> data)
    {
        // uint arithmetic gives Java's wrapping multiply and its unsigned shift (>>>) for free.
        var h = Seed ^ (uint)data.Length;
        var blocks = data.Length & ~3;
        for (var i = 0; i < blocks; i += 4)
        {
            var k = BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
            k *= M;
            k ^= k >> R;
            k *= M;
            h *= M;
            h ^= k;
        }

        var tail = data[blocks..];
        switch (tail.Length)
        {
            case 3:
                h ^= (uint)tail[2] << 16;
                goto case 2;
            case 2:
                h ^= (uint)tail[1] << 8;
                goto case 1;
            case 1:
                h ^= tail[0];
                h *= M;
                break;
        }

        h ^= h >> 13;
        h *= M;
        h ^= h >> 15;
        return (int)h;
    }
}
