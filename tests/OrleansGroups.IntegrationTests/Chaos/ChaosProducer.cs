using System.Text;
using OrleansGroups.Client;

namespace OrleansGroups.IntegrationTests.Chaos;

/// <summary>
/// One client incarnation: an Orleans client connected to one incarnation of the silo, and a producer on it.
/// A new one replaces it after every kill (a client whose gateway died is not trusted to recover).
/// </summary>
public sealed class ClientGeneration(int number, Microsoft.Extensions.Hosting.IHost host, Producer producer)
{
    private readonly TaskCompletionSource _replaced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private long _acknowledged;
    private long _lateCalls;
    private long _slowestCallMs;

    /// <summary>1 for the first client, then one more per restart.</summary>
    public int Number { get; } = number;

    /// <summary>The client host.</summary>
    public Microsoft.Extensions.Hosting.IHost Host { get; } = host;

    /// <summary>The producer every chaos producer task shares in this generation.</summary>
    public Producer Producer { get; } = producer;

    /// <summary>Produce calls started on this generation and not finished.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Records acknowledged through this generation.</summary>
    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    /// <summary>Completes when a newer generation replaces this one.</summary>
    public Task Replaced => _replaced.Task;

    public void Enter() => Interlocked.Increment(ref _inFlight);

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Calls acknowledged after this generation was replaced (their silo was killed while they were in flight).</summary>
    public long LateCalls => Interlocked.Read(ref _lateCalls);

    /// <summary>The longest a call of this generation took to settle.</summary>
    public long SlowestCallMs => Interlocked.Read(ref _slowestCallMs);

    public void Acked(int records)
    {
        Interlocked.Add(ref _acknowledged, records);
        if (_replaced.Task.IsCompleted)
        {
            Interlocked.Increment(ref _lateCalls);
        }
    }

    public void Settled(long elapsedMs)
    {
        long seen;
        while (elapsedMs > (seen = Interlocked.Read(ref _slowestCallMs)) && Interlocked.CompareExchange(ref _slowestCallMs, elapsedMs, seen) != seen)
        {
        }
    }

    public void MarkReplaced() => _replaced.TrySetResult();
}

/// <summary>
/// A producer task of the chaos test: keeps a few produce calls in flight (single keyed records and small
/// batches to a chosen partition), notes every acknowledgement in the ledger, and resends the payloads of a
/// failed call (same payloads, new call) on the newest client. Seeded, so the sequence of calls is reproducible.
/// </summary>
public sealed class ChaosProducer(int id, string topic, int partitions, ProduceLedger ledger, Func<ClientGeneration> current, int seed)
{
    /// <summary>Produce calls a task keeps in flight.</summary>
    public const int Window = 3;

    /// <summary>Payload length in characters (ASCII, so bytes).</summary>
    public const int PayloadLength = 48;

    private readonly Random _random = new(seed);
    private readonly Queue<Call> _retries = new();
    private long _nextSequence;
    private long _nextIssue;

    /// <summary>The last error a call of this task failed with (for the summary).</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Produces until <paramref name="stop"/> fires, then waits for its calls in flight.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        using var slots = new SemaphoreSlim(Window);
        var running = new List<Task>();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await slots.WaitAsync(stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            var generation = current();
            var call = Next();
            var issue = ++_nextIssue;
            ledger.Sending(call.Payloads);
            generation.Enter();
            running.Add(CompleteAsync(call, issue, generation, Send(generation.Producer, call), slots));
            if (running.Count > 64)
            {
                running.RemoveAll(t => t.IsCompleted);
            }
        }
        await Task.WhenAll(running);
    }

    private Task<IReadOnlyList<DeliveryResult>> Send(Producer producer, Call call)
    {
        try
        {
            if (call.Partition is { } partition)
            {
                var messages = call.Payloads.Select(p => new Message(null, Encoding.UTF8.GetBytes(p))).ToList();
                return producer.ProduceBatchAsync(topic, messages, partition);
            }
            return SingleAsync(producer, call);
        }
        catch (Exception e)
        {
            return Task.FromException<IReadOnlyList<DeliveryResult>>(e);
        }
    }

    private async Task<IReadOnlyList<DeliveryResult>> SingleAsync(Producer producer, Call call) =>
        [await producer.ProduceAsync(topic, new Message(Encoding.UTF8.GetBytes(call.Key!), Encoding.UTF8.GetBytes(call.Payloads[0])))];

    private async Task CompleteAsync(Call call, long issue, ClientGeneration generation, Task<IReadOnlyList<DeliveryResult>> send, SemaphoreSlim slots)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var delivered = await send;
            for (var i = 0; i < call.Payloads.Count; i++)
            {
                ledger.Acknowledge(call.Payloads[i], new Ack(delivered[i].Partition, delivered[i].Offset, id, issue, generation.Number));
            }
            generation.Acked(call.Payloads.Count);
        }
        catch (Exception e)
        {
            LastError = e;
            ledger.Failed(call.Payloads);
            lock (_retries)
            {
                _retries.Enqueue(call);
            }
            // Hold the slot until a new client exists (or briefly, for a failure that was not a kill).
            await Task.WhenAny(generation.Replaced, Task.Delay(250));
        }
        finally
        {
            generation.Settled((long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            generation.Exit();
            slots.Release();
        }
    }

    private Call Next()
    {
        lock (_retries)
        {
            if (_retries.Count > 0)
            {
                return _retries.Dequeue();
            }
        }
        if (_random.Next(2) == 0)
        {
            var sequence = _nextSequence++;
            return new Call([ProduceLedger.Payload(id, sequence, PayloadLength)], null, $"k{id}-{sequence % 32}");
        }
        var count = _random.Next(2, 21);
        var payloads = Enumerable.Range(0, count).Select(_ => ProduceLedger.Payload(id, _nextSequence++, PayloadLength)).ToList();
        return new Call(payloads, _random.Next(partitions), null);
    }

    /// <summary>One produce call: a keyed single record (partition by key) or a batch to one partition.</summary>
    private sealed record Call(IReadOnlyList<string> Payloads, int? Partition, string? Key);
}
