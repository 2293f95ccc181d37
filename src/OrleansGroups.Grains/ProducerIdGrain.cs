using OrleansGroups.Core.Errors;

namespace OrleansGroups;

/// <summary>Persistent state of <see cref="ProducerIdGrain"/>.</summary>
[GenerateSerializer, Alias("og.ProducerIdState")]
public sealed class ProducerIdState
{
    /// <summary>The next id to hand out.</summary>
    [Id(0)] public long NextProducerId { get; set; }
}

/// <summary>
/// Allocates producer ids in blocks: one storage write reserves <see cref="BlockSize"/> ids, so creating producers
/// costs no write most of the time; ids of a block lost in a crash are simply never used.
/// </summary>
internal sealed class ProducerIdGrain(
    [PersistentState("producer-ids", StorageNames.State)] IPersistentState<ProducerIdState> state) : Grain, IProducerIdGrain
{
    public const int BlockSize = 1000;

    private long _next;
    private long _reservedUpTo;

    public async Task<ProducerIdentity> InitProducerId()
    {
        if (_next >= _reservedUpTo)
        {
            var start = state.State.NextProducerId;
            state.State.NextProducerId = start + BlockSize;
            await state.WriteOrRollBackAsync(this, () => state.State.NextProducerId = start, "No producer id could be reserved");
            _next = start;
            _reservedUpTo = start + BlockSize;
        }
        return new ProducerIdentity(_next++, 0);
    }
}
