using System.Net;
using OrleansGroups.Client;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests.Deployment;

/// <summary>
/// A local two-silo cluster on Azure Table clustering (Azurite) with fast membership, exactly as
/// scripts/cluster.sh starts it: losing a silo to SIGKILL loses no topic and no committed offset, and
/// consumers carry on through the other gateway.
/// </summary>
[Trait("Category", "Deployment")]
public sealed class LocalClusterTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string Topic = "orders";
    private const int Partitions = 4;
    private const int Records = 400;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task TwoSilos_OneKilled_TheOtherKeepsServing_TopicsAndCommittedOffsetsSurvive()
    {
        var clusterId = $"lc-{Guid.NewGuid():N}"[..12];
        var serviceId = $"lc-{Guid.NewGuid():N}"[..16];
        var ports = FreePorts.Get(6);
        await using var silo0 = await SiloHost.StartAsync(SiloHost.ClusterArguments(azurite.ConnectionString, clusterId, serviceId, ports[0], ports[1], ports[2]));
        await using var silo1 = await SiloHost.StartAsync(SiloHost.ClusterArguments(azurite.ConnectionString, clusterId, serviceId, ports[3], ports[4], ports[5]));
        Assert.Contains("clustering azure", silo1.Output.Single(l => l.Contains(SiloHost.ReadyLine, StringComparison.Ordinal)));

        // 1. Produce and consume through silo 0's gateway only; commit half of what was read.
        var first = await SiloHost.ConnectAsync(clusterId, serviceId, ResponseTimeout, ports[1]);
        long[] committed;
        try
        {
            var groups = first.Groups();
            await groups.Admin.CreateTopicAsync(Topic, Partitions);
            await groups.CreateProducer().ProduceBatchAsync(Topic,
                Enumerable.Range(0, Records).Select(i => Message.FromStrings($"k{i}", $"v{i}")).ToList());
            var consumer = groups.CreateConsumer(Options());
            consumer.Subscribe(Topic);
            var read = new List<ConsumeResult>();
            while (read.Count < Records / 2 && await consumer.ConsumeAsync(Deadline) is { } record)
            {
                read.Add(record);
            }
            await consumer.CommitAsync();
            committed = Enumerable.Range(0, Partitions)
                .Select(p => read.Where(r => r.Partition == p).Select(r => r.Offset + 1).DefaultIfEmpty(0).Max())
                .ToArray();
            Assert.Equal(committed, Commits(await groups.Admin.DescribeGroupAsync("billing")));

            // 2. Crash silo 0 (its gateway and whatever grains it hosted) with the member still connected through it.
            await silo0.KillAsync();
        }
        finally
        {
            await first.StopQuietlyAsync();
        }

        // 3. Through silo 1's gateway: the topic and the commits are intact once silo 0 is declared dead (~1 s).
        var second = await SiloHost.ConnectAsync(clusterId, serviceId, ResponseTimeout, ports[4]);
        try
        {
            var groups = second.Groups();
            await Wait.UntilAsync(async () => await TryAsync(async () =>
                (await groups.Admin.DescribeTopicAsync(Topic)).Partitions.Sum(p => p.LogEndOffset) == Records), Deadline,
                "the topic is served by the surviving silo with every record");
            // The group grain may have lived on silo 0 too: calls reach it once the directory forgets the dead silo.
            await Wait.UntilAsync(async () => await TryAsync(async () =>
                Commits(await groups.Admin.DescribeGroupAsync("billing")).SequenceEqual(committed)), Deadline,
                "the group is served by the surviving silo with its commits");

            // 4. The group's consumer comes back through the other gateway and resumes exactly at the commits.
            await using var consumer = groups.CreateConsumer(Options());
            consumer.Subscribe(Topic);
            await Wait.UntilAsync(() => consumer.Assignment.Count == Partitions, Deadline, "the reconnected member owns every partition");
            var rest = new List<ConsumeResult>();
            while (rest.Count < Records - committed.Sum() && await consumer.ConsumeAsync(Deadline) is { } record)
            {
                rest.Add(record);
            }
            Assert.Equal(Records - committed.Sum(), rest.Count);
            Assert.All(rest, r => Assert.True(r.Offset >= committed[r.Partition], $"{r.Partition}@{r.Offset} was committed before"));
            Assert.Equal(rest.Count, rest.Select(r => (r.Partition, r.Offset)).Distinct().Count());
            Assert.Null(await consumer.ConsumeAsync(TimeSpan.FromSeconds(1)));

            // 5. And the survivor takes new writes.
            var more = await groups.CreateProducer().ProduceBatchAsync(Topic, [Message.FromStrings("after", "after")]);
            var after = await consumer.ConsumeAsync(Deadline);
            Assert.NotNull(after);
            Assert.Equal((more[0].Partition, more[0].Offset), (after.Partition, after.Offset));
        }
        finally
        {
            await second.StopQuietlyAsync();
        }
        Assert.Equal(0, await silo1.StopAsync(TimeSpan.FromSeconds(60)));
    }

    private static ConsumerOptions Options() => new("billing")
    {
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
        SessionTimeout = TimeSpan.FromSeconds(3),
    };

    /// <summary>The committed offset of each partition, 0 where the group never committed.</summary>
    private static long[] Commits(GroupDetails group) =>
        Enumerable.Range(0, Partitions)
            .Select(p => group.Partitions.SingleOrDefault(l => l.TopicPartition.Topic == Topic && l.TopicPartition.Partition == p)?.CommittedOffset ?? 0)
            .ToArray();

    private static async Task<bool> TryAsync(Func<Task<bool>> check)
    {
        try
        {
            return await check();
        }
        catch (Exception e) when (e is TimeoutException or Orleans.Runtime.OrleansException or Orleans.Runtime.SiloUnavailableException)
        {
            return false;
        }
    }
}
