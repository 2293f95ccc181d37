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
internal sealed record PeerScenario(string Name, string Metric, long RecordsPerRun, Dictionary<string, List<PeerRun>> Runs);

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
    /// <summary>
    /// Sends records 0 to <paramref name="records"/> - 1, one every <paramref name="interval"/> from now, each stamped
    /// just before it is sent and awaited before the next.
    /// </summary>
    public static async Task SendEachAwaitedAsync(long records, TimeSpan interval, Func<byte[], Task> send)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0L; i < records; i++)
        {
            await WaitUntilAsync(start, interval * i);
            var value = PeerValue.Make(i);
            PeerValue.Stamp(value);
            await send(value);
        }
    }

    /// <summary>
    /// Sends records 0 to <paramref name="records"/> - 1, one every <paramref name="interval"/> from now, each stamped
    /// just before it is sent, open loop: each leaves on time whether or not the previous one was acknowledged. Record
    /// <paramref name="warmUp"/> + n puts its send → acknowledged milliseconds in <paramref name="ackMs"/>[n] when it
    /// succeeds. Returns once every send has completed.
    /// </summary>
    public static async Task SendOpenLoopAsync(long records, TimeSpan interval, long warmUp, double[] ackMs, Func<byte[], Task> send)
    {
        var start = Stopwatch.GetTimestamp();
        var sends = new List<Task>((int)records);
        for (var i = 0L; i < records; i++)
        {
            await WaitUntilAsync(start, interval * i);
            var value = PeerValue.Make(i);
            PeerValue.Stamp(value);
            var sent = Stopwatch.GetTimestamp();
            var index = i - warmUp;
            sends.Add(send(value).ContinueWith(t =>
            {
                if (index >= 0 && t.IsCompletedSuccessfully)
                {
                    ackMs[index] = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                }
            }, TaskContinuationOptions.ExecuteSynchronously));
        }
        await Task.WhenAll(sends);
    }

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

/// <summary>The clocked part of a latency run with one consumer, the same on every system.</summary>
internal static class LatencyClock
{
    /// <summary>
    /// Starts the clock, runs <paramref name="send"/>, gives the consumer up to 30 s more to have every record
    /// (<paramref name="received"/>), stops the clock, then stops the consumer's loop.
    /// </summary>
    /// <param name="otherCpu">Another process's CPU time to measure alongside this one's (redis-server).</param>
    public static async Task<(double Seconds, double OwnCpu, double OtherCpu)> RunAsync(
        Func<Task> send, Task received, CancellationTokenSource stopLoop, Task consumeLoop, Func<TimeSpan>? otherCpu = null)
    {
        var cpu = new CpuMeter(otherCpu);
        var watch = Stopwatch.StartNew();
        await send();
        await Task.WhenAny(received, Task.Delay(TimeSpan.FromSeconds(30)));
        watch.Stop();
        var (own, other) = cpu.Percent();
        await stopLoop.CancelAsync();
        await consumeLoop;
        return (watch.Elapsed.TotalSeconds, own, other);
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
