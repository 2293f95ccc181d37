using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansGroups.Client;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

/// <summary>
/// The whole path through real processes: Azurite, a silo process, a client over TCP. Acknowledged records
/// and committed offsets must survive <c>kill -9</c> of the silo.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DurabilityEndToEndTests : IClassFixture<AzuriteFixture>
{
    private const int Records = 10_000;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly AzuriteFixture _azurite;

    public DurabilityEndToEndTests(AzuriteFixture azurite) => _azurite = azurite;

    [Fact]
    public async Task GroupsReadEverythingExactlyOnce_AndLogAndOffsetsSurviveSiloKill()
    {
        await using var silo = await SiloProcess.StartAsync(_azurite.ConnectionString);
        const string topic = "orders";
        var counts = new Dictionary<int, long>();

        using (var client = await silo.ConnectAsync())
        {
            var groups = client.Services.GetRequiredService<OrleansGroupsClient>();
            await groups.Admin.CreateTopicAsync(topic, 4);
            var producer = groups.CreateProducer();
            var messages = Enumerable.Range(0, Records).Select(i => Message.FromStrings($"customer-{i % 500}", $"order-{i}")).ToList();
            var delivered = await producer.ProduceBatchAsync(topic, messages);
            foreach (var partition in delivered.GroupBy(d => d.Partition))
            {
                counts[partition.Key] = partition.Count();
            }
            Assert.Equal(4, counts.Count);

            // Group 1: two members split the partitions and read every record exactly once.
            var billing = await ReadAllAsync(groups, "billing", members: 2, expected: Records);
            Assert.Equal(Records, billing.Count);
            Assert.Equal(Records, billing.Distinct().Count());

            // Group 2 is independent: it reads everything again.
            var audit = await ReadAllAsync(groups, "audit", members: 1, expected: Records);
            Assert.Equal(Records, audit.Distinct().Count());
            await client.StopAsync();
        }

        await silo.KillAsync();
        await silo.RestartAsync();

        using (var client = await silo.ConnectAsync())
        {
            var groups = client.Services.GetRequiredService<OrleansGroupsClient>();
            var topicAfter = await groups.Admin.DescribeTopicAsync(topic);
            Assert.Equal(counts.OrderBy(c => c.Key).Select(c => c.Value), topicAfter.Partitions.Select(p => p.LogEndOffset));

            var billing = await groups.Admin.DescribeGroupAsync("billing");
            Assert.All(billing.Partitions, p => Assert.Equal(p.LogEndOffset, p.CommittedOffset));

            // Group 1 resumes at its committed offsets: nothing old is read again, the 100 new records exactly once.
            var consumer = groups.CreateConsumer(new ConsumerOptions("billing") { AutoOffsetReset = AutoOffsetReset.Earliest, SessionTimeout = TimeSpan.FromSeconds(3) });
            consumer.Subscribe(topic);
            await Wait.UntilAsync(() => consumer.Assignment.Count == 4, Deadline, "the new member owns every partition");
            Assert.Null(await consumer.ConsumeAsync(TimeSpan.FromSeconds(2)));

            var producer = groups.CreateProducer();
            var more = await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 100).Select(i => Message.FromStrings($"late-{i}", $"late-{i}")).ToList());
            var read = new List<ConsumeResult>();
            while (read.Count < 100 && await consumer.ConsumeAsync(Deadline) is { } record)
            {
                read.Add(record);
            }
            Assert.Null(await consumer.ConsumeAsync(TimeSpan.FromSeconds(1)));
            Assert.Equal(more.Select(d => (d.Partition, d.Offset)).Order(), read.Select(r => (r.Partition, r.Offset)).Order());
            Assert.All(read, r => Assert.StartsWith("late-", r.ValueAsString));
            await consumer.CloseAsync();
            await client.StopAsync();
        }
    }

    private static async Task<List<(int Partition, long Offset)>> ReadAllAsync(OrleansGroupsClient groups, string group, int members, int expected)
    {
        var consumers = Enumerable.Range(0, members)
            .Select(_ => groups.CreateConsumer(new ConsumerOptions(group) { AutoOffsetReset = AutoOffsetReset.Earliest }))
            .ToList();
        foreach (var consumer in consumers)
        {
            consumer.Subscribe("orders");
        }
        await Wait.UntilAsync(() => consumers.Sum(c => c.Assignment.Count) == 4 && consumers.All(c => c.Assignment.Count > 0),
            Deadline, $"{group}: every member owns partitions");
        var read = new List<(int, long)>();
        var deadline = DateTimeOffset.UtcNow + Deadline;
        while (read.Count < expected && DateTimeOffset.UtcNow < deadline)
        {
            foreach (var consumer in consumers)
            {
                while (await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(50)) is { } record)
                {
                    read.Add((record.Partition, record.Offset));
                }
                await consumer.CommitAsync();
            }
        }
        foreach (var consumer in consumers)
        {
            await consumer.CloseAsync();
        }
        return read;
    }
}
