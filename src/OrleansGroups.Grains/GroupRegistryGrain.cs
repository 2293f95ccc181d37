using Microsoft.Extensions.Options;
using OrleansGroups.Core.Errors;
using OrleansGroups.Hosting;

namespace OrleansGroups;

/// <summary>Persistent state of <see cref="GroupRegistryGrain"/>.</summary>
[GenerateSerializer, Alias("og.GroupRegistryState")]
public sealed class GroupRegistryState
{
    /// <summary>Known group ids.</summary>
    [Id(0)] public SortedSet<string> Groups { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Remembers which groups exist so they can be listed.</summary>
internal sealed class GroupRegistryGrain(
    [PersistentState("groups", StorageNames.State)] IPersistentState<GroupRegistryState> state,
    IOptions<OrleansGroupsOptions> options) : Grain, IGroupRegistryGrain
{
    public async Task Register(string groupId)
    {
        if (state.State.Groups.Contains(groupId))
        {
            return;
        }
        if (state.State.Groups.Count >= options.Value.Groups.MaxGroups)
        {
            throw new ResourceLimitReachedException("groups", options.Value.Groups.MaxGroups, "Groups.MaxGroups");
        }
        state.State.Groups.Add(groupId);
        await state.WriteOrRollBackAsync(this, () => state.State.Groups.Remove(groupId), $"Group '{groupId}' could not be registered");
    }

    public async Task Unregister(string groupId)
    {
        if (!state.State.Groups.Remove(groupId))
        {
            return;
        }
        await state.WriteOrRollBackAsync(this, () => state.State.Groups.Add(groupId), $"Group '{groupId}' could not be unregistered");
    }

    public Task<IReadOnlyList<string>> ListGroups() =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Groups]);
}
