using System.Reflection;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.Partitions;
using OrleansGroups.Storage;

using static OrleansGroups.Grains.Tests.LogBatches;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// <see cref="PartitionLog"/> alone (no cluster) over a store whose appends can be made to land and then report an
/// error, as a storage call that times out after the write took effect does.
/// </summary>
public sealed class PartitionLogRecoveryTests
{
    private static readonly TopicPartition Partition = new("recovery", 0);

    /// <summary>
    /// Runs <paramref name="body"/> with one turn at a time, as a grain activation runs <see cref="PartitionLog"/>
    /// (it is not thread-safe): every continuation goes to one exclusive scheduler.
    /// </summary>
    private static Task OneTurnAtATime(Func<Task> body) =>
        Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.None,
            new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler).Unwrap();

    [Fact]
    public Task AppendThatLandedButFailed_IsFoundByRecovery_BeforeTheNextAppend() => OneTurnAtATime(AppendThatLandedButFailed_IsFoundByRecovery_BeforeTheNextAppendBody);

    private static async Task AppendThatLandedButFailed_IsFoundByRecovery_BeforeTheNextAppendBody()
    {
        // A store whose calls complete synchronously (MemoryLogStore, or any cached or local store).
        var store = FlakyLogStore.Over(new MemoryLogStore(), out var flaky);
        var log = new PartitionLog(store, Partition, 0, new LogOptions(), TimeProvider.System, NullLogger.Instance);
        await log.EnsureRecoveredAsync();
        Assert.Equal(0, (await AppendAsync(log, "a")).BaseOffset);

        // 1. "b" lands in storage, but the append reports an error: the log must re-read storage before appending again.
        flaky.LandThenFailNextAppend = true;
        await Assert.ThrowsAsync<StorageUnavailableException>(() => AppendAsync(log, "b"));

        // 2. The next append must come after "b" (offset 2), not conflict forever with the stale segment length.
        var c = await AppendAsync(log, "c");

        Assert.Equal(2, c.BaseOffset);
        Assert.Equal(3, log.HighWatermark);
    }

    [Fact]
    public Task IdempotentRetryOfAFailedAppend_IsWritten_NotAnsweredWithoutOffsets() => OneTurnAtATime(IdempotentRetryOfAFailedAppend_IsWritten_NotAnsweredWithoutOffsetsBody);

    private static async Task IdempotentRetryOfAFailedAppend_IsWritten_NotAnsweredWithoutOffsetsBody()
    {
        var store = FlakyLogStore.Over(new MemoryLogStore(), out var flaky);
        var log = new PartitionLog(store, Partition, 0, new LogOptions(), TimeProvider.System, NullLogger.Instance);
        await log.EnsureRecoveredAsync();
        Assert.Equal(0, (await AppendAsync(log, "q0", 21, 0)).BaseOffset);

        // 1. The append of q1 fails and writes nothing.
        flaky.HoldNextAppendThenFail = Task.CompletedTask;
        await Assert.ThrowsAsync<StorageUnavailableException>(() => AppendAsync(log, "q1", 21, 1));

        // 2. The producer retries the same batch: it must be written now and get offset 1.
        var retry = await AppendAsync(log, "q1", 21, 1);

        Assert.Equal(1, retry.BaseOffset);
        Assert.Equal(2, log.HighWatermark);
    }

    [Fact]
    public Task BatchQueuedWhileAnotherProducersAppendFailed_StaysInTheProducerState() => OneTurnAtATime(BatchQueuedWhileAnotherProducersAppendFailed_StaysInTheProducerStateBody);

    private static async Task BatchQueuedWhileAnotherProducersAppendFailed_StaysInTheProducerStateBody()
    {
        // Storage calls complete asynchronously, as Azure's do.
        var store = FlakyLogStore.Over(new MemoryLogStore(), out var flaky);
        flaky.Asynchronous = true;
        var log = new PartitionLog(store, Partition, 0, new LogOptions(), TimeProvider.System, NullLogger.Instance);
        await log.EnsureRecoveredAsync();
        const long q = 21, p = 7;
        Assert.Equal(0, (await AppendAsync(log, "q0", q, 0)).BaseOffset);

        // 1. Producer p's append hangs in storage; producer q's next batch queues behind it (group commit).
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        flaky.HoldNextAppendThenFail = gate.Task;
        var pAppend = AppendAsync(log, "p0", p, 0);
        await flaky.AppendHeld;
        var q1 = AppendAsync(log, "q1", q, 1);

        // 2. p's append fails without landing: the log recovers from storage, then appends q1.
        gate.SetResult();
        await Assert.ThrowsAsync<StorageUnavailableException>(() => pAppend);
        Assert.Equal(1, (await q1).BaseOffset);

        // 3. q's next batch follows q1: the partition must still know that q1 was written.
        var q2 = await AppendAsync(log, "q2", q, 2);

        Assert.Equal(2, q2.BaseOffset);
    }

    /// <summary>
    /// Forwards every call to a real store; optionally yields first (an asynchronous store); on request, lets the
    /// next append land and then throws, or holds it until a gate opens and then throws without writing.
    /// </summary>
    public class FlakyLogStore : DispatchProxy
    {
        private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private ILogStore _inner = null!;

        public bool LandThenFailNextAppend { get; set; }

        public bool Asynchronous { get; set; }

        public Task? HoldNextAppendThenFail { get; set; }

        /// <summary>Completes when an append is being held.</summary>
        public Task AppendHeld => _held.Task;

        public static ILogStore Over(ILogStore inner, out FlakyLogStore flaky)
        {
            var proxy = Create<ILogStore, FlakyLogStore>();
            flaky = (FlakyLogStore)(object)proxy;
            flaky._inner = inner;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod!.Name == nameof(ILogStore.AppendAsync) && HoldNextAppendThenFail is { } gate)
            {
                HoldNextAppendThenFail = null;
                _held.TrySetResult();
                return HeldThenFailedAsync(gate);
            }
            if (Asynchronous && targetMethod.ReturnType.IsGenericType && targetMethod.ReturnType.GetGenericTypeDefinition() == typeof(Task<>))
            {
                var forward = typeof(FlakyLogStore).GetMethod(nameof(YieldThenResultAsync), BindingFlags.NonPublic | BindingFlags.Instance)!
                    .MakeGenericMethod(targetMethod.ReturnType.GetGenericArguments()[0]);
                return forward.Invoke(this, [targetMethod, args]);
            }
            if (Asynchronous && targetMethod.ReturnType == typeof(Task))
            {
                return YieldThenAsync(targetMethod, args);
            }
            return Forward(targetMethod, args);
        }

        private async Task<T> YieldThenResultAsync<T>(MethodInfo method, object?[]? args)
        {
            await Task.Yield();
            return await (Task<T>)Forward(method, args)!;
        }

        private async Task YieldThenAsync(MethodInfo method, object?[]? args)
        {
            await Task.Yield();
            await (Task)Forward(method, args)!;
        }

        private static async Task HeldThenFailedAsync(Task gate)
        {
            await gate;
            throw new IOException("The storage call failed; nothing was written.");
        }

        private object? Forward(MethodInfo targetMethod, object?[]? args)
        {
            object? result;
            try
            {
                result = targetMethod!.Invoke(_inner, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
                throw;
            }
            if (targetMethod.Name == nameof(ILogStore.AppendAsync) && LandThenFailNextAppend)
            {
                LandThenFailNextAppend = false;
                return LandedThenFailedAsync((Task)result!);
            }
            return result;
        }

        private static async Task LandedThenFailedAsync(Task append)
        {
            await append;
            throw new IOException("The response was lost after the append took effect.");
        }
    }
}
