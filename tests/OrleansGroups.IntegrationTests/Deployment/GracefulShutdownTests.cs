using System.Net;
using OrleansGroups.Client;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests.Deployment;

/// <summary>
/// What an orchestrator sees: the probe and metrics endpoints, and SIGTERM (a pod or replica being stopped) draining the silo
/// and exiting 0, with every acknowledged record and committed offset there after a restart on the same storage.
/// </summary>
[Trait("Category", "Deployment")]
public sealed class GracefulShutdownTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private const string Topic = "drained";
    private const int Partitions = 3;
    private const int Records = 300;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Sigterm_DrainsTheSilo_ExitsZero_AndDataSurvivesTheRestart()
    {
        var ports = FreePorts.Get(3);
        var serviceId = $"gs-{Guid.NewGuid():N}"[..16];
        string[] args =
        [
            "--storage", "azure", "--connection-string", azurite.ConnectionString, "--service-id", serviceId,
            "--silo-port", ports[0].ToString(), "--gateway-port", ports[1].ToString(), "--health-port", ports[2].ToString(),
        ];
        var silo = await SiloHost.StartAsync(args);
        var ends = new long[Partitions];
        try
        {
            // 1. Probes: alive and ready once the ready line is out.
            Assert.Equal((HttpStatusCode.OK, "alive"), await SiloHost.GetAsync(ports[2], "/healthz"));
            Assert.Equal((HttpStatusCode.OK, "ready"), await SiloHost.GetAsync(ports[2], "/readyz"));
            // Prometheus exposition on the same port (MetricsEndpointTests reads it in detail).
            var metrics = await SiloHost.GetAsync(ports[2], "/metrics");
            Assert.Equal(HttpStatusCode.OK, metrics.Status);
            Assert.Contains("# TYPE ", metrics.Body);

            // 2. Load: acknowledged records, and a group member that committed all of them and is still connected.
            var client = await SiloHost.ConnectAsync("dev", serviceId, TimeSpan.FromSeconds(10), ports[1]);
            var groups = client.Groups();
            await groups.Admin.CreateTopicAsync(Topic, Partitions);
            var delivered = await groups.CreateProducer().ProduceBatchAsync(Topic,
                Enumerable.Range(0, Records).Select(i => Message.FromStrings($"k{i}", $"v{i}")).ToList());
            foreach (var d in delivered)
            {
                ends[d.Partition] = Math.Max(ends[d.Partition], d.Offset + 1);
            }
            var consumer = groups.CreateConsumer(Options());
            consumer.Subscribe(Topic);
            var read = 0;
            while (read < Records && await consumer.ConsumeAsync(Deadline) is not null)
            {
                read++;
            }
            Assert.Equal(Records, read);
            await consumer.CommitAsync();

            // 3. SIGTERM while the member is connected: the host drains Orleans and the process exits 0.
            var exitCode = await silo.StopAsync(TimeSpan.FromSeconds(60));
            Assert.True(exitCode == 0, $"exit code {exitCode}:\n{silo.OutputText}");
            Assert.Contains(silo.Output, l => l.Contains("OrleansGroups silo stopping", StringComparison.Ordinal));
            Assert.Contains(silo.Output, l => l.Contains("OrleansGroups silo stopped gracefully", StringComparison.Ordinal));
            await client.StopQuietlyAsync();
        }
        finally
        {
            await silo.DisposeAsync();
        }

        // 4. The same silo again: the log ends where it ended, the group resumes at its commits.
        await using var restarted = await SiloHost.StartAsync(args);
        var again = await SiloHost.ConnectAsync("dev", serviceId, TimeSpan.FromSeconds(10), ports[1]);
        try
        {
            var groups = again.Groups();
            var topic = await groups.Admin.DescribeTopicAsync(Topic);
            Assert.Equal(ends, topic.Partitions.Select(p => p.LogEndOffset));
            var group = await groups.Admin.DescribeGroupAsync("g");
            Assert.All(group.Partitions, p => Assert.Equal(p.LogEndOffset, p.CommittedOffset));

            await using var consumer = groups.CreateConsumer(Options());
            consumer.Subscribe(Topic);
            await Wait.UntilAsync(() => consumer.Assignment.Count == Partitions, Deadline, "the new member owns every partition (the old one expired)");
            var late = await groups.CreateProducer().ProduceBatchAsync(Topic, [Message.FromStrings("late", "late")]);
            var record = await consumer.ConsumeAsync(Deadline);
            Assert.NotNull(record);
            Assert.Equal((late[0].Partition, late[0].Offset), (record.Partition, record.Offset));
        }
        finally
        {
            await again.StopQuietlyAsync();
        }
    }

    private static ConsumerOptions Options() => new("g")
    {
        AutoOffsetReset = AutoOffsetReset.Earliest,
        EnableAutoCommit = false,
        SessionTimeout = TimeSpan.FromSeconds(3),
    };
}
