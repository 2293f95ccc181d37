using OrleansGroups.Core.Errors;

namespace OrleansGroups.Client.Internal;

/// <summary>
/// The producer id shared by one producer's partition senders, fetched once. After a batch fails for good with a
/// retriable error, its fate is unknown, so that identity is retired and the next batch starts a new one (sequence 0):
/// reusing the old sequences could make a partition mistake a new batch for the lost one.
/// </summary>
internal sealed class ProducerIdentitySource(IGrainFactory grains, bool enabled)
{
    private readonly object _gate = new();
    private Task<ProducerIdentity?>? _current;

    public Task<ProducerIdentity?> GetAsync()
    {
        if (!enabled)
        {
            return Task.FromResult<ProducerIdentity?>(null);
        }
        lock (_gate)
        {
            if (_current is null || _current.IsFaulted || _current.IsCanceled)
            {
                _current = FetchAsync();
            }
            return _current;
        }
    }

    public void Retire(ProducerIdentity identity)
    {
        lock (_gate)
        {
            if (_current is { IsCompletedSuccessfully: true } current && current.Result == identity)
            {
                _current = null;
            }
        }
    }

    private async Task<ProducerIdentity?> FetchAsync() =>
        await grains.GetGrain<IProducerIdGrain>(GrainKeys.ProducerIds).InitProducerId();
}
