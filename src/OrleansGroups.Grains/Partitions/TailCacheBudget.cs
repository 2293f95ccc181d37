namespace OrleansGroups.Partitions;

/// <summary>
/// The silo-wide bound on bytes that partition logs keep in memory for fetches at the tail
/// (<see cref="LogOptions.TailCacheBudgetBytes"/>). Each log reserves before it caches and releases what it evicts;
/// a log that finds the budget spent evicts its own oldest bytes, or serves that run from storage.
/// Worked example: 10,000 busy partitions at the 4 MiB per-partition cap would want about 39 GiB; with the default
/// 256 MiB budget they share 256 MiB, and reads beyond it cost one storage read each.
/// </summary>
public sealed class TailCacheBudget(long capacityBytes)
{
    private long _used;

    /// <summary>The budget in bytes.</summary>
    public long CapacityBytes { get; } = capacityBytes;

    /// <summary>Bytes reserved now.</summary>
    public long UsedBytes => Interlocked.Read(ref _used);

    /// <summary>Reserves <paramref name="bytes"/> if they fit; false (and nothing reserved) otherwise.</summary>
    public bool TryReserve(long bytes)
    {
        while (true)
        {
            var used = Interlocked.Read(ref _used);
            if (used + bytes > CapacityBytes)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used)
            {
                return true;
            }
        }
    }

    /// <summary>Gives back bytes reserved earlier.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);
}
