using OrleansGroups.Core.Errors;

namespace OrleansGroups.Core.Log;

/// <summary>Chooses the partition of a keyed record the way Kafka's default partitioner does.</summary>
public static class Partitioner
{
    /// <summary>
    /// <c>toPositive(murmur2(key)) % partitionCount</c>: the same partition a Java Kafka producer picks, so
    /// records with equal keys stay in order on one partition across both worlds.
    /// </summary>
    /// <exception cref="InvalidRequestException"><paramref name="partitionCount"/> is not positive.</exception>
    public static int ForKey(ReadOnlySpan<byte> key, int partitionCount)
    {
        EnsurePositive(partitionCount);
        return ToPositive(Murmur2.Hash(key)) % partitionCount;
    }

    // Kafka masks the sign bit rather than calling Math.Abs, which would overflow for int.MinValue.
    internal static int ToPositive(int value) => value & 0x7fffffff;

    internal static void EnsurePositive(int partitionCount)
    {
        if (partitionCount <= 0)
            throw new InvalidRequestException($"Partition count must be positive, got {partitionCount}.");
    }
}

/// <summary>
/// Spreads records without a key over the partitions in turn. Thread-safe: one instance can serve many
/// producers, each call claiming the next slot atomically.
/// </summary>
public sealed class RoundRobinPartitioner
{
    private int _counter = -1;

    /// <summary>The next partition in turn, in <c>[0, partitionCount)</c>.</summary>
    /// <exception cref="InvalidRequestException"><paramref name="partitionCount"/> is not positive.</exception>
    public int Next(int partitionCount)
    {
        Partitioner.EnsurePositive(partitionCount);
        // Masking keeps the result non-negative after the counter wraps past int.MaxValue.
        return Partitioner.ToPositive(Interlocked.Increment(ref _counter)) % partitionCount;
    }
}
