using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Log;

/// <summary>What the partition should do with an idempotent producer's batch.</summary>
/// <param name="IsDuplicate">True when the batch was already appended: reply with the original offsets, append nothing.</param>
/// <param name="BaseOffset">The original base offset of a duplicate (-1 while the original is still being written).</param>
/// <param name="AppendTime">The original append time of a duplicate.</param>
public readonly record struct SequenceCheck(bool IsDuplicate, long BaseOffset, long AppendTime);

/// <summary>
/// Per-partition memory of idempotent producers (Kafka's producer state): the epoch and the last few batches of
/// each producer id, so a retried batch is recognised and answered with its original offsets, and a gap in
/// the sequence is refused. Rebuilt from the log on recovery: every batch carries its producer id, epoch and sequence.
/// </summary>
public sealed class ProducerStateTable(TopicPartition partition)
{
    /// <summary>How many recent batches per producer are remembered for deduplication (Kafka keeps 5, its max in-flight).</summary>
    public const int RememberedBatches = 5;

    private readonly Dictionary<long, ProducerEntry> _producers = [];

    /// <summary>Producers known to this partition.</summary>
    public int Count => _producers.Count;

    /// <summary>
    /// Decides whether a batch is new, a duplicate, or refused. Throws <see cref="ProducerFencedException"/> for an
    /// old epoch and <see cref="OutOfOrderSequenceException"/> for a sequence gap.
    /// </summary>
    public SequenceCheck Check(long producerId, short epoch, int baseSequence, int recordCount)
    {
        if (!_producers.TryGetValue(producerId, out var entry))
        {
            // Unknown producer: its state may have aged out with retention, so any starting sequence is accepted.
            return default;
        }
        if (epoch < entry.Epoch)
        {
            throw new ProducerFencedException(producerId, epoch, entry.Epoch);
        }
        if (epoch > entry.Epoch)
        {
            return baseSequence == 0
                ? default
                : throw new OutOfOrderSequenceException(partition.Topic, partition.Partition, producerId, 0, baseSequence);
        }
        if (entry.Batches.Count == 0)
        {
            return default;
        }
        var lastSequence = LastSequence(baseSequence, recordCount);
        foreach (var batch in entry.Batches)
        {
            if (batch.BaseSequence == baseSequence && batch.LastSequence == lastSequence)
            {
                return new SequenceCheck(true, batch.BaseOffset, batch.AppendTime);
            }
        }
        var expected = NextSequence(entry.Batches[^1].LastSequence);
        return baseSequence == expected
            ? default
            : throw new OutOfOrderSequenceException(partition.Topic, partition.Partition, producerId, expected, baseSequence);
    }

    /// <summary>Records a batch that is being appended (<paramref name="baseOffset"/> -1 until it is durable).</summary>
    public void Record(long producerId, short epoch, int baseSequence, int recordCount, long baseOffset, long appendTime)
    {
        if (!_producers.TryGetValue(producerId, out var entry) || epoch > entry.Epoch)
        {
            _producers[producerId] = entry = new ProducerEntry(epoch);
        }
        entry.Batches.Add(new BatchMetadata(baseSequence, LastSequence(baseSequence, recordCount), baseOffset, appendTime));
        if (entry.Batches.Count > RememberedBatches)
        {
            entry.Batches.RemoveAt(0);
        }
    }

    /// <summary>
    /// Fills in the offset of a batch recorded while it was being appended; records it afresh when the table was
    /// rebuilt from the log meanwhile (another producer's failed append triggers a recovery).
    /// </summary>
    public void Complete(long producerId, short epoch, int baseSequence, int recordCount, long baseOffset, long appendTime)
    {
        if (_producers.TryGetValue(producerId, out var entry) && entry.Epoch == epoch)
        {
            var index = entry.Batches.FindIndex(b => b.BaseSequence == baseSequence && b.LastSequence == LastSequence(baseSequence, recordCount));
            if (index >= 0)
            {
                entry.Batches[index] = entry.Batches[index] with { BaseOffset = baseOffset, AppendTime = appendTime };
                return;
            }
        }
        Record(producerId, epoch, baseSequence, recordCount, baseOffset, appendTime);
    }

    /// <summary>
    /// Forgets producers idle for longer than <paramref name="expirationMs"/> (Kafka's <c>producer.id.expiration.ms</c>)
    /// at <paramref name="nowMs"/>, then, while more than <paramref name="maxProducers"/> remain, the least recently
    /// active ones. A producer's activity is the newest append time of its remembered batches; a producer with a batch
    /// still being written is never forgotten. Returns how many were forgotten. The table keeps no clock: the caller
    /// passes its time, so the rule is the same on every replica and in tests.
    /// </summary>
    /// <remarks>
    /// Worked example: expiration 1 day (86,400,000 ms), a producer whose last batch was appended at t = 1,000 is kept
    /// at now = 86,401,000 (idle exactly the expiration) and forgotten at now = 86,401,001. A forgotten producer that
    /// comes back is unknown: its next batch is accepted at any sequence, as after retention removed its batches, so
    /// a retry of a batch appended before it was forgotten would be written again. Hence a day, far beyond any retry.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="expirationMs"/> or <paramref name="maxProducers"/> is negative.</exception>
    public int ExpireIdle(long nowMs, long expirationMs, int maxProducers = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expirationMs);
        ArgumentOutOfRangeException.ThrowIfNegative(maxProducers);
        // 1. Expired: one pass, no sorting (the common case, cheap enough to run on every checkpoint).
        var expired = _producers
            .Where(p => !p.Value.InFlight && (p.Value.LastActive == long.MinValue || nowMs - p.Value.LastActive > expirationMs))
            .Select(p => p.Key)
            .ToList();
        foreach (var id in expired)
        {
            _producers.Remove(id);
        }
        var forgotten = expired.Count;
        // 2. Still too many: the least recently active idle ones go, oldest first.
        if (_producers.Count > maxProducers)
        {
            var oldest = _producers
                .Where(p => !p.Value.InFlight)
                .OrderBy(p => p.Value.LastActive).ThenBy(p => p.Key)
                .Select(p => p.Key)
                .Take(_producers.Count - maxProducers)
                .ToList();
            foreach (var id in oldest)
            {
                _producers.Remove(id);
            }
            forgotten += oldest.Count;
        }
        return forgotten;
    }

    /// <summary>Forgets everything (before a rebuild from the log).</summary>
    public void Clear() => _producers.Clear();

    /// <summary>The completed state, for a checkpoint (batches still being written are left out).</summary>
    public IReadOnlyList<ProducerSnapshot> Export() => _producers
        .OrderBy(p => p.Key)
        .Select(p => new ProducerSnapshot(p.Key, p.Value.Epoch, p.Value.Batches
            .Where(b => b.BaseOffset >= 0)
            .Select(b => new ProducerBatchSnapshot(b.BaseSequence, b.LastSequence, b.BaseOffset, b.AppendTime)).ToList()))
        .Where(p => p.Batches.Count > 0)
        .ToList();

    /// <summary>Replaces the state with a checkpoint.</summary>
    public void Import(IEnumerable<ProducerSnapshot> producers)
    {
        _producers.Clear();
        foreach (var producer in producers)
        {
            var entry = new ProducerEntry(producer.Epoch);
            entry.Batches.AddRange(producer.Batches.TakeLast(RememberedBatches)
                .Select(b => new BatchMetadata(b.BaseSequence, b.LastSequence, b.BaseOffset, b.AppendTime)));
            _producers[producer.ProducerId] = entry;
        }
    }

    /// <summary>Sequences wrap at int.MaxValue, as in Kafka.</summary>
    private static int NextSequence(int sequence) => sequence == int.MaxValue ? 0 : sequence + 1;

    private static int LastSequence(int baseSequence, int recordCount) =>
        (int)(((long)baseSequence + recordCount - 1) % ((long)int.MaxValue + 1));

    private sealed record BatchMetadata(int BaseSequence, int LastSequence, long BaseOffset, long AppendTime);

    private sealed class ProducerEntry(short epoch)
    {
        public short Epoch { get; } = epoch;
        public List<BatchMetadata> Batches { get; } = [];

        /// <summary>A batch recorded but not yet durable (its offset is still -1).</summary>
        public bool InFlight => Batches.Exists(b => b.BaseOffset < 0);

        /// <summary>Newest append time among its batches (long.MinValue with none).</summary>
        public long LastActive => Batches.Count == 0 ? long.MinValue : Batches.Max(b => b.AppendTime);
    }
}

/// <summary>A producer's remembered state in a checkpoint.</summary>
/// <param name="ProducerId">Producer id.</param>
/// <param name="Epoch">Producer epoch.</param>
/// <param name="Batches">Its last batches, oldest first.</param>
public sealed record ProducerSnapshot(long ProducerId, short Epoch, IReadOnlyList<ProducerBatchSnapshot> Batches);

/// <summary>One remembered batch of a producer.</summary>
/// <param name="BaseSequence">First sequence.</param>
/// <param name="LastSequence">Last sequence.</param>
/// <param name="BaseOffset">Offset of its first record.</param>
/// <param name="AppendTime">When it was appended (unix ms).</param>
public sealed record ProducerBatchSnapshot(int BaseSequence, int LastSequence, long BaseOffset, long AppendTime);
