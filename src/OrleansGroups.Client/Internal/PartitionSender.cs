using System.Diagnostics;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client.Internal;

/// <summary>
/// Sends one partition's messages with at most one append in flight. Calls that arrive while an append is
/// in flight queue up and are encoded into the next batch together. A batch that is not full waits until its oldest
/// message has waited <see cref="ProducerOptions.Linger"/> (Kafka's <c>linger.ms</c>); time spent behind the previous
/// append counts, so under load, when appends take longer than the linger, nothing waits extra.
/// </summary>
internal sealed class PartitionSender(
    TopicPartition partition, IPartitionGrain grain, ProducerOptions options, ProducerIdentitySource identities, Func<bool> flushing)
{
    private readonly object _gate = new();
    private readonly Queue<Pending> _queue = new();
    private bool _sending;
    private TaskCompletionSource? _idle;
    private TaskCompletionSource? _lingerCut;
    private long _queuedBytes;
    private long _queuedRecords;
    private ProducerIdentity? _identity;
    private int _nextSequence;

    public async Task<IReadOnlyList<DeliveryResult>> SendAsync(IReadOnlyList<Message> messages, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var now = DateTimeOffset.UtcNow;
        // A long list is cut into batch-sized pieces so no single append exceeds the batch limit.
        var pieces = new List<Pending>();
        var current = new List<ProducerRecord>();
        long bytes = 0;
        foreach (var m in messages)
        {
            var record = new ProducerRecord(m.Key, m.Value, m.Headers, (m.Timestamp ?? now).ToUnixTimeMilliseconds());
            var size = Pending.Estimate(record);
            if (current.Count > 0 && (bytes + size > options.BatchMaxBytes || current.Count >= options.BatchMaxMessages))
            {
                pieces.Add(new Pending(current));
                current = [];
                bytes = 0;
            }
            current.Add(record);
            bytes += size;
        }
        if (current.Count > 0)
        {
            pieces.Add(new Pending(current));
        }
        lock (_gate)
        {
            foreach (var piece in pieces)
            {
                _queue.Enqueue(piece);
                _queuedBytes += piece.EstimatedBytes;
                _queuedRecords += piece.Records.Count;
            }
            if (_lingerCut is not null && BatchFull())
            {
                _lingerCut.TrySetResult();
            }
            if (!_sending)
            {
                _sending = true;
                _ = Task.Run(SendLoopAsync, CancellationToken.None);
            }
        }
        if (pieces.Count == 1)
        {
            return await pieces[0].Completion.Task;
        }
        var results = await Task.WhenAll(pieces.Select(p => p.Completion.Task));
        return results.SelectMany(r => r).ToList();
    }

    /// <summary>Ends a linger now (a flush is waiting).</summary>
    public void SendNow()
    {
        lock (_gate)
        {
            _lingerCut?.TrySetResult();
        }
    }

    public Task IdleAsync()
    {
        lock (_gate)
        {
            if (!_sending)
            {
                return Task.CompletedTask;
            }
            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
        }
    }

    private async Task SendLoopAsync()
    {
        while (true)
        {
            List<Pending> take;
            Task? lingerCut = null;
            var linger = TimeSpan.Zero;
            lock (_gate)
            {
                if (_queue.Count == 0)
                {
                    _sending = false;
                    _idle?.TrySetResult();
                    _idle = null;
                    return;
                }
                linger = LingerLeft();
                if (linger > TimeSpan.Zero)
                {
                    _lingerCut = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    lingerCut = _lingerCut.Task;
                    take = [];
                }
                else
                {
                    _lingerCut = null;
                    take = TakeBatch();
                }
            }
            if (lingerCut is not null)
            {
                // Until the linger ends, the batch fills up, or a flush asks for everything now (then the timer goes).
                using var timer = new CancellationTokenSource();
                await Task.WhenAny(lingerCut, Task.Delay(linger, timer.Token));
                await timer.CancelAsync();
                continue;
            }
            var records = take.SelectMany(p => p.Records).ToList();
            try
            {
                var result = await AppendWithRetriesAsync(records);
                var offset = result.BaseOffset;
                foreach (var item in take)
                {
                    var delivered = new DeliveryResult[item.Records.Count];
                    for (var i = 0; i < delivered.Length; i++, offset++)
                    {
                        delivered[i] = new DeliveryResult(partition.Topic, partition.Partition, offset,
                            DateTimeOffset.FromUnixTimeMilliseconds(item.Records[i].Timestamp));
                    }
                    item.Completion.TrySetResult(delivered);
                }
            }
            catch (Exception e)
            {
                foreach (var item in take)
                {
                    item.Completion.TrySetException(e);
                }
            }
        }
    }

    /// <summary>
    /// Appends one batch, retrying the very same bytes (same producer id and sequence) after retriable failures
    /// until the delivery timeout: the partition drops a retry of a batch that did land.
    /// </summary>
    private async Task<AppendResult> AppendWithRetriesAsync(List<ProducerRecord> records)
    {
        var identity = await identities.GetAsync();
        if (identity != _identity)
        {
            _identity = identity;
            _nextSequence = 0;
        }
        var batch = identity is null
            ? RecordBatch.Encode(0, records)
            : RecordBatch.Encode(0, records, identity.ProducerId, identity.Epoch, _nextSequence);
        var deadline = DateTimeOffset.UtcNow + options.DeliveryTimeout;
        var backoff = options.RetryBackoff;
        while (true)
        {
            try
            {
                // Orleans copies arguments (over the wire or, in-process, because byte[] is mutable), so the base
                // offset the grain stamps into its copy never reaches this array: a retry is byte-identical.
                // One attempt never outlives the delivery timeout (Kafka's delivery.timeout.ms).
                var remaining = deadline - DateTimeOffset.UtcNow;
                var result = await grain.Append(batch).WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1));
                if (identity is not null)
                {
                    _nextSequence = (int)(((long)_nextSequence + records.Count) % ((long)int.MaxValue + 1));
                }
                return result;
            }
            catch (Exception e) when (identity is not null && TransientFailures.Is(e) && DateTimeOffset.UtcNow + backoff < deadline)
            {
                await Task.Delay(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
            catch (Exception e) when (identity is not null && TransientFailures.Is(e))
            {
                // Out of time with the outcome unknown: a fresh identity keeps later batches unambiguous.
                identities.Retire(identity);
                throw new DeliveryTimeoutException(partition.Topic, partition.Partition, options.DeliveryTimeout, e);
            }
        }
    }

    /// <summary>How much longer the oldest queued message should wait for company; zero to send now.</summary>
    private TimeSpan LingerLeft()
    {
        if (options.Linger <= TimeSpan.Zero || BatchFull() || flushing())
        {
            return TimeSpan.Zero;
        }
        return options.Linger - Stopwatch.GetElapsedTime(_queue.Peek().EnqueuedAt);
    }

    private bool BatchFull() => _queuedBytes >= options.BatchMaxBytes || _queuedRecords >= options.BatchMaxMessages;

    /// <summary>Whole calls, as many as fit in one batch (at least one, however large: the partition judges its size).</summary>
    private List<Pending> TakeBatch()
    {
        var take = new List<Pending>();
        long bytes = 0;
        var count = 0;
        while (_queue.Count > 0)
        {
            var next = _queue.Peek();
            if (take.Count > 0 && (bytes + next.EstimatedBytes > options.BatchMaxBytes || count + next.Records.Count > options.BatchMaxMessages))
            {
                break;
            }
            take.Add(_queue.Dequeue());
            _queuedBytes -= next.EstimatedBytes;
            _queuedRecords -= next.Records.Count;
            bytes += next.EstimatedBytes;
            count += next.Records.Count;
        }
        return take;
    }

    private sealed class Pending(List<ProducerRecord> records)
    {
        public List<ProducerRecord> Records { get; } = records;
        public long EstimatedBytes { get; } = records.Sum(Estimate);
        public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();
        public TaskCompletionSource<IReadOnlyList<DeliveryResult>> Completion { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static long Estimate(ProducerRecord r) =>
            24L + (r.Key?.Length ?? 0) + (r.Value?.Length ?? 0) + (r.Headers?.Sum(h => h.Key.Length + (h.Value?.Length ?? 0) + 8) ?? 0);
    }
}
