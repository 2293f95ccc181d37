namespace OrleansGroups;

/// <summary>
/// Hands out producer ids for idempotent producers (key <see cref="GrainKeys.ProducerIds"/>), like Kafka's
/// InitProducerId. An id is never handed out twice, even across restarts.
/// </summary>
public interface IProducerIdGrain : IGrainWithStringKey
{
    /// <summary>A fresh producer id with epoch 0.</summary>
    Task<ProducerIdentity> InitProducerId();
}
