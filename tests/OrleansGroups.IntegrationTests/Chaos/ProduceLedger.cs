using System.Collections.Concurrent;
using System.Text;

namespace OrleansGroups.IntegrationTests.Chaos;

/// <summary>Where the log acknowledged a record.</summary>
/// <param name="Partition">The partition.</param>
/// <param name="Offset">The offset the producer was told.</param>
/// <param name="Producer">Which producer task sent it.</param>
/// <param name="Issue">The producer's issue number of the call (increasing per producer, retries get a new one).</param>
/// <param name="Generation">Which client (one per silo incarnation) carried the call.</param>
public sealed record Ack(int Partition, long Offset, int Producer, long Issue, int Generation);

/// <summary>A record found in a partition's log.</summary>
/// <param name="Partition">The partition.</param>
/// <param name="Offset">Its offset.</param>
/// <param name="Payload">Its value as text.</param>
public sealed record StoredRecord(int Partition, long Offset, string Payload);

/// <summary>
/// Everything the chaos producers were told, and the audit of a log against it. Thread-safe. Payloads are
/// unique per record (a retry resends the same payload), so a payload names a record.
/// </summary>
public sealed class ProduceLedger
{
    private readonly ConcurrentDictionary<string, Ack> _acks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _sent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _doubleAcks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _failed = new(StringComparer.Ordinal);
    private long _failedCalls;
    private long _failedRecords;

    /// <summary>Records acknowledged so far.</summary>
    public int Acknowledged => _acks.Count;

    /// <summary>Distinct payloads ever sent.</summary>
    public int Sent => _sent.Count;

    /// <summary>Produce calls that failed (their records were retried later).</summary>
    public long FailedCalls => Interlocked.Read(ref _failedCalls);

    /// <summary>Records in failed calls (counted once per failure).</summary>
    public long FailedRecords => Interlocked.Read(ref _failedRecords);

    /// <summary>Every acknowledgement, by payload.</summary>
    public IReadOnlyDictionary<string, Ack> Acks => _acks;

    /// <summary>Notes payloads about to be sent.</summary>
    public void Sending(IEnumerable<string> payloads)
    {
        foreach (var payload in payloads)
        {
            _sent.TryAdd(payload, 0);
        }
    }

    /// <summary>Notes an acknowledgement. A payload acknowledged twice is a producer bug and fails the audit.</summary>
    public void Acknowledge(string payload, Ack ack)
    {
        if (!_acks.TryAdd(payload, ack))
        {
            _doubleAcks.AddOrUpdate(payload, 2, (_, n) => n + 1);
        }
    }

    /// <summary>Notes a failed call of <paramref name="records"/> records.</summary>
    public void Failed(IReadOnlyCollection<string> payloads)
    {
        Interlocked.Increment(ref _failedCalls);
        Interlocked.Add(ref _failedRecords, payloads.Count);
        foreach (var payload in payloads)
        {
            _failed.TryAdd(payload, 0);
        }
    }

    /// <summary>
    /// Compares the logs (every record of every partition, in log order) with the acknowledgements.
    /// </summary>
    /// <param name="logs">Per partition: its log start offset and its records in the order read.</param>
    public LedgerAudit Audit(IReadOnlyDictionary<int, (long LogStart, IReadOnlyList<StoredRecord> Records)> logs)
    {
        var audit = new LedgerAudit { Acknowledged = _acks.Count, Sent = _sent.Count };
        foreach (var (payload, count) in _doubleAcks)
        {
            audit.Problems.Add($"payload '{payload}' was acknowledged {count} times");
        }

        var byPosition = new Dictionary<(int, long), StoredRecord>();
        var copies = new Dictionary<string, List<StoredRecord>>(StringComparer.Ordinal);
        foreach (var (partition, (logStart, records)) in logs.OrderBy(l => l.Key))
        {
            if (logStart != 0)
            {
                audit.Problems.Add($"partition {partition}: log start offset is {logStart}, expected 0 (nothing deletes records here)");
            }
            var expected = logStart;
            foreach (var record in records)
            {
                if (record.Offset != expected)
                {
                    audit.Gaps++;
                    audit.Problems.Add($"partition {partition}: offset {record.Offset} follows {expected - 1} (expected {expected})");
                }
                expected = record.Offset + 1;
                audit.Present++;
                if (!byPosition.TryAdd((partition, record.Offset), record))
                {
                    audit.Problems.Add($"partition {partition}: offset {record.Offset} appears twice");
                }
                if (!copies.TryGetValue(record.Payload, out var list))
                {
                    copies[record.Payload] = list = [];
                }
                list.Add(record);
                if (!_sent.ContainsKey(record.Payload))
                {
                    audit.Unknown++;
                    audit.Problems.Add($"partition {partition} offset {record.Offset}: payload '{record.Payload}' was never sent");
                }
            }
        }

        foreach (var (payload, ack) in _acks.OrderBy(a => a.Value.Partition).ThenBy(a => a.Value.Offset))
        {
            if (byPosition.TryGetValue((ack.Partition, ack.Offset), out var stored))
            {
                if (stored.Payload != payload)
                {
                    audit.Misplaced++;
                    var elsewhere = copies.TryGetValue(payload, out var found) ? string.Join(", ", found.Select(f => $"p{f.Partition}@{f.Offset}")) : "nowhere";
                    audit.Problems.Add($"acknowledged '{payload}' at p{ack.Partition}@{ack.Offset} (gen {ack.Generation}); that offset holds '{stored.Payload}'; the payload is at {elsewhere}");
                }
            }
            else
            {
                audit.Lost++;
                var elsewhere = copies.TryGetValue(payload, out var found) ? string.Join(", ", found.Select(f => $"p{f.Partition}@{f.Offset}")) : "nowhere";
                audit.Problems.Add($"LOST: acknowledged '{payload}' at p{ack.Partition}@{ack.Offset} (gen {ack.Generation}); the log ends before it or skips it; the payload is at {elsewhere}");
            }
        }

        var ackedPositions = _acks.Values.Select(a => (a.Partition, a.Offset)).ToHashSet();
        audit.UnacknowledgedPresent = byPosition.Keys.Count(p => !ackedPositions.Contains(p));
        audit.UnexplainedUnacknowledged = byPosition.Count(p => !ackedPositions.Contains(p.Key) && !_failed.ContainsKey(p.Value.Payload));
        foreach (var (payload, list) in copies)
        {
            if (list.Count > 1)
            {
                audit.DuplicatedPayloads++;
                audit.DuplicateCopies += list.Count - 1;
                if (!_failed.ContainsKey(payload))
                {
                    audit.UnexplainedDuplicates++;
                }
                var acked = list.Count(r => _acks.TryGetValue(payload, out var a) && a.Partition == r.Partition && a.Offset == r.Offset);
                if (acked > 1)
                {
                    audit.Problems.Add($"payload '{payload}' is acknowledged at {acked} positions");
                }
            }
        }

        // One producer's calls to one partition through one client keep their order (Producer's contract).
        foreach (var group in _acks.Values.GroupBy(a => (a.Producer, a.Partition, a.Generation)))
        {
            var ordered = group.OrderBy(a => a.Issue).ThenBy(a => a.Offset).ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                if (ordered[i].Offset <= ordered[i - 1].Offset)
                {
                    audit.OrderViolations++;
                    audit.Problems.Add($"producer {group.Key.Producer} partition {group.Key.Partition} gen {group.Key.Generation}: call {ordered[i].Issue} got offset {ordered[i].Offset}, not after call {ordered[i - 1].Issue}'s {ordered[i - 1].Offset}");
                }
            }
        }
        return audit;
    }

    /// <summary>A payload for producer <paramref name="producer"/>'s record <paramref name="sequence"/>, padded to about <paramref name="length"/> bytes.</summary>
    public static string Payload(int producer, long sequence, int length)
    {
        var text = new StringBuilder().Append('p').Append(producer).Append('-').Append(sequence.ToString("D7"));
        if (text.Length < length)
        {
            text.Append('.').Append('x', length - text.Length - 1);
        }
        return text.ToString();
    }
}

/// <summary>The result of <see cref="ProduceLedger.Audit"/>: counts, and the problems found in order.</summary>
public sealed class LedgerAudit
{
    /// <summary>Records acknowledged.</summary>
    public int Acknowledged { get; set; }

    /// <summary>Distinct payloads sent.</summary>
    public int Sent { get; set; }

    /// <summary>Records in the logs.</summary>
    public int Present { get; set; }

    /// <summary>Acknowledged records missing from their acknowledged position.</summary>
    public int Lost { get; set; }

    /// <summary>Acknowledged positions holding another payload.</summary>
    public int Misplaced { get; set; }

    /// <summary>Holes or overlaps in the offsets.</summary>
    public int Gaps { get; set; }

    /// <summary>Records whose payload was never sent (garbage).</summary>
    public int Unknown { get; set; }

    /// <summary>Records in the log at positions nobody was told about (an append that landed but whose ack was lost).</summary>
    public int UnacknowledgedPresent { get; set; }

    /// <summary>Payloads in the log more than once (a retry of a call whose first attempt landed unacknowledged).</summary>
    public int DuplicatedPayloads { get; set; }

    /// <summary>
    /// Duplicated payloads none of whose calls failed: only the client's own retries could have written them twice, which
    /// an idempotent producer must never do.
    /// </summary>
    public int UnexplainedDuplicates { get; set; }

    /// <summary>Unacknowledged records whose call never failed (so nobody was told it was not written): never for an idempotent producer.</summary>
    public int UnexplainedUnacknowledged { get; set; }

    /// <summary>Extra copies beyond the first, over all duplicated payloads.</summary>
    public int DuplicateCopies { get; set; }

    /// <summary>Acknowledged calls of one producer to one partition whose offsets are not in call order.</summary>
    public int OrderViolations { get; set; }

    /// <summary>Every problem found, most important first within each kind.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>True when nothing acknowledged is lost, moved or reordered and the log has no holes or garbage.</summary>
    public bool Passed => Problems.Count == 0;

    /// <inheritdoc />
    public override string ToString() =>
        $"acknowledged {Acknowledged}, sent {Sent}, present {Present}, lost {Lost}, misplaced {Misplaced}, gaps {Gaps}, " +
        $"unknown {Unknown}, unacknowledged-but-present {UnacknowledgedPresent}, duplicated payloads {DuplicatedPayloads} " +
        $"({DuplicateCopies} extra copies; {UnexplainedDuplicates} not from a failed call), " +
        $"unacknowledged not from a failed call {UnexplainedUnacknowledged}, order violations {OrderViolations}";
}
