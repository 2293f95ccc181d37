using System.Text.RegularExpressions;

namespace OrleansGroups.Grains.Tests;

public sealed class StorageNamesTests
{
    private static readonly Regex ValidContainer = new("^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$");

    [Theory]
    [InlineData("orleansgroups-state", "orleansgroups", "orleansgroups-state-orleansgroups")]
    [InlineData("orleansgroups-logs", "demo-1a2b", "orleansgroups-logs-demo-1a2b")]
    public void SimpleServiceIds_AreAppendedAsTheyAre(string prefix, string serviceId, string expected) =>
        Assert.Equal(expected, StorageNames.ContainerName(prefix, serviceId));

    [Theory]
    [InlineData("My_Service")]
    [InlineData("a--b")]
    [InlineData("x")]
    [InlineData("-edge-")]
    [InlineData("a-very-long-service-identifier-that-goes-on-and-on-and-on-beyond-sixty-three")]
    [InlineData("3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
    public void EveryServiceId_GivesAValidContainerName(string serviceId) =>
        Assert.Matches(ValidContainer, StorageNames.ContainerName("orleansgroups-state", serviceId));

    [Fact]
    public void ServiceIdsThatCleanUpAlike_StillGetDistinctContainers()
    {
        Assert.NotEqual(StorageNames.ContainerName("p", "My_Service"), StorageNames.ContainerName("p", "my-service"));
        Assert.NotEqual(StorageNames.ContainerName("p", "My_Service"), StorageNames.ContainerName("p", "MY.SERVICE"));
    }
}
