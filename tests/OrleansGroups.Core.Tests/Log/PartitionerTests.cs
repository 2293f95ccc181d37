using System.Text;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;

namespace OrleansGroups.Core.Tests.Log;

public class PartitionerTests
{
    // Vectors from Kafka's UtilsTest.testMurmur2.
    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    [InlineData("a-little-bit-long-string", -985981536)]
    [InlineData("a-little-bit-longer-string", -1486304829)]
    [InlineData("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971)]
    [InlineData("abc", 479470107)]
    public void Murmur2MatchesKafka(string key, int expected) =>
        Assert.Equal(expected, Murmur2.Hash(Encoding.ASCII.GetBytes(key)));

    [Fact]
    public void Murmur2OfEmptyInputIsStable() => Assert.Equal(Murmur2.Hash([]), Murmur2.Hash(ReadOnlySpan<byte>.Empty));

    // (hash & 0x7fffffff) % n, worked from the vectors above:
    // "21": -973932308 & 0x7fffffff = 1173551340; "foobar": 1357151166; "abc": 479470107.
    [Theory]
    [InlineData("21", 3, 0)]
    [InlineData("21", 10, 0)]
    [InlineData("21", 7, 1173551340 % 7)]
    [InlineData("foobar", 3, 0)]
    [InlineData("foobar", 10, 6)]
    [InlineData("foobar", 12, 1357151166 % 12)]
    [InlineData("abc", 10, 7)]
    [InlineData("abc", 1, 0)]
    public void ForKeyUsesKafkaToPositive(string key, int partitions, int expected) =>
        Assert.Equal(expected, Partitioner.ForKey(Encoding.ASCII.GetBytes(key), partitions));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void ForKeyRejectsNonPositiveCount(int partitions) =>
        Assert.Throws<InvalidRequestException>(() => Partitioner.ForKey("k"u8, partitions));

    [Fact]
    public void RoundRobinCyclesFromZero()
    {
        var partitioner = new RoundRobinPartitioner();
        Assert.Equal([0, 1, 2, 0, 1, 2, 0], Enumerable.Range(0, 7).Select(_ => partitioner.Next(3)));
        Assert.Throws<InvalidRequestException>(() => partitioner.Next(0));
    }

    [Fact]
    public void RoundRobinIsFairUnderConcurrency()
    {
        var partitioner = new RoundRobinPartitioner();
        var counts = new int[4];
        Parallel.For(0, 40_000, _ => Interlocked.Increment(ref counts[partitioner.Next(4)]));
        Assert.All(counts, c => Assert.Equal(10_000, c));
    }
}
