using OrleansGroups.Client;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>The server-side assignor chosen per group by its members (<c>group.remote.assignor</c>).</summary>
public abstract class GroupAssignorTests(ClusterFixture fixture) : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly List<Consumer> _consumers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var consumer in _consumers)
        {
            await consumer.CloseAsync();
        }
    }

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

    private Consumer Join(string group, string topic, string? assignor)
    {
        var consumer = fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group) with { GroupRemoteAssignor = assignor });
        _consumers.Add(consumer);
        consumer.Subscribe(topic);
        return consumer;
    }

    [Fact]
    public async Task MembersAskingForRange_GetContiguousRanges()
    {
        var topic = NewName("t");
        await fixture.Groups.Admin.CreateTopicAsync(topic, 5);
        var group = NewName("g");
        var consumers = new[] { Join(group, topic, "range"), Join(group, topic, "range") };
        await Wait.UntilAsync(() => consumers.Sum(c => c.Assignment.Count) == 5 && consumers.All(c => c.Assignment.Count > 0), Deadline, "5 partitions assigned");

        var details = await fixture.Groups.Admin.DescribeGroupAsync(group);

        Assert.Equal("range", details.Group.Assignor);
        Assert.All(details.Group.Members, m => Assert.Equal("range", m.ServerAssignor));
        // Range: the member with the lower id takes 0..2, the other 3..4.
        var first = consumers.OrderBy(c => c.MemberId, StringComparer.Ordinal).ToList();
        Assert.Equal([0, 1, 2], first[0].Assignment.Select(p => p.Partition));
        Assert.Equal([3, 4], first[1].Assignment.Select(p => p.Partition));
    }

    [Fact]
    public async Task GroupsWithoutAPreference_UseTheSiloDefault()
    {
        var topic = NewName("t");
        await fixture.Groups.Admin.CreateTopicAsync(topic, 2);
        var group = NewName("g");
        var consumer = Join(group, topic, null);
        await Wait.UntilAsync(() => consumer.Assignment.Count == 2, Deadline, "assignment");

        Assert.Equal("uniform", (await fixture.Groups.Admin.DescribeGroupAsync(group)).Group.Assignor);
    }

    [Fact]
    public void UnknownAssignor_FailsWhenTheConsumerIsCreated()
    {
        var error = Assert.Throws<InvalidRequestException>(() =>
            fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(NewName("g")) with { GroupRemoteAssignor = "roundrobin" }));

        Assert.StartsWith("Unknown assignor 'roundrobin'", error.Message);
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryGroupAssignorTests(MemoryClusterFixture fixture) : GroupAssignorTests(fixture);
