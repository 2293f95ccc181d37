using System.Diagnostics;
using System.Text;
using Azure.Storage.Blobs;
using OrleansGroups.Hosting;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

[Trait("Category", "Azurite")]
public sealed class AzuriteFixtureTests
{
    [Fact]
    public async Task ConnectionStringServesBlobRoundTripAndDisposeStopsTheEmulator()
    {
        var fixture = new AzuriteFixture();
        await fixture.InitializeAsync();
        string connectionString;
        int? localPid = fixture.LocalAzurite?.ProcessId;
        try
        {
            connectionString = fixture.ConnectionString;
            Assert.Contains(fixture.Mode, new[] { "environment", "testcontainers", "npm" });

            // A real SDK round trip: create a container, upload, download.
            var service = new BlobServiceClient(connectionString);
            var container = service.GetBlobContainerClient($"fixture-{Guid.NewGuid():N}");
            await container.CreateAsync();
            var blob = container.GetBlobClient("hello.txt");
            var payload = $"hello from {fixture.Mode} at {DateTimeOffset.UtcNow:O}";
            await blob.UploadAsync(BinaryData.FromString(payload));

            var downloaded = await blob.DownloadContentAsync();
            Assert.Equal(payload, Encoding.UTF8.GetString(downloaded.Value.Content.ToArray()));

            await container.DeleteAsync();
        }
        finally
        {
            await fixture.DisposeAsync();
        }

        if (fixture.Mode == "environment")
        {
            // Not started by the fixture, so not stopped by it either.
            return;
        }

        // Whatever the fixture started is gone: its blob port refuses connections.
        Assert.False(
            await LocalAzurite.IsReachableAsync(connectionString, TimeSpan.FromSeconds(2)),
            $"the blob endpoint of the disposed {fixture.Mode} Azurite still accepts connections");
        if (localPid is int pid)
        {
            Assert.False(IsRunning(pid), $"Azurite process {pid} is still running after DisposeAsync");
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
