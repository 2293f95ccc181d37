using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using OrleansGroups.Core.Log;
using OrleansGroups.Storage;

namespace OrleansGroups.Bench;

/// <summary>Count, total time and an item count (records or bytes) of one kind of call. Thread-safe.</summary>
internal sealed class CallTimer
{
    private long _calls;
    private long _ticks;
    private long _items;

    public Snapshot Read() => new(Interlocked.Read(ref _calls), Interlocked.Read(ref _ticks), Interlocked.Read(ref _items));

    public void Add(long elapsedTicks, long items)
    {
        Interlocked.Increment(ref _calls);
        Interlocked.Add(ref _ticks, elapsedTicks);
        Interlocked.Add(ref _items, items);
    }

    /// <summary>A reading; subtract two to get one run's share.</summary>
    public readonly record struct Snapshot(long Calls, long Ticks, long Items)
    {
        public static Snapshot operator -(Snapshot a, Snapshot b) => new(a.Calls - b.Calls, a.Ticks - b.Ticks, a.Items - b.Items);

        public double MeanMs => Calls == 0 ? 0 : Ticks * 1000.0 / Stopwatch.Frequency / Calls;

        public double TotalSeconds => (double)Ticks / Stopwatch.Frequency;
    }
}

/// <summary>
/// The timers of one benchmark process: <c>IPartitionGrain.Append</c> as the client sees it (round trip, records
/// per call) and <c>ILogStore.AppendAsync</c> as the silo sees it (storage time, bytes per append).
/// </summary>
internal sealed class Timers
{
    public CallTimer ClientAppend { get; } = new();

    public CallTimer StorageAppend { get; } = new();
}

/// <summary>
/// Times the Task-returning calls of an interface by wrapping the implementation in a <see cref="DispatchProxy"/>
/// (one reflection call per call: microseconds against calls of hundreds of microseconds). Works whatever members
/// the interface gains, which matters while the log store and grain interfaces are still growing.
/// </summary>
internal class TimingProxy : DispatchProxy
{
    private object _inner = null!;
    private Func<MethodInfo, object?[]?, object?, long, object?> _onCall = null!;

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="onCall"/> sees each call's method, arguments, result and start timestamp, and returns the result to hand back.</summary>
    public static T Wrap<T>(T inner, Func<MethodInfo, object?[]?, object?, long, object?> onCall) where T : class
    {
        var proxy = Create<T, TimingProxy>();
        var timing = (TimingProxy)(object)proxy;
        timing._inner = inner;
        timing._onCall = onCall;
        return proxy;
    }

    /// <summary>Wraps a log store so that <c>AppendAsync</c> feeds <paramref name="timer"/> (items: bytes).</summary>
    public static ILogStore LogStore(ILogStore inner, CallTimer timer) =>
        Wrap(inner, (method, args, result, started) =>
        {
            if (method.Name == nameof(ILogStore.AppendAsync) && result is Task task)
            {
                Time(task, timer, started, ((ReadOnlyMemory<byte>)args![2]!).Length);
            }
            return result;
        });

    /// <summary>Wraps a grain factory so that the partition grains it hands out feed <paramref name="timer"/> on <c>Append</c> (items: records).</summary>
    public static IGrainFactory GrainFactory(IGrainFactory inner, CallTimer timer) =>
        Wrap(inner, (_, _, result, _) => result is IPartitionGrain grain ? PartitionGrain(grain, timer) : result);

    private static IPartitionGrain PartitionGrain(IPartitionGrain inner, CallTimer timer) =>
        Wrap(inner, (method, args, result, started) =>
        {
            if (method.Name == nameof(IPartitionGrain.Append) && result is Task task)
            {
                var records = args![0] is byte[] batch && RecordBatch.TryReadHeader(batch, out var header) ? header.RecordCount : 0;
                Time(task, timer, started, records);
            }
            return result;
        });

    /// <summary>Replaces the registered <see cref="ILogStore"/> with a timed wrapper of it.</summary>
    public static void DecorateLogStore(IServiceCollection services, CallTimer timer)
    {
        var original = services.Last(d => d.ServiceType == typeof(ILogStore));
        services.Remove(original);
        services.AddSingleton<ILogStore>(sp => LogStore(
            (ILogStore)(original.ImplementationInstance
                ?? original.ImplementationFactory?.Invoke(sp)
                ?? ActivatorUtilities.CreateInstance(sp, original.ImplementationType!)),
            timer));
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        var started = Stopwatch.GetTimestamp();
        object? result;
        try
        {
            result = targetMethod!.Invoke(_inner, args);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
        return _onCall(targetMethod, args, result, started);
    }

    private static void Time(Task task, CallTimer timer, long started, long items) =>
        task.ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully)
            {
                timer.Add(Stopwatch.GetTimestamp() - started, items);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
