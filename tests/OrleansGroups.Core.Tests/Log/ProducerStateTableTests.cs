using CsCheck;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Core.Tests.Log;

public class ProducerStateTableTests
{
    private static readonly TopicPartition Tp = new("orders", 3);
    private const long Pid = 42;
    private const long Now = 1_700_000_000_000;
    private static readonly SequenceCheck Accepted = new(false, 0, 0);

    private static ProducerStateTable Table() => new(Tp);

    /// <summary>Checks then records and completes a batch, as the partition does for an accepted append.</summary>
    private static void Append(ProducerStateTable table, long pid, short epoch, int baseSequence, int count, long baseOffset)
    {
        Assert.Equal(Accepted, table.Check(pid, epoch, baseSequence, count));
        table.Record(pid, epoch, baseSequence, count, -1, -1);
        table.Complete(pid, epoch, baseSequence, count, baseOffset, Now + baseOffset);
    }

    /// <summary>A table holding six completed batches of 10 records each (sequences 0..59, offsets 100, 110, ...).</summary>
    private static ProducerStateTable SixBatches(short epoch = 0)
    {
        var table = Table();
        for (var i = 0; i < 6; i++)
        {
            Append(table, Pid, epoch, i * 10, 10, 100 + (i * 10));
        }
        return table;
    }

    private static void AssertOutOfOrder(Action act, int expected, int received, long pid = Pid)
    {
        var e = Assert.Throws<OutOfOrderSequenceException>(act);
        Assert.Equal((Tp.Topic, Tp.Partition, pid, expected, received),
            (e.Topic, e.Partition, e.ProducerId, e.ExpectedSequence, e.ReceivedSequence));
    }

    private static void AssertFenced(Action act, short epoch, short currentEpoch, long pid = Pid)
    {
        var e = Assert.Throws<ProducerFencedException>(act);
        Assert.Equal((pid, epoch, currentEpoch), (e.ProducerId, e.Epoch, e.CurrentEpoch));
    }

    [Fact]
    public void UnknownProducerFirstBatchAccepted()
    {
        var table = Table();

        Assert.Equal(Accepted, table.Check(Pid, 0, 0, 5));
        Assert.Equal(Accepted, table.Check(Pid, 7, 123_456, 5));
        Assert.Equal(Accepted, table.Check(Pid, 0, int.MaxValue, 1));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void NextInSequenceAccepted()
    {
        var table = Table();
        Append(table, Pid, 0, 1000, 5, 0); // a producer whose older state aged out starts anywhere

        Assert.Equal(Accepted, table.Check(Pid, 0, 1005, 3));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void RetryOfEachOfTheLastFiveBatchesIsDuplicateWithOriginalOffsets()
    {
        var table = SixBatches();

        for (var i = 1; i < 6; i++)
        {
            long offset = 100 + (i * 10);
            Assert.Equal(new SequenceCheck(true, offset, Now + offset), table.Check(Pid, 0, i * 10, 10));
        }
    }

    [Fact]
    public void RetryOfSixthOldestBatchIsOutOfOrder()
    {
        var table = SixBatches();

        AssertOutOfOrder(() => table.Check(Pid, 0, 0, 10), expected: 60, received: 0);
    }

    [Fact]
    public void RetryWithSameBaseButDifferentCountIsNotADuplicate()
    {
        var table = SixBatches();

        AssertOutOfOrder(() => table.Check(Pid, 0, 50, 9), expected: 60, received: 50);
    }

    [Fact]
    public void GapIsOutOfOrderWithExpectedAndReceived()
    {
        var table = SixBatches();

        AssertOutOfOrder(() => table.Check(Pid, 0, 61, 1), expected: 60, received: 61);
        AssertOutOfOrder(() => table.Check(Pid, 0, 55, 5), expected: 60, received: 55);
    }

    [Fact]
    public void OldEpochIsFencedWithCurrentEpoch()
    {
        var table = SixBatches(epoch: 4);

        AssertFenced(() => table.Check(Pid, 3, 60, 1), epoch: 3, currentEpoch: 4);
        // Even an exact retry of a remembered batch is fenced when it carries an old epoch.
        AssertFenced(() => table.Check(Pid, 0, 50, 10), epoch: 0, currentEpoch: 4);
    }

    [Fact]
    public void NewEpochAtZeroAcceptedAndResets()
    {
        var table = SixBatches(epoch: 1);

        Assert.Equal(Accepted, table.Check(Pid, 2, 0, 4));
        table.Record(Pid, 2, 0, 4, 500, Now + 500);

        Assert.Equal(new SequenceCheck(true, 500, Now + 500), table.Check(Pid, 2, 0, 4));
        Assert.Equal(Accepted, table.Check(Pid, 2, 4, 1));
        AssertOutOfOrder(() => table.Check(Pid, 2, 60, 1), expected: 4, received: 60);
        AssertOutOfOrder(() => table.Check(Pid, 2, 50, 10), expected: 4, received: 50); // old epoch's batch is forgotten
        AssertFenced(() => table.Check(Pid, 1, 60, 1), epoch: 1, currentEpoch: 2);
        Assert.Equivalent(new[] { new ProducerSnapshot(Pid, 2, [new ProducerBatchSnapshot(0, 3, 500, Now + 500)]) },
            table.Export(), strict: true);
    }

    [Fact]
    public void NewEpochNotAtZeroRejected()
    {
        var table = SixBatches(epoch: 1);

        AssertOutOfOrder(() => table.Check(Pid, 2, 60, 1), expected: 0, received: 60);
        AssertOutOfOrder(() => table.Check(Pid, 5, 1, 1), expected: 0, received: 1);
    }

    [Fact]
    public void SequenceWrapsAfterIntMaxValue()
    {
        var table = Table();
        Append(table, Pid, 0, int.MaxValue - 9, 10, 0); // ends exactly at int.MaxValue

        AssertOutOfOrder(() => table.Check(Pid, 0, 1, 1), expected: 0, received: 1);
        Assert.Equal(new SequenceCheck(true, 0, Now), table.Check(Pid, 0, int.MaxValue - 9, 10));
        Append(table, Pid, 0, 0, 5, 10);

        Assert.Equal(Accepted, table.Check(Pid, 0, 5, 1));
        Assert.Equal(new SequenceCheck(true, 10, Now + 10), table.Check(Pid, 0, 0, 5));
        Assert.Equal(new SequenceCheck(true, 0, Now), table.Check(Pid, 0, int.MaxValue - 9, 10));
    }

    [Fact]
    public void BatchSpanningTheWrapIsRememberedAndFollowedByItsWrappedSuccessor()
    {
        var table = Table();
        Append(table, Pid, 0, int.MaxValue - 2, 5, 7); // sequences MaxValue-2 .. MaxValue, 0, 1

        Assert.Equal(new SequenceCheck(true, 7, Now + 7), table.Check(Pid, 0, int.MaxValue - 2, 5));
        AssertOutOfOrder(() => table.Check(Pid, 0, 0, 1), expected: 2, received: 0);
        Assert.Equal(Accepted, table.Check(Pid, 0, 2, 1));
        Assert.Equivalent(new[] { new ProducerSnapshot(Pid, 0, [new ProducerBatchSnapshot(int.MaxValue - 2, 1, 7, Now + 7)]) },
            table.Export(), strict: true);
    }

    [Fact]
    public void InFlightDuplicateReportedWithMinusOneUntilComplete()
    {
        var table = Table();
        Append(table, Pid, 0, 0, 10, 100);
        table.Record(Pid, 0, 10, 10, -1, -1);

        Assert.Equal(new SequenceCheck(true, -1, -1), table.Check(Pid, 0, 10, 10));
        Assert.Equal(Accepted, table.Check(Pid, 0, 20, 10)); // pipelining behind an in-flight batch

        table.Complete(Pid, 0, 10, 10, 110, Now + 110);

        Assert.Equal(new SequenceCheck(true, 110, Now + 110), table.Check(Pid, 0, 10, 10));
        Assert.Equal(new SequenceCheck(true, 100, Now + 100), table.Check(Pid, 0, 0, 10));
    }

    [Fact]
    public void CompleteOfABatchTheTableNoLongerKnows_RecordsIt()
    {
        // After a rebuild from the log (recovery), a batch that was queued meanwhile completes without an entry.
        var table = Table();
        Append(table, Pid, 0, 0, 10, 100);

        table.Complete(Pid + 1, 0, 0, 5, 200, 999);

        Assert.Equal(new SequenceCheck(true, 200, 999), table.Check(Pid + 1, 0, 0, 5));
        Assert.Equal(Accepted, table.Check(Pid + 1, 0, 5, 1));
        Assert.Equal(new SequenceCheck(true, 100, Now + 100), table.Check(Pid, 0, 0, 10));
    }

    [Fact]
    public void ExportLeavesOutInFlightBatchesAndProducers()
    {
        var table = Table();
        Append(table, 2, 1, 0, 10, 100);
        table.Record(2, 1, 10, 5, -1, -1);
        table.Record(1, 0, 0, 3, -1, -1); // only in flight: the producer is left out entirely

        var export = table.Export();

        Assert.Equal(2, table.Count);
        Assert.Equivalent(new[] { new ProducerSnapshot(2, 1, [new ProducerBatchSnapshot(0, 9, 100, Now + 100)]) }, export, strict: true);
    }

    [Fact]
    public void ExportIsOrderedByProducerIdAndKeepsTheLastFiveBatches()
    {
        var table = Table();
        Append(table, 9, 0, 0, 1, 0);
        Append(table, 3, 2, 0, 1, 1);
        for (var i = 0; i < 7; i++)
        {
            Append(table, 5, 1, i * 2, 2, 10 + i);
        }

        var expected = new[]
        {
            new ProducerSnapshot(3, 2, [new ProducerBatchSnapshot(0, 0, 1, Now + 1)]),
            new ProducerSnapshot(5, 1, Enumerable.Range(2, 5).Select(i => new ProducerBatchSnapshot(i * 2, (i * 2) + 1, 10 + i, Now + 10 + i)).ToList()),
            new ProducerSnapshot(9, 0, [new ProducerBatchSnapshot(0, 0, 0, Now)]),
        };
        Assert.Equivalent(expected, table.Export(), strict: true);
    }

    [Fact]
    public void ImportReplacesStateAndKeepsOnlyTheLastFiveBatches()
    {
        var table = SixBatches();
        var batches = Enumerable.Range(0, 7).Select(i => new ProducerBatchSnapshot(i * 10, (i * 10) + 9, 1000 + i, Now + i)).ToList();

        table.Import([new ProducerSnapshot(7, 3, batches)]);

        Assert.Equal(1, table.Count);
        Assert.Equal(Accepted, table.Check(Pid, 0, 12_345, 1)); // the old producer is gone
        Assert.Equal(new SequenceCheck(true, 1006, Now + 6), table.Check(7, 3, 60, 10));
        Assert.Equal(new SequenceCheck(true, 1002, Now + 2), table.Check(7, 3, 20, 10));
        AssertOutOfOrder(() => table.Check(7, 3, 10, 10), expected: 70, received: 10, pid: 7);
        AssertFenced(() => table.Check(7, 2, 70, 1), epoch: 2, currentEpoch: 3, pid: 7);
        Assert.Equal(Accepted, table.Check(7, 3, 70, 1));
    }

    [Fact]
    public void ClearForgetsEveryProducer()
    {
        var table = SixBatches(epoch: 3);

        table.Clear();

        Assert.Equal(0, table.Count);
        Assert.Equal(Accepted, table.Check(Pid, 0, 99, 1));
        Assert.Empty(table.Export());
    }

    public static TheoryData<int> Seeds => new(Enumerable.Range(1, 12));

    /// <summary>
    /// A seeded random stream of appends, retries, gaps, epoch bumps, fenced and in-flight batches is applied to a
    /// table; at random points (with nothing in flight) the table is exported and imported into a fresh copy. The copy
    /// must answer every probe exactly as the original does, and keep doing so as the same stream goes on.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public void ExportImportRoundTripReproducesEveryCheckDecision(int seed)
    {
        var rng = new Random(seed);
        var original = Table();
        ProducerStateTable? copy = null;
        var model = new Dictionary<long, Model>();
        var pending = new List<(long Pid, short Epoch, int Base, int Count)>();
        long nextOffset = 0;
        var imports = 0;
        var decisions = new Dictionary<string, int>();

        for (var step = 0; step < 1500; step++)
        {
            if (rng.Next(100) < 4 && pending.Count == 0)
            {
                copy = Table();
                copy.Import(original.Export());
                imports++;
                Assert.Equivalent(original.Export(), copy.Export(), strict: true);
                Assert.Equal(original.Count, copy.Count);
                foreach (var probe in Probes(model))
                {
                    Assert.Equal(Decide(original, probe), Decide(copy, probe));
                }
                continue;
            }
            if (pending.Count > 0 && rng.Next(100) < 30)
            {
                var (pid, epoch, @base, count) = pending[rng.Next(pending.Count)];
                pending.RemoveAll(p => p == (pid, epoch, @base, count));
                Both(t => t.Complete(pid, epoch, @base, count, nextOffset, Now + nextOffset));
                nextOffset += count;
                continue;
            }

            var op = NextOp(rng, model);
            var decision = Decide(original, op);
            if (copy is not null)
            {
                Assert.Equal(decision, Decide(copy, op));
            }
            var kind = decision.Split(' ')[0];
            decisions[kind] = decisions.GetValueOrDefault(kind) + 1;
            if (decision != Decide(Accepted))
            {
                continue;
            }

            var inFlight = rng.Next(100) < 15;
            var baseOffset = inFlight ? -1 : nextOffset;
            var appendTime = inFlight ? -1 : Now + nextOffset;
            Both(t => t.Record(op.Pid, op.Epoch, op.Base, op.Count, baseOffset, appendTime));
            if (inFlight)
            {
                pending.RemoveAll(p => p.Pid == op.Pid && (!model.TryGetValue(op.Pid, out var m) || op.Epoch > m.Epoch));
                pending.Add((op.Pid, op.Epoch, op.Base, op.Count));
            }
            else
            {
                nextOffset += op.Count;
            }
            var state = model.TryGetValue(op.Pid, out var known) && op.Epoch <= known.Epoch ? known : model[op.Pid] = new Model(op.Epoch);
            state.Next = Wrap((long)op.Base + op.Count);
            state.Batches.Add((op.Base, op.Count));
        }

        Assert.True(imports >= 10, $"only {imports} imports");
        foreach (var kind in new[] { "new", "duplicate", "fenced", "out-of-order" })
        {
            Assert.True(decisions.GetValueOrDefault(kind) > 5, $"too few '{kind}' decisions: {string.Join(", ", decisions)}");
        }

        void Both(Action<ProducerStateTable> action)
        {
            action(original);
            if (copy is not null)
            {
                action(copy);
            }
        }
    }

    private sealed class Model(short epoch)
    {
        public short Epoch { get; } = epoch;
        public int Next { get; set; }
        public List<(int Base, int Count)> Batches { get; } = [];
    }

    private readonly record struct Op(long Pid, short Epoch, int Base, int Count);

    private static int Wrap(long sequence) => (int)(sequence % ((long)int.MaxValue + 1));

    private static Op NextOp(Random rng, Dictionary<long, Model> model)
    {
        var pid = (long)rng.Next(1, 6);
        var count = rng.Next(1, 8);
        if (!model.TryGetValue(pid, out var m))
        {
            int[] starts = [0, rng.Next(), int.MaxValue - rng.Next(0, 6)];
            return new Op(pid, (short)rng.Next(0, 3), starts[rng.Next(starts.Length)], count);
        }
        return rng.Next(100) switch
        {
            < 45 => new Op(pid, m.Epoch, m.Next, count),
            < 65 when m.Batches.Count > 0 => RetryOf(m.Batches[^(1 + rng.Next(Math.Min(m.Batches.Count, 7)))]),
            < 75 => new Op(pid, m.Epoch, Wrap((long)m.Next + rng.Next(1, 4)), count),
            < 82 => new Op(pid, (short)(m.Epoch + 1), 0, count),
            < 86 => new Op(pid, (short)(m.Epoch + 1), rng.Next(1, 100), count),
            < 94 => new Op(pid, (short)(m.Epoch - rng.Next(1, 3)), m.Next, count),
            _ => new Op(pid, m.Epoch, m.Next, count),
        };

        Op RetryOf((int Base, int Count) batch) => new(pid, m.Epoch, batch.Base, batch.Count);
    }

    /// <summary>Every interesting check against the modelled producers (and two never seen).</summary>
    private static IEnumerable<Op> Probes(Dictionary<long, Model> model)
    {
        foreach (var pid in Enumerable.Range(0, 8).Select(i => (long)i))
        {
            var m = model.GetValueOrDefault(pid) ?? new Model(0);
            foreach (var epoch in new[] { (short)(m.Epoch - 1), m.Epoch, (short)(m.Epoch + 1) })
            {
                foreach (var (@base, count) in m.Batches.TakeLast(8).Append((m.Next, 1)).Append((Wrap((long)m.Next + 1), 1)).Append((0, 1)).Append((int.MaxValue, 1)))
                {
                    yield return new Op(pid, epoch, @base, count);
                }
            }
        }
    }

    // ---- Expiry (producer.id.expiration.ms): times are explicit, the table has no clock ----

    private const long Day = 86_400_000;

    [Fact]
    public void IdleProducerIsKeptUpToTheExpirationAndForgottenAfter()
    {
        var table = Table();
        Append(table, Pid, 0, 0, 10, 100); // appended at Now + 100

        Assert.Equal(0, table.ExpireIdle(Now + 100 + Day, Day));
        Assert.Equal(1, table.Count);
        Assert.Equal(1, table.ExpireIdle(Now + 100 + Day + 1, Day));
        Assert.Equal(0, table.Count);
        Assert.Empty(table.Export());
    }

    [Fact]
    public void ForgottenProducerIsUnknown_ItsNextBatchIsAcceptedAtAnySequence()
    {
        var table = SixBatches();
        Assert.Throws<OutOfOrderSequenceException>(() => table.Check(Pid, 0, 1000, 1));

        table.ExpireIdle(Now + 1000 + Day, Day);

        Assert.Equal(Accepted, table.Check(Pid, 0, 1000, 1));
    }

    [Fact]
    public void ExpiryMeasuresFromTheNewestBatch()
    {
        var table = Table();
        Append(table, Pid, 0, 0, 10, 100);      // at Now + 100
        Append(table, Pid, 0, 10, 10, 5_000);   // at Now + 5,000

        Assert.Equal(0, table.ExpireIdle(Now + 5_000 + Day, Day));
        Assert.Equal(1, table.ExpireIdle(Now + 5_001 + Day, Day));
    }

    [Fact]
    public void OnlyIdleProducersAreForgotten()
    {
        var table = Table();
        Append(table, 1, 0, 0, 1, 0);            // at Now
        Append(table, 2, 0, 0, 1, Day);          // at Now + 1 day

        Assert.Equal(1, table.ExpireIdle(Now + Day + 1, Day));

        Assert.Equal([2L], table.Export().Select(p => p.ProducerId));
    }

    [Fact]
    public void ProducerWithABatchStillBeingWrittenIsNeverForgotten()
    {
        var table = Table();
        Append(table, Pid, 0, 0, 10, 100);
        table.Record(Pid, 0, 10, 10, -1, -1); // in flight

        Assert.Equal(0, table.ExpireIdle(Now + (10 * Day), Day));
        Assert.Equal(0, table.ExpireIdle(Now + (10 * Day), Day, maxProducers: 0));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void CountBoundForgetsTheLeastRecentlyActiveFirst()
    {
        var table = Table();
        Append(table, 1, 0, 0, 1, 300);   // at Now + 300
        Append(table, 2, 0, 0, 1, 100);   // at Now + 100: least recent
        Append(table, 3, 0, 0, 1, 200);   // at Now + 200

        Assert.Equal(1, table.ExpireIdle(Now + 400, Day, maxProducers: 2));

        Assert.Equal([1L, 3L], table.Export().Select(p => p.ProducerId));
    }

    [Fact]
    public void ImportedProducersExpireByTheirCheckpointedAppendTimes()
    {
        var table = Table();
        table.Import([new ProducerSnapshot(1, 0, [new ProducerBatchSnapshot(0, 9, 0, Now)]),
                      new ProducerSnapshot(2, 0, [new ProducerBatchSnapshot(0, 9, 10, Now + Day)])]);

        Assert.Equal(1, table.ExpireIdle(Now + Day + 1, Day));

        Assert.Equal([2L], table.Export().Select(p => p.ProducerId));
    }

    /// <summary>
    /// For any producers (last append times, some with a batch in flight), now and bounds: what remains is every
    /// in-flight producer plus the most recently active idle ones within the expiration, no more than the bound allows.
    /// </summary>
    [Fact]
    public void ExpiryKeepsExactlyTheRecentInFlightAndBoundedProducers() =>
        Gen.Select(Gen.Select(Gen.Long[0, 10 * Day], Gen.Bool).Array[0, 40], Gen.Long[0, 12 * Day], Gen.Long[0, 3 * Day], Gen.Int[0, 50])
            .Sample((producers, now, expiration, max) =>
            {
                var table = Table();
                for (var pid = 0; pid < producers.Length; pid++)
                {
                    var (at, inFlight) = producers[pid];
                    table.Record(pid, 0, 0, 1, 0, at);
                    if (inFlight)
                    {
                        table.Record(pid, 0, 1, 1, -1, -1);
                    }
                }
                var kept = Enumerable.Range(0, producers.Length).Where(p => producers[p].Item2).ToList();
                var idle = Enumerable.Range(0, producers.Length)
                    .Where(p => !producers[p].Item2 && now - producers[p].Item1 <= expiration)
                    .OrderByDescending(p => producers[p].Item1).ThenByDescending(p => p)
                    .Take(Math.Max(0, max - kept.Count));
                var expected = kept.Concat(idle).Select(p => (long)p).Order().ToList();

                var forgotten = table.ExpireIdle(now, expiration, max);

                Assert.Equal(producers.Length - expected.Count, forgotten);
                Assert.Equal(expected, table.Export().Select(p => p.ProducerId));
            });

    [Fact]
    public void NegativeExpirationIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Table().ExpireIdle(Now, -1));

    private static string Decide(ProducerStateTable table, Op op)
    {
        try
        {
            return Decide(table.Check(op.Pid, op.Epoch, op.Base, op.Count));
        }
        catch (ProducerFencedException e)
        {
            return $"fenced {e.ProducerId} {e.Epoch} {e.CurrentEpoch}";
        }
        catch (OutOfOrderSequenceException e)
        {
            return $"out-of-order {e.Topic} {e.Partition} {e.ProducerId} {e.ExpectedSequence} {e.ReceivedSequence}";
        }
    }

    private static string Decide(SequenceCheck check) =>
        check.IsDuplicate ? $"duplicate {check.BaseOffset} {check.AppendTime}" : $"new {check.BaseOffset} {check.AppendTime}";
}
