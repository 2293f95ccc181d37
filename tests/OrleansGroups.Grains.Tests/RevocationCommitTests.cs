using OrleansGroups.Client;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// A consumer that gives a partition up commits what it handed out first, retrying a failed commit; if the commit
/// keeps failing it reports the partition lost, not revoked. The fault is injected in the commit path
/// (<see cref="CommitFaults"/>). The first consumer has read all six records (three per partition) and committed
/// nothing when a second one joins and takes one partition from it.
/// </summary>
public abstract class RevocationCommitTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{
    private const int RecordsPerPartition = 3;

    private sealed record Scenario(string Group, Consumer First, List<TopicPartition> Revoked, List<TopicPartition> Lost)
    {
        public List<TopicPartition> RevokedNow() { lock (Revoked) return [.. Revoked]; }
        public List<TopicPartition> LostNow() { lock (Lost) return [.. Lost]; }
    }

    private async Task<Scenario> FirstOwnerReadEverythingAsync()
    {
        var topic = NewName("revoke");
        var group = NewName("revoke");
        await Admin.CreateTopicAsync(topic, 2);
        await using (var producer = Fixture.Groups.CreateProducer())
        {
            for (var partition = 0; partition < 2; partition++)
            {
                await producer.ProduceBatchAsync(topic, [.. Enumerable.Range(0, RecordsPerPartition).Select(i => Message.FromStrings(null, $"r{i}"))], partition);
            }
        }
        // Auto-commit, but not on a timer during the test: only the revocation commits.
        var first = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group) with { AutoCommitInterval = TimeSpan.FromHours(1) });
        Consumers.Add(first);
        var scenario = new Scenario(group, first, [], []);
        first.PartitionsRevoked += partitions => { lock (scenario.Revoked) scenario.Revoked.AddRange(partitions); };
        first.PartitionsLost += partitions => { lock (scenario.Lost) scenario.Lost.AddRange(partitions); };
        first.Subscribe(topic);
        for (var i = 0; i < 2 * RecordsPerPartition; i++)
        {
            _ = await first.ConsumeAsync(Deadline) ?? throw new TimeoutException("the first consumer got no record");
        }
        return scenario;
    }

    private Consumer SecondJoins(string group, string topic)
    {
        var second = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
        Consumers.Add(second);
        second.Subscribe(topic);
        return second;
    }

    [Fact]
    public async Task RevocationCommitFailsTwice_IsRetried_ThenThePartitionIsRevokedWithItsPositionCommitted()
    {
        var scenario = await FirstOwnerReadEverythingAsync();
        var topic = scenario.First.Subscription[0];
        CommitFaults.FailNext(scenario.Group, 2);
        try
        {
            SecondJoins(scenario.Group, topic);

            await Wait.UntilAsync(() => scenario.RevokedNow().Count > 0 || scenario.LostNow().Count > 0, Deadline, "the first consumer gives a partition up");

            var revoked = Assert.Single(scenario.RevokedNow());
            Assert.Empty(scenario.LostNow());
            Assert.Equal(2, CommitFaults.FailedCount(scenario.Group));
            var committed = await Fixture.Cluster.GrainFactory.GetGrain<IConsumerGroupGrain>(scenario.Group).GetCommittedOffsets([revoked]);
            Assert.Equal(RecordsPerPartition, committed[revoked].Offset);
        }
        finally
        {
            CommitFaults.Clear(scenario.Group);
        }
    }

    [Fact]
    public async Task RevocationCommitKeepsFailing_ThePartitionIsReportedLostNotRevoked_AndItsNextOwnerRepeatsIt()
    {
        var scenario = await FirstOwnerReadEverythingAsync();
        var topic = scenario.First.Subscription[0];
        CommitFaults.FailNext(scenario.Group, int.MaxValue);
        try
        {
            var second = SecondJoins(scenario.Group, topic);

            await Wait.UntilAsync(() => scenario.RevokedNow().Count > 0 || scenario.LostNow().Count > 0, Deadline, "the first consumer gives a partition up");

            var lost = Assert.Single(scenario.LostNow());
            Assert.Empty(scenario.RevokedNow());
            // Retried (50, 100, 200, 400 ms backoff within half the 1.5 s session), not given up after one try.
            Assert.True(CommitFaults.FailedCount(scenario.Group) > 1, $"{CommitFaults.FailedCount(scenario.Group)} commit tries");
            // What the README promises: the next owner starts at the last commit (none: the beginning) and repeats.
            var repeated = await second.ConsumeAsync(Deadline);
            Assert.NotNull(repeated);
            Assert.Equal(lost, repeated.TopicPartition);
            Assert.Equal(0, repeated.Offset);
        }
        finally
        {
            CommitFaults.Clear(scenario.Group);
        }
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryRevocationCommitTests(MemoryClusterFixture fixture) : RevocationCommitTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteRevocationCommitTests(AzuriteClusterFixture fixture) : RevocationCommitTests(fixture);
