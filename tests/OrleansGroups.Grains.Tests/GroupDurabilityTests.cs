using Microsoft.Extensions.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Placement;
using Orleans.TestingHost;
using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Topics;
using OrleansGroups.Hosting;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>Two silos on one Azure Storage account (Azurite), so a grain can lose its silo and come back on the other.</summary>
public sealed class TwoSiloAzuriteClusterFixture : IAsyncLifetime
{
    private const string ConnectionStringKey = "OrleansGroupsTests:ConnectionString";
    private readonly AzuriteFixture _azurite = new();

    public TestCluster Cluster { get; private set; } = null!;

    public OrleansGroupsClient Groups { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _azurite.InitializeAsync();
        var builder = new TestClusterBuilder(2);
        builder.Properties[ConnectionStringKey] = _azurite.ConnectionString;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Groups = new OrleansGroupsClient(Cluster.Client);
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await _azurite.DisposeAsync();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => silo.AddOrleansGroups(o =>
        {
            o.Storage = StorageKind.Azure;
            o.Azure.ConnectionString = silo.Configuration[ConnectionStringKey];
            o.Groups.ExpiryCheckInterval = TimeSpan.FromMilliseconds(100);
            o.Groups.MetadataRefreshInterval = TimeSpan.FromMilliseconds(200);
            o.Groups.Coordinator = new() { HeartbeatIntervalMs = 100, ReconcilingHeartbeatIntervalMs = 20, MinSessionTimeoutMs = 500 };
        });
    }
}

/// <summary>The group's state is durable: a group grain that loses its silo continues elsewhere with the same epochs and offsets.</summary>
[Trait("Category", "Azurite")]
public sealed class GroupDurabilityTests(TwoSiloAzuriteClusterFixture fixture) : IClassFixture<TwoSiloAzuriteClusterFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly List<Consumer> _consumers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var consumer in _consumers)
        {
            await consumer.CloseAsync();
        }
    }

    private static string Members(GroupDescription g) =>
        $"epoch {g.GroupEpoch}/{g.AssignmentEpoch} {g.Assignor} " +
        string.Join("; ", g.Members.Select(m => $"{m.MemberId} epoch {m.MemberEpoch} {m.State} [{string.Join(",", m.AssignedPartitions.Order())}]"));

    private static string Describe(GroupDescription g) =>
        Members(g) + " offsets " + string.Join(",", g.CommittedOffsets.OrderBy(o => o.Key).Select(o => $"{o.Key}={o.Value.Offset}@{o.Value.MemberEpoch}"));

    [Fact]
    public async Task GroupGrainReactivatedOnAnotherSilo_ContinuesWithTheSameEpochsAndOffsets()
    {
        var management = fixture.Cluster.Client.GetGrain<IManagementGrain>(0);
        var primary = fixture.Cluster.Primary!.SiloAddress;
        var topic = $"t-{Guid.NewGuid():N}"[..24];
        await fixture.Groups.Admin.CreateTopicAsync(topic, 4);
        await fixture.Groups.CreateProducer().ProduceBatchAsync(topic,
            Enumerable.Range(0, 40).Select(i => Message.FromStrings($"k{i}", $"v{i}")).ToList());

        // The secondary silo is the one to stop (the primary hosts the test cluster's membership), so the group grain
        // is activated there, with Orleans' placement hint.
        var secondary = fixture.Cluster.SecondarySilos[0].SiloAddress;
        var group = $"g-{Guid.NewGuid():N}"[..24];
        var grain = fixture.Cluster.Client.GetGrain<IConsumerGroupGrain>(group);
        RequestContext.Set(IPlacementDirector.PlacementHintKey, secondary);
        try
        {
            await grain.Describe();
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }
        Assert.Equal(secondary, await management.GetActivationAddress(grain));

        var consumers = Enumerable.Range(0, 2).Select(_ =>
        {
            var consumer = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group) with { SessionTimeout = TimeSpan.FromSeconds(20) });
            _consumers.Add(consumer);
            consumer.Subscribe(topic);
            return consumer;
        }).ToList();
        var read = 0;
        await Wait.UntilAsync(async () =>
        {
            foreach (var consumer in consumers)
            {
                while (await consumer.ConsumeAsync(TimeSpan.Zero) is not null)
                {
                    read++;
                }
            }
            return read == 40 && consumers.All(c => c.Assignment.Count == 2);
        }, Deadline, "both members read everything");
        foreach (var consumer in consumers)
        {
            await consumer.CommitAsync();
        }
        await Wait.UntilAsync(async () => (await grain.Describe()).State == GroupState.Stable, Deadline, "a stable group");
        var before = await grain.Describe();
        Assert.Equal(4, before.CommittedOffsets.Count);

        await fixture.Cluster.StopSiloAsync(fixture.Cluster.SecondarySilos[0]);
        var after = await grain.Describe();
        var newHost = await management.GetActivationAddress(grain);

        Assert.Equal(primary, newHost);
        Assert.Equal(Describe(before), Describe(after));
        // The members never noticed: their next heartbeats carry the same epoch, and a new record reaches one of them.
        await fixture.Groups.CreateProducer().ProduceAsync(new TopicPartition(topic, 0), Message.FromStrings(null, "after the move"));
        ConsumeResult? next = null;
        await Wait.UntilAsync(async () =>
        {
            foreach (var consumer in consumers)
            {
                next ??= await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(50));
            }
            return next is not null;
        }, Deadline, "the new record is consumed");
        Assert.Equal("after the move", next!.ValueAsString);
        Assert.Equal(Members(before), Members(await grain.Describe()));
    }
}
