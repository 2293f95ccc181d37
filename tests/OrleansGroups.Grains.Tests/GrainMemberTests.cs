using System.Collections.Concurrent;
using OrleansGroups.Client;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>A grain member for tests: records every delivery in <see cref="Deliveries"/> and can fail on purpose.</summary>
public interface IRecordingMemberGrain : IGrainWithStringKey, IGroupMemberGrain
{
    Task Join(string groupId, string topic);

    Task Leave(string groupId);

    Task<GroupMembershipStatus> Status(string groupId);
}

/// <summary>One delivery to a grain member.</summary>
public sealed record Delivery(string Member, TopicPartition Partition, long Offset, string? Value);

[KeepAlive]
public sealed class RecordingMemberGrain : GroupMemberGrain, IRecordingMemberGrain
{
    /// <summary>Every delivery, per group, in the order the members saw them.</summary>
    public static readonly ConcurrentDictionary<string, ConcurrentQueue<Delivery>> Deliveries = new();

    /// <summary>Per group: the offset whose delivery fails, and how many more times it fails.</summary>
    public static readonly ConcurrentDictionary<string, (long Offset, int Failures)> Poison = new();

    /// <summary>Per group: how long each delivery takes.</summary>
    public static readonly ConcurrentDictionary<string, TimeSpan> Slowness = new();

    public Task Join(string groupId, string topic) => JoinGroupAsync(groupId, [topic], fromBeginning: true);

    public Task Leave(string groupId) => LeaveGroupAsync(groupId);

    public Task<GroupMembershipStatus> Status(string groupId) => GetMembershipAsync(groupId);

    public override async Task OnRecords(MemberRecords records)
    {
        if (Poison.TryGetValue(records.GroupId, out var poison) && poison.Failures > 0
            && records.Records.Any(r => r.Offset == poison.Offset))
        {
            Poison[records.GroupId] = (poison.Offset, poison.Failures - 1);
            throw new InvalidOperationException($"poison record {poison.Offset}");
        }
        if (Slowness.TryGetValue(records.GroupId, out var slowness))
        {
            await Task.Delay(slowness);
        }
        var log = Deliveries.GetOrAdd(records.GroupId, _ => new());
        foreach (var record in records.Records)
        {
            log.Enqueue(new Delivery(this.GetPrimaryKeyString(), records.Partition, record.Offset, record.ValueAsString));
        }
    }
}

/// <summary>Grain-native group members: exactly the records of their partitions, in order, committed after the handler.</summary>
public abstract class GrainMemberTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{
    private IRecordingMemberGrain Member(string name) => Fixture.Cluster.Client.GetGrain<IRecordingMemberGrain>(name);

    private async Task<string> TopicAsync(int partitions, int recordsPerPartition)
    {
        var topic = NewName("members");
        await Admin.CreateTopicAsync(topic, partitions);
        await ProduceAsync(topic, partitions, 0, recordsPerPartition);
        return topic;
    }

    private async Task ProduceAsync(string topic, int partitions, int from, int count)
    {
        await using var producer = Fixture.Groups.CreateProducer();
        for (var p = 0; p < partitions; p++)
        {
            await producer.ProduceBatchAsync(topic, [.. Enumerable.Range(from, count).Select(i => Message.FromStrings(null, $"{p}-{i}"))], p);
        }
    }

    /// <summary>Whether every partition of the group's topics is committed at <paramref name="offset"/> (false before the group exists).</summary>
    private async Task<bool> AllCommittedAtAsync(string group, long offset)
    {
        try
        {
            var details = await Admin.DescribeGroupAsync(group);
            return details.Partitions.Count > 0 && details.Partitions.All(p => p.CommittedOffset == offset);
        }
        catch (Core.Errors.GroupIdNotFoundException)
        {
            return false;
        }
    }

    private static IReadOnlyCollection<Delivery> DeliveriesOf(string group) =>
        RecordingMemberGrain.Deliveries.TryGetValue(group, out var log) ? log : [];

    private static void AssertInOrderPerMemberAndPartition(IEnumerable<Delivery> deliveries)
    {
        foreach (var stream in deliveries.GroupBy(d => (d.Member, d.Partition)))
        {
            var offsets = stream.Select(d => d.Offset).ToList();
            // A member may see a partition again after a rebalance (from the committed offset), never out of order within a run.
            for (var i = 1; i < offsets.Count; i++)
            {
                Assert.True(offsets[i] == offsets[i - 1] + 1 || offsets[i] <= offsets[i - 1],
                    $"{stream.Key.Member} got {stream.Key.Partition} offset {offsets[i]} after {offsets[i - 1]}: a gap");
            }
        }
    }

    [Fact]
    public async Task FailedCommitAfterADelivery_IsRetried_SoThePositionIsCommittedWithoutRedelivery()
    {
        var topic = await TopicAsync(1, 10);
        var group = NewName("gm");
        var member = Member(NewName("m"));
        await member.Join(group, topic);
        await Wait.UntilAsync(() => AllCommittedAtAsync(group, 10), Deadline, "the first records committed");

        // The commit after the next delivery fails twice (storage unavailable): it must be retried, not dropped.
        CommitFaults.FailNext(group, 2);
        await ProduceAsync(topic, 1, 10, 1);
        await Wait.UntilAsync(() => AllCommittedAtAsync(group, 11), Deadline, "the new record committed after retries");

        Assert.Equal(2, CommitFaults.FailedCount(group));
        Assert.Equal(Enumerable.Range(0, 11).Select(i => (long)i), DeliveriesOf(group).Select(d => d.Offset));
        await member.Leave(group);
    }

    [Fact]
    public async Task TwoGrainMembers_ShareThePartitions_AndGetEveryRecordOnce_InOrder_CommittedAfterTheHandler()
    {
        var topic = await TopicAsync(4, 50);
        var group = NewName("gm");
        var (a, b) = (Member(NewName("a")), Member(NewName("b")));

        await a.Join(group, topic);
        await b.Join(group, topic);

        await Wait.UntilAsync(() => DeliveriesOf(group).Count >= 200, Deadline, "200 deliveries");
        await Wait.UntilAsync(() => AllCommittedAtAsync(group, 50), Deadline, "every partition committed at its end");
        await Wait.UntilAsync(async () => (await a.Status(group)).Assignment.Count == 2 && (await b.Status(group)).Assignment.Count == 2,
            Deadline, "two partitions each");
        var deliveries = DeliveriesOf(group).ToList();
        Assert.Equal(200, deliveries.Count);
        Assert.Equal(200, deliveries.Select(d => (d.Partition, d.Offset)).Distinct().Count());
        AssertInOrderPerMemberAndPartition(deliveries);
        var statusA = await a.Status(group);
        var statusB = await b.Status(group);
        Assert.Equal(2, statusA.Assignment.Count);
        Assert.Equal(2, statusB.Assignment.Count);
        Assert.Empty(statusA.Assignment.Intersect(statusB.Assignment));
        Assert.Equal(200, statusA.Delivered + statusB.Delivered);

        await a.Leave(group);
        await b.Leave(group);
        Assert.Null((await a.Status(group)).Request);
    }

    [Fact]
    public async Task AMemberJoiningMidStream_TakesPartitions_WithoutGapsOrLostRecords()
    {
        var topic = await TopicAsync(4, 100);
        var group = NewName("gm");
        RecordingMemberGrain.Slowness[group] = TimeSpan.FromMilliseconds(20);
        var first = Member(NewName("first"));
        await first.Join(group, topic);
        await Wait.UntilAsync(() => DeliveriesOf(group).Count >= 20, Deadline, "the first member started");

        var second = Member(NewName("second"));
        await second.Join(group, topic);
        await ProduceAsync(topic, 4, 100, 25);

        await Wait.UntilAsync(() => DeliveriesOf(group).Select(d => (d.Partition, d.Offset)).Distinct().Count() == 500, Deadline * 2, "all 500 records delivered");
        await Wait.UntilAsync(async () => (await second.Status(group)).Assignment.Count == 2, Deadline, "the second member owns two partitions");
        var deliveries = DeliveriesOf(group).ToList();
        AssertInOrderPerMemberAndPartition(deliveries);
        Assert.Contains(deliveries, d => d.Member == second.GetPrimaryKeyString());
        // A graceful rebalance waits for the delivery in flight and its commit: nothing is delivered twice.
        Assert.Equal(500, deliveries.Count);

        await first.Leave(group);
        await second.Leave(group);
    }

    [Fact]
    public async Task AFailingHandler_GetsTheSameRecordsAgain_AndOtherPartitionsGoOn()
    {
        var topic = await TopicAsync(2, 10);
        var group = NewName("gm");
        RecordingMemberGrain.Poison[group] = (3, 3);
        var member = Member(NewName("m"));

        await member.Join(group, topic);

        await Wait.UntilAsync(() => DeliveriesOf(group).Select(d => (d.Partition, d.Offset)).Distinct().Count() == 20, Deadline, "all 20 records delivered");
        Assert.Equal(0, RecordingMemberGrain.Poison[group].Failures);
        await Wait.UntilAsync(() => AllCommittedAtAsync(group, 10), Deadline, "both partitions committed");
        // The failed deliveries were not recorded, so each record appears once.
        Assert.Equal(20, DeliveriesOf(group).Count);
        await member.Leave(group);
    }

    [Fact]
    public async Task LeavingAndJoiningAgain_ResumesFromTheCommittedOffsets()
    {
        var topic = await TopicAsync(1, 10);
        var group = NewName("gm");
        var member = Member(NewName("m"));
        await member.Join(group, topic);
        await Wait.UntilAsync(() => AllCommittedAtAsync(group, 10), Deadline, "committed");
        await member.Leave(group);
        Assert.Empty((await Admin.DescribeGroupAsync(group)).Group.Members);

        await ProduceAsync(topic, 1, 10, 5);
        await member.Join(group, topic);

        await Wait.UntilAsync(() => DeliveriesOf(group).Count >= 15, Deadline, "the five new records");
        Assert.Equal(Enumerable.Range(0, 15).Select(i => (long)i), DeliveriesOf(group).Select(d => d.Offset));
        await member.Leave(group);
    }

    [Fact]
    public async Task JoiningAnUnknownTopic_IsUnknownTopic()
    {
        var member = Member(NewName("m"));

        await Assert.ThrowsAsync<Core.Errors.UnknownTopicException>(() => member.Join(NewName("gm"), NewName("missing")));
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryGrainMemberTests(MemoryClusterFixture fixture) : GrainMemberTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteGrainMemberTests(AzuriteClusterFixture fixture) : GrainMemberTests(fixture);
