namespace OrleansGroups.IntegrationTests.Chaos;

/// <summary>The chaos test's oracle, checked on its own: it must fail every kind of damage it claims to catch.</summary>
public sealed class ProduceLedgerTests
{
    private static ProduceLedger LedgerWithAcks(params (string Payload, int Partition, long Offset)[] acks)
    {
        var ledger = new ProduceLedger();
        var issue = 0;
        foreach (var (payload, partition, offset) in acks)
        {
            ledger.Sending([payload]);
            ledger.Acknowledge(payload, new Ack(partition, offset, Producer: 0, Issue: ++issue, Generation: 1));
        }
        return ledger;
    }

    private static Dictionary<int, (long, IReadOnlyList<StoredRecord>)> Logs(params (int Partition, string[] Payloads)[] partitions) =>
        partitions.ToDictionary(p => p.Partition,
            p => (0L, (IReadOnlyList<StoredRecord>)p.Payloads.Select((payload, i) => new StoredRecord(p.Partition, i, payload)).ToList()));

    [Fact]
    public void EveryAckAtItsOffset_Passes()
    {
        var ledger = LedgerWithAcks(("a", 0, 0), ("b", 0, 1), ("c", 1, 0));

        var audit = ledger.Audit(Logs((0, ["a", "b"]), (1, ["c"])));

        Assert.True(audit.Passed, string.Join("; ", audit.Problems));
        Assert.Equal((3, 3, 0, 0), (audit.Acknowledged, audit.Present, audit.Lost, audit.UnacknowledgedPresent));
    }

    [Fact]
    public void UnacknowledgedRetryCopy_PassesAndIsCounted()
    {
        var ledger = LedgerWithAcks(("a", 0, 0), ("b", 0, 2));
        ledger.Sending(["b"]);

        // "b" landed at 1 without an ack, then its resend was acknowledged at 2.
        var audit = ledger.Audit(Logs((0, ["a", "b", "b"])));

        Assert.True(audit.Passed, string.Join("; ", audit.Problems));
        Assert.Equal((1, 1, 1), (audit.UnacknowledgedPresent, audit.DuplicatedPayloads, audit.DuplicateCopies));
        // Nobody told the producer that "b" failed, so only the client's own retry can have written it twice.
        Assert.Equal((1, 1), (audit.UnexplainedUnacknowledged, audit.UnexplainedDuplicates));
    }

    [Fact]
    public void DuplicateOfAFailedCall_IsExplained_ByTheTestsResend()
    {
        var ledger = LedgerWithAcks(("a", 0, 0), ("b", 0, 2));
        ledger.Sending(["b"]);
        ledger.Failed(["b"]);

        var audit = ledger.Audit(Logs((0, ["a", "b", "b"])));

        Assert.True(audit.Passed, string.Join("; ", audit.Problems));
        Assert.Equal((1, 1, 0, 0), (audit.UnacknowledgedPresent, audit.DuplicatedPayloads, audit.UnexplainedUnacknowledged, audit.UnexplainedDuplicates));
    }

    [Fact]
    public void AckBeyondTheLogEnd_IsLost()
    {
        var ledger = LedgerWithAcks(("a", 0, 0), ("b", 0, 1));

        var audit = ledger.Audit(Logs((0, ["a"])));

        Assert.False(audit.Passed);
        Assert.Equal(1, audit.Lost);
        Assert.Contains("LOST: acknowledged 'b' at p0@1", audit.Problems[0]);
    }

    [Fact]
    public void OtherPayloadAtTheAckedOffset_IsMisplaced()
    {
        var ledger = LedgerWithAcks(("a", 0, 0), ("b", 0, 1));
        ledger.Sending(["z"]);

        var audit = ledger.Audit(Logs((0, ["a", "z", "b"])));

        Assert.False(audit.Passed);
        Assert.Equal(1, audit.Misplaced);
    }

    [Fact]
    public void HoleInTheOffsets_IsAGap()
    {
        var ledger = LedgerWithAcks(("a", 0, 0), ("b", 0, 2));
        var logs = new Dictionary<int, (long, IReadOnlyList<StoredRecord>)>
        {
            [0] = (0, [new StoredRecord(0, 0, "a"), new StoredRecord(0, 2, "b")]),
        };

        var audit = ledger.Audit(logs);

        Assert.False(audit.Passed);
        Assert.Equal(1, audit.Gaps);
    }

    [Fact]
    public void PayloadNeverSent_IsUnknown()
    {
        var ledger = LedgerWithAcks(("a", 0, 0));

        var audit = ledger.Audit(Logs((0, ["a", "garbage"])));

        Assert.False(audit.Passed);
        Assert.Equal(1, audit.Unknown);
    }

    [Fact]
    public void LaterCallOfOneProducerAtAnEarlierOffset_IsAnOrderViolation()
    {
        var ledger = new ProduceLedger();
        ledger.Sending(["a", "b"]);
        ledger.Acknowledge("a", new Ack(0, 1, Producer: 0, Issue: 1, Generation: 1));
        ledger.Acknowledge("b", new Ack(0, 0, Producer: 0, Issue: 2, Generation: 1));

        var audit = ledger.Audit(Logs((0, ["b", "a"])));

        Assert.False(audit.Passed);
        Assert.Equal(1, audit.OrderViolations);
    }
}
