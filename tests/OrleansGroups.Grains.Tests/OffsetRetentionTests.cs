using Orleans.Hosting;
using Orleans.TestingHost;
using OrleansGroups.Client;
using OrleansGroups.Core.Topics;
using OrleansGroups.Hosting;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>A memory cluster whose groups keep offsets for one second after they empty, so expiry is observable.</summary>
public sealed class ShortRetentionClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan Retention = TimeSpan.FromSeconds(1);

    public TestCluster Cluster { get; private set; } = null!;

    public OrleansGroupsClient Groups { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(1);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Groups = new OrleansGroupsClient(Cluster.Client);
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddOrleansGroups(o =>
        {
            o.Storage = StorageKind.Memory;
            o.Groups.ExpiryCheckInterval = TimeSpan.FromMilliseconds(100);
            o.Groups.OffsetsRetention = Retention;
            o.Groups.Coordinator = new() { HeartbeatIntervalMs = 100, ReconcilingHeartbeatIntervalMs = 20, MinSessionTimeoutMs = 500 };
        });
    }
}

/// <summary>Offsets retention (KIP-211) through the group grain's timer.</summary>
[Trait("Category", "Cluster")]
public sealed class OffsetRetentionTests(ShortRetentionClusterFixture fixture) : IClassFixture<ShortRetentionClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task OffsetsOfAnEmptyGroup_ExpireAfterTheRetention_AndTheGroupIsRemoved()
    {
        var topic = NewName("t");
        await fixture.Groups.Admin.CreateTopicAsync(topic, 1);
        var group = NewName("g");
        var consumer = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
        consumer.Subscribe(topic);
        await Wait.UntilAsync(() => consumer.Assignment.Count == 1, Deadline, "assignment");
        await consumer.CommitAsync([new TopicPartitionOffset(new TopicPartition(topic, 0), 0)]);
        var grain = fixture.Cluster.Client.GetGrain<IConsumerGroupGrain>(group);

        // While the member is there, the offset outlives the retention.
        await Task.Delay(ShortRetentionClusterFixture.Retention * 2);
        Assert.Single(await grain.GetCommittedOffsets(null));

        await consumer.CloseAsync();
        var emptied = DateTimeOffset.UtcNow;
        await Wait.UntilAsync(async () => (await grain.GetCommittedOffsets(null)).Count == 0, Deadline, "the offset expired");

        Assert.True(DateTimeOffset.UtcNow - emptied >= ShortRetentionClusterFixture.Retention - TimeSpan.FromMilliseconds(50),
            "expired before the retention had passed");
        Assert.DoesNotContain(await fixture.Groups.Admin.ListGroupsAsync(), g => g.GroupId == group);
    }
}
