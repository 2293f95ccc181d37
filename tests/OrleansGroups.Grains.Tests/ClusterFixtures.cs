using Microsoft.Extensions.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;
using OrleansGroups.Client;
using OrleansGroups.Hosting;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// A real Orleans test cluster with OrleansGroups on the chosen storage. Group timings are shortened so
/// rebalances and evictions take well under a second; tests wait on conditions, never on sleeps.
/// </summary>
public abstract class ClusterFixture : IAsyncLifetime
{
    private const string ConnectionStringKey = "OrleansGroupsTests:ConnectionString";
    private const string SmallLimitsKey = "OrleansGroupsTests:SmallLimits";

    /// <summary>With small limits (<see cref="LimitsClusterFixture"/>): at most this many topics...</summary>
    public const int SmallMaxTopics = 3;

    /// <summary>...groups...</summary>
    public const int SmallMaxGroups = 3;

    /// <summary>...and members per group.</summary>
    public const int SmallMaxGroupSize = 2;

    /// <summary>True for a cluster whose topic, group and group-size limits are the small ones above.</summary>
    protected virtual bool SmallLimits => false;

    public TestCluster Cluster { get; private set; } = null!;

    public OrleansGroupsClient Groups { get; private set; } = null!;

    public abstract string StorageName { get; }

    protected abstract Task<string?> StartStorageAsync();

    protected virtual Task StopStorageAsync() => Task.CompletedTask;

    public async Task InitializeAsync()
    {
        var connectionString = await StartStorageAsync();
        var builder = new TestClusterBuilder(1);
        builder.Properties[ConnectionStringKey] = connectionString ?? "";
        builder.Properties[SmallLimitsKey] = SmallLimits ? "true" : "";
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
        Groups = new OrleansGroupsClient(Cluster.Client);
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        await StopStorageAsync();
    }

    /// <summary>Consumer options with a short session so evictions are quick.</summary>
    public static ConsumerOptions FastConsumer(string group, AutoOffsetReset reset = AutoOffsetReset.Earliest) => new(group)
    {
        AutoOffsetReset = reset,
        SessionTimeout = TimeSpan.FromMilliseconds(1500),
        FetchMaxWait = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>The silos' fetch.max.bytes (Log.FetchMaxBytes): 2 MiB.</summary>
    public const int FetchMaxBytes = 2 << 20;

    /// <summary>The silos' cap on a fetch's wait (Log.MaxFetchWait): 5 s.</summary>
    public static readonly TimeSpan MaxFetchWait = TimeSpan.FromSeconds(5);

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var connectionString = silo.Configuration[ConnectionStringKey];
            silo.AddOrleansGroups(o =>
            {
                o.Storage = string.IsNullOrEmpty(connectionString) ? StorageKind.Memory : StorageKind.Azure;
                o.Azure.ConnectionString = connectionString;
                // The Azurite cluster carries notifications on Azure queues, the memory one on memory streams.
                o.Consumers.Streams = string.IsNullOrEmpty(connectionString) ? NotificationStreams.Memory : NotificationStreams.AzureQueue;
                // Small segments and cache so rolling, checkpoints, retention and storage reads all happen in tests.
                o.Log.SegmentMaxBytes = 1 << 20;
                o.Log.MaxAppendBytes = 1 << 20;
                o.Log.TailCacheBytes = 256 << 10;
                o.Log.IndexIntervalBytes = 16 << 10;
                o.Log.RetentionCheckInterval = TimeSpan.FromHours(1);
                // Bounds small enough for a test to exceed (BoundsTests); every other test asks for less.
                o.Log.FetchMaxBytes = FetchMaxBytes;
                o.Log.MaxFetchWait = MaxFetchWait;
                o.Groups.ExpiryCheckInterval = TimeSpan.FromMilliseconds(100);
                o.Groups.MetadataRefreshInterval = TimeSpan.FromMilliseconds(200);
                o.Groups.MetricsInterval = TimeSpan.FromMilliseconds(100);
                o.Groups.Coordinator = new() { HeartbeatIntervalMs = 100, ReconcilingHeartbeatIntervalMs = 20, MinSessionTimeoutMs = 500 };
                if (silo.Configuration[SmallLimitsKey] == "true")
                {
                    o.MaxTopics = SmallMaxTopics;
                    o.Groups.MaxGroups = SmallMaxGroups;
                    o.Groups.Coordinator = o.Groups.Coordinator with { MaxGroupSize = SmallMaxGroupSize };
                }
            });
            silo.AddIncomingGrainCallFilter(CommitFaults.FilterAsync);
        }
    }
}

/// <summary>
/// Makes the next commits of a group fail with a retriable StorageUnavailable before they reach the group, as a storage
/// outage would: a fault injected in the commit path. The silos run in the test process, so a static switch reaches them.
/// </summary>
public static class CommitFaults
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Remaining = new(StringComparer.Ordinal);
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Failed = new(StringComparer.Ordinal);

    /// <summary>The next <paramref name="count"/> commits to <paramref name="groupId"/> fail.</summary>
    public static void FailNext(string groupId, int count) => Remaining[groupId] = count;

    /// <summary>How many commits to <paramref name="groupId"/> were failed on purpose.</summary>
    public static int FailedCount(string groupId) => Failed.GetValueOrDefault(groupId);

    /// <summary>Commits to <paramref name="groupId"/> go through again.</summary>
    public static void Clear(string groupId) => Remaining.TryRemove(groupId, out _);

    internal static Task FilterAsync(IIncomingGrainCallContext context)
    {
        if (context.InterfaceMethod?.Name == nameof(IConsumerGroupGrain.Commit) &&
            context.InterfaceMethod.DeclaringType == typeof(IConsumerGroupGrain))
        {
            var groupId = context.TargetId.Key.ToString()!;
            while (Remaining.TryGetValue(groupId, out var left) && left > 0)
            {
                if (Remaining.TryUpdate(groupId, left - 1, left))
                {
                    Failed.AddOrUpdate(groupId, 1, (_, n) => n + 1);
                    throw new Core.Errors.StorageUnavailableException($"Injected commit fault for group '{groupId}'.");
                }
            }
        }
        return context.Invoke();
    }
}

/// <summary>The cluster on memory storage.</summary>
public sealed class MemoryClusterFixture : ClusterFixture
{
    public override string StorageName => "memory";

    protected override Task<string?> StartStorageAsync() => Task.FromResult<string?>(null);
}

/// <summary>The cluster on Azure Storage (Azurite).</summary>
public sealed class AzuriteClusterFixture : ClusterFixture
{
    private readonly AzuriteFixture _azurite = new();

    public override string StorageName => "azure";

    public string ConnectionString => _azurite.ConnectionString;

    protected override async Task<string?> StartStorageAsync()
    {
        await _azurite.InitializeAsync();
        return _azurite.ConnectionString;
    }

    protected override Task StopStorageAsync() => _azurite.DisposeAsync();
}

/// <summary>A memory cluster of its own with small topic, group and group-size limits, for the tests that reach them.</summary>
public sealed class LimitsClusterFixture : ClusterFixture
{
    public override string StorageName => "memory";

    protected override bool SmallLimits => true;

    protected override Task<string?> StartStorageAsync() => Task.FromResult<string?>(null);
}

[CollectionDefinition(Name)]
public sealed class LimitsClusterCollection : ICollectionFixture<LimitsClusterFixture>
{
    public const string Name = "memory cluster with small limits";
}

[CollectionDefinition(Name)]
public sealed class MemoryClusterCollection : ICollectionFixture<MemoryClusterFixture>
{
    public const string Name = "memory cluster";
}

[CollectionDefinition(Name)]
public sealed class AzuriteClusterCollection : ICollectionFixture<AzuriteClusterFixture>
{
    public const string Name = "azurite cluster";
}
