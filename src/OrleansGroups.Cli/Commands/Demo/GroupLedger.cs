using System.Collections.Concurrent;

namespace OrleansGroups.Cli.Commands.Demo;

/// <summary>
/// Every record one consumer group processed, keyed by (partition, offset), so the demo's closing claim
/// "read exactly once" is counted, not asserted.
/// </summary>
internal sealed class GroupLedger(string groupId)
{
    private readonly ConcurrentDictionary<(int Partition, long Offset), string> _firstReader = new();
    private readonly ConcurrentQueue<(int Partition, long Offset, string First, string Again)> _duplicates = new();
    private readonly ConcurrentDictionary<string, long> _readBy = new(StringComparer.Ordinal);
    private long _read;

    public string GroupId { get; } = groupId;

    /// <summary>Records processed, counting repeats.</summary>
    public long Read => Interlocked.Read(ref _read);

    /// <summary>Distinct (partition, offset) pairs processed.</summary>
    public int Distinct => _firstReader.Count;

    public IReadOnlyCollection<(int Partition, long Offset, string First, string Again)> Duplicates => _duplicates;

    public IReadOnlyDictionary<string, long> ReadBy => _readBy;

    public void Record(string consumer, int partition, long offset)
    {
        Interlocked.Increment(ref _read);
        _readBy.AddOrUpdate(consumer, 1, (_, n) => n + 1);
        if (!_firstReader.TryAdd((partition, offset), consumer))
        {
            _duplicates.Enqueue((partition, offset, _firstReader[(partition, offset)], consumer));
        }
    }

    /// <summary>Produced records this group never processed.</summary>
    public int CountMissing(IReadOnlySet<(int Partition, long Offset)> produced) => produced.Count(p => !_firstReader.ContainsKey(p));

    /// <summary>Processed records that were never produced (would mean a bug in the ledger or the log).</summary>
    public int CountUnexpected(IReadOnlySet<(int Partition, long Offset)> produced) => _firstReader.Keys.Count(k => !produced.Contains(k));
}
