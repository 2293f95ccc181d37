using OrleansGroups.Client;
using OrleansGroups.Core.Errors;

namespace OrleansGroups.Cli.Commands.Demo;

/// <summary>
/// One consumer of the demo: takes the records already fetched (up to a batch), "works" on them, records them in
/// its group's ledger, then commits. It stops only between batches, so when it crashes everything it
/// processed is committed and nothing it committed is unprocessed: the next owner starts exactly after it.
/// </summary>
internal sealed class DemoConsumer(string name, Consumer consumer, GroupLedger ledger, TimeSpan workPerRecord)
{
    private const int MaxBatch = 25;

    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public string Name { get; } = name;

    public Consumer Consumer { get; } = consumer;

    public bool Running { get; private set; }

    public void Start(string topic)
    {
        Consumer.Subscribe(topic);
        Running = true;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Finishes the current batch and commits, then stops heartbeating without leaving, like a killed process.</summary>
    public async Task CrashAsync()
    {
        await StopLoopAsync();
        await CommitAsync();
        await Consumer.AbandonAsync();
    }

    /// <summary>Finishes the current batch, commits and leaves the group.</summary>
    public async Task LeaveAsync()
    {
        await StopLoopAsync();
        await Consumer.CloseAsync();
    }

    private async Task StopLoopAsync()
    {
        Running = false;
        _stop.Cancel();
        if (_loop is not null)
        {
            await _loop;
        }
    }

    private async Task LoopAsync()
    {
        var batch = new List<ConsumeResult>(MaxBatch);
        while (!_stop.IsCancellationRequested)
        {
            ConsumeResult? first;
            try
            {
                // Cancelling this wait never loses a record: a record is only taken when one is returned.
                first = await Consumer.ConsumeAsync(TimeSpan.FromMilliseconds(200), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (first is null)
            {
                continue;
            }
            batch.Clear();
            batch.Add(first);
            while (batch.Count < MaxBatch && await Consumer.ConsumeAsync(TimeSpan.Zero) is { } next)
            {
                batch.Add(next);
            }
            // The "work" is not cancellable: a batch that was taken is always processed and committed.
            var work = workPerRecord * batch.Count;
            if (work >= TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(work);
            }
            foreach (var record in batch)
            {
                ledger.Record(Name, record.Partition, record.Offset);
            }
            await CommitAsync();
        }
    }

    private async Task CommitAsync()
    {
        try
        {
            await Consumer.CommitAsync();
        }
        catch (OrleansGroupsException e) when (e is StaleMemberEpochException or UnknownMemberException or FencedMemberEpochException)
        {
            // A rebalance took a partition meanwhile; the consumer committed it itself before releasing it.
        }
    }
}
