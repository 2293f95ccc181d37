namespace OrleansGroups;

/// <summary>The cluster-wide list of group ids (key <see cref="GrainKeys.GroupRegistry"/>), for listing groups.</summary>
public interface IGroupRegistryGrain : IGrainWithStringKey
{
    /// <summary>Records that a group exists (idempotent).</summary>
    Task Register(string groupId);

    /// <summary>Forgets a deleted group (idempotent).</summary>
    Task Unregister(string groupId);

    /// <summary>Every known group id, sorted.</summary>
    [ReadOnly]
    Task<IReadOnlyList<string>> ListGroups();
}
