using System.Buffers.Binary;
using System.Diagnostics;

namespace OrleansGroups.Bench.Peer;

/// <summary>One repetition of one peer scenario, for either system.</summary>
internal sealed record PeerRun(
    int Repetition,
    long Records,
    double Seconds,
    double RecordsPerSecond,
    double? P50Ms,
    double? P99Ms,
    double? MaxMs,
    long Duplicates,
    long Missing,
    double ProduceSeconds,
    double SetupSeconds,
    double ProcessCpuPercentOfMachine,
    double RedisCpuPercentOfMachine);

/// <summary>A scenario of the peer comparison with its runs on each system ("redis", "memory", "azurite").</summary>
internal sealed record PeerScenario(string Name, string Metric, long RecordsPerRun, Dictionary<string, List<PeerRun>> Runs)
{
    public List<PeerRun> For(string system)
    {
        if (!Runs.TryGetValue(system, out var runs))
        {
            Runs[system] = runs = [];
        }
        return runs;
    }
}

/// <summary>Record values (100 B): a sequence number and a send timestamp, the rest filler.</summary>
internal static class PeerValue
{
    public const int Bytes = 100;

    public static byte[] Make(long sequence, long timestamp = 0)
    {
        var value = new byte[Bytes];
        value.AsSpan(16).Fill((byte)'x');
        BinaryPrimitives.WriteInt64LittleEndian(value, sequence);
        BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(8), timestamp);
        return value;
    }

    public static void Stamp(byte[] value) => BinaryPrimitives.WriteInt64LittleEndian(value.AsSpan(8), Stopwatch.GetTimestamp());

    public static long Sequence(ReadOnlySpan<byte> value) => BinaryPrimitives.ReadInt64LittleEndian(value);

    public static double AgeMs(ReadOnlySpan<byte> value) =>
        Stopwatch.GetElapsedTime(BinaryPrimitives.ReadInt64LittleEndian(value[8..])).TotalMilliseconds;
}

/// <summary>Every record once: counts per sequence number.</summary>
internal sealed class SeenSet(long records)
{
    private readonly int[] _seen = new int[records];
    private long _duplicates;
    private long _outOfRange;
    private long _total;

    public long Total => Interlocked.Read(ref _total);

    /// <summary>Marks a sequence number; returns the number of records seen so far.</summary>
    public long Mark(long sequence)
    {
        if (sequence < 0 || sequence >= _seen.Length)
        {
            Interlocked.Increment(ref _outOfRange);
            return Total;
        }
        if (Interlocked.Increment(ref _seen[sequence]) > 1)
        {
            Interlocked.Increment(ref _duplicates);
            return Total;
        }
        return Interlocked.Increment(ref _total);
    }

    public long Duplicates => Interlocked.Read(ref _duplicates) + Interlocked.Read(ref _outOfRange);

    public long Missing => _seen.LongLength - Total;
}

/// <summary>Paces a sender at a fixed rate (Task.Delay for the bulk of the gap, then a spin).</summary>
internal static class Pacer
{
    public static async Task WaitUntilAsync(long startTimestamp, TimeSpan offset)
    {
        while (true)
        {
            var remaining = offset - Stopwatch.GetElapsedTime(startTimestamp);
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }
            if (remaining > TimeSpan.FromMilliseconds(1.5))
            {
                await Task.Delay(1);
            }
            else
            {
                Thread.SpinWait(50);
            }
        }
    }

    public static (double P50, double P99, double Max) Percentiles(List<double> latencies)
    {
        if (latencies.Count == 0)
        {
            return (0, 0, 0);
        }
        latencies.Sort();
        double At(double q) => latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
        return (At(0.50), At(0.99), latencies[^1]);
    }
}

/// <summary>CPU of this process (and optionally another) over a run, as a share of the whole machine.</summary>
internal sealed class CpuMeter(Func<TimeSpan>? other = null)
{
    private readonly TimeSpan _own = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly TimeSpan _other = other?.Invoke() ?? TimeSpan.Zero;
    private readonly long _started = Stopwatch.GetTimestamp();

    public (double Own, double Other) Percent()
    {
        var wall = Stopwatch.GetElapsedTime(_started).TotalSeconds * Environment.ProcessorCount;
        var own = (Process.GetCurrentProcess().TotalProcessorTime - _own).TotalSeconds;
        var peer = ((other?.Invoke() ?? TimeSpan.Zero) - _other).TotalSeconds;
        return (100 * own / wall, 100 * peer / wall);
    }
}
