using OrleansGroups.Core.Errors;

namespace OrleansGroups;

/// <summary>The one way the metadata grains save state.</summary>
internal static class PersistentStateExtensions
{
    /// <summary>
    /// Writes the state; if the write fails, undoes the in-memory change, drops the activation (its ETag may now be
    /// stale, so the next activation reloads) and throws <see cref="StorageUnavailableException"/>: nothing changed.
    /// </summary>
    public static async Task WriteOrRollBackAsync<T>(this IPersistentState<T> state, Grain grain, Action rollBack, string failure)
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception e)
        {
            rollBack();
            grain.DeactivateOnIdle();
            throw new StorageUnavailableException($"{failure}: storage write failed ({e.Message}).", e);
        }
    }
}
