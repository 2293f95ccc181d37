using System.Diagnostics;
using OrleansGroups.Client;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// Server-side bounds: whatever a caller asks, a fetch returns at most <c>fetch.max.bytes</c> (the fixture's
/// <see cref="ClusterFixture.FetchMaxBytes"/>, 2 MiB) and waits at most <see cref="ClusterFixture.MaxFetchWait"/> (5 s).
/// </summary>
public abstract class BoundsTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{
    /// <summary>A one-partition topic holding about 3 MiB: 24 batches of 128 KiB.</summary>
    private async Task<TopicPartition> ThreeMebibytesAsync()
    {
        var partition = new TopicPartition(NewName("big"), 0);
        await Admin.CreateTopicAsync(partition.Topic, 1);
        await using var producer = Fixture.Groups.CreateProducer();
        for (var i = 0; i < 24; i++)
        {
            await producer.ProduceAsync(partition, new Message(null, new byte[128 << 10]));
        }
        return partition;
    }

    [Fact]
    public async Task PartitionFetchOfIntMaxValueBytes_ReturnsAtMostFetchMaxBytes()
    {
        var partition = await ThreeMebibytesAsync();

        var result = await Fixture.Cluster.Client.GetGrain<IPartitionGrain>(GrainKeys.Partition(partition)).Fetch(0, int.MaxValue, 0);

        Assert.InRange(result.Batches.Length, 1, ClusterFixture.FetchMaxBytes);
        var records = RecordBatch.Decode(result.Batches).ToList();
        Assert.Equal(0, records[0].Offset);
        Assert.InRange(records.Count, 1, 23);
    }

    [Fact]
    public async Task PartitionFetch_ReturnsABatchLargerThanMaxBytesWhole()
    {
        var partition = await ThreeMebibytesAsync();

        var result = await Fixture.Cluster.Client.GetGrain<IPartitionGrain>(GrainKeys.Partition(partition)).Fetch(0, 1, 0);

        Assert.Equal([0L], RecordBatch.Decode(result.Batches).Select(r => r.Offset));
    }

    [Fact]
    public async Task SessionFetchOfIntMaxValueBytes_ReturnsAtMostFetchMaxBytes()
    {
        var partition = await ThreeMebibytesAsync();
        var session = Fixture.Cluster.Client.GetGrain<IConsumerGrain>(GrainKeys.Consumer(NewName("g"), Guid.NewGuid().ToString("N")));

        var result = await session.Fetch(partition, 0, int.MaxValue, 2000);

        Assert.InRange(result.Batches.Length, 1, ClusterFixture.FetchMaxBytes);
        await session.Close();
    }

    [Fact]
    public async Task SessionFetchWaitingIntMaxValueMs_AnswersWithinMaxFetchWait()
    {
        var partition = new TopicPartition(NewName("empty"), 0);
        await Admin.CreateTopicAsync(partition.Topic, 1);
        var session = Fixture.Cluster.Client.GetGrain<IConsumerGrain>(GrainKeys.Consumer(NewName("g"), Guid.NewGuid().ToString("N")));
        var clock = Stopwatch.StartNew();

        var fetch = session.Fetch(partition, 0, 1024, int.MaxValue);
        var finished = await Task.WhenAny(fetch, Task.Delay(ClusterFixture.MaxFetchWait + Deadline));

        Assert.Same(fetch, finished);
        Assert.Empty((await fetch).Batches);
        Assert.True(clock.Elapsed >= ClusterFixture.MaxFetchWait - TimeSpan.FromMilliseconds(100), $"answered after {clock.Elapsed}");
        await session.Close();
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryBoundsTests(MemoryClusterFixture fixture) : BoundsTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteBoundsTests(AzuriteClusterFixture fixture) : BoundsTests(fixture);
