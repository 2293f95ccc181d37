using OrleansGroups.Client;

namespace OrleansGroups.Grains.Tests;

/// <summary>What the cluster test classes share: unique names, a deadline, and consumers closed after each test.</summary>
public abstract class ClusterTestBase(ClusterFixture fixture) : IAsyncLifetime
{
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    /// <summary>Consumers a test created; each is closed (leaving its group) after the test.</summary>
    protected List<Consumer> Consumers { get; } = [];

    protected ClusterFixture Fixture => fixture;

    protected AdminClient Admin => fixture.Groups.Admin;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var consumer in Consumers)
        {
            await consumer.CloseAsync();
        }
    }

    /// <summary>A name no other test uses: the cluster is shared by every test of a collection.</summary>
    protected static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];
}
