using OrleansGroups.Core.Errors;

namespace OrleansGroups.Client.Internal;

/// <summary>
/// Bounds the bytes a producer holds that the cluster has not acknowledged yet (Kafka's <c>buffer.memory</c>). A call
/// is admitted when its bytes fit, in call order: a call that does not fit waits, and so does every call after it,
/// up to <c>max.block</c>, then fails with <see cref="ProducerBufferFullException"/>. Admission runs the caller's
/// dispatch under the buffer's lock, so calls leave for their partitions in the order they were admitted.
/// </summary>
/// <remarks>
/// A call larger than the whole buffer is admitted alone, once nothing else is buffered (it could never fit
/// otherwise), so the bound is the larger of <c>buffer.memory</c> and the largest single call. Example: 32 MiB of
/// buffer and 1 KiB messages hold about 32,000 unacknowledged messages; the 32,001st waits for an acknowledgement.
/// </remarks>
internal sealed class ProducerBuffer(long capacity, TimeSpan maxBlock, TimeProvider time)
{
    private readonly object _gate = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _used;

    /// <summary>Bytes admitted and not yet released.</summary>
    public long Used
    {
        get
        {
            lock (_gate)
            {
                return _used;
            }
        }
    }

    /// <summary>What the buffer counts for a message: its key, value and headers, plus a fixed overhead.</summary>
    public static long Estimate(Message m) =>
        24L + (m.Key?.Length ?? 0) + (m.Value?.Length ?? 0) + (m.Headers?.Sum(h => h.Key.Length + (h.Value?.Length ?? 0) + 8) ?? 0);

    /// <summary>
    /// Reserves <paramref name="bytes"/> and runs <paramref name="dispatch"/>; completes with its result. Completes at
    /// once when there is room and nobody waits ahead, else when room appears, or fails after max.block. The caller
    /// must <see cref="Release"/> the bytes once the dispatched work is acknowledged or failed.
    /// </summary>
    public Task<T> AdmitAsync<T>(long bytes, Func<T> dispatch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_waiters.Count == 0 && Fits(bytes))
            {
                return Task.FromResult(Run(bytes, dispatch));
            }
            var waiter = new Waiter<T>(bytes, dispatch);
            var node = _waiters.AddLast(waiter);
            waiter.Expiry = new CancellationTokenSource();
            _ = ExpireAsync(node, waiter.Expiry.Token);
            if (cancellationToken.CanBeCanceled)
            {
                waiter.Cancellation = cancellationToken.Register(() => Abandon(node, new OperationCanceledException(cancellationToken)));
            }
            return waiter.Completion.Task;
        }
    }

    /// <summary>Gives back bytes of an admitted call, admitting the waiters that now fit, oldest first.</summary>
    public void Release(long bytes)
    {
        lock (_gate)
        {
            _used -= bytes;
            AdmitWaiters();
        }
    }

    private bool Fits(long bytes) => _used + bytes <= capacity || _used == 0;

    private T Run<T>(long bytes, Func<T> dispatch)
    {
        _used += bytes;
        try
        {
            return dispatch();
        }
        catch
        {
            _used -= bytes;
            throw;
        }
    }

    private void AdmitWaiters()
    {
        while (_waiters.First is { } first && Fits(first.Value.Bytes))
        {
            _waiters.RemoveFirst();
            first.Value.Admit(this);
        }
    }

    private async Task ExpireAsync(LinkedListNode<Waiter> node, CancellationToken admitted)
    {
        try
        {
            await Task.Delay(maxBlock, time, admitted);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        long used;
        lock (_gate)
        {
            used = _used;
        }
        Abandon(node, new ProducerBufferFullException(node.Value.Bytes, used, capacity, maxBlock));
    }

    private void Abandon(LinkedListNode<Waiter> node, Exception error)
    {
        lock (_gate)
        {
            if (node.List is null)
            {
                return; // admitted or abandoned already
            }
            _waiters.Remove(node);
            node.Value.Fail(error);
            // It may have held back smaller calls behind it.
            AdmitWaiters();
        }
    }

    private abstract class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;
        public CancellationTokenSource? Expiry { get; set; }
        public CancellationTokenRegistration Cancellation { get; set; }

        public abstract void Admit(ProducerBuffer buffer);

        public abstract void Fail(Exception error);

        protected void StopTimers()
        {
            Expiry?.Cancel();
            Expiry?.Dispose();
            Cancellation.Dispose();
        }
    }

    private sealed class Waiter<T>(long bytes, Func<T> dispatch) : Waiter(bytes)
    {
        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void Admit(ProducerBuffer buffer)
        {
            StopTimers();
            try
            {
                Completion.TrySetResult(buffer.Run(Bytes, dispatch));
            }
            catch (Exception e)
            {
                Completion.TrySetException(e);
            }
        }

        public override void Fail(Exception error)
        {
            StopTimers();
            Completion.TrySetException(error);
        }
    }
}
