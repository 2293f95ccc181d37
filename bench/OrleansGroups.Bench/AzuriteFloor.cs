using System.Diagnostics;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;

namespace OrleansGroups.Bench;

/// <summary>
/// The floor every Azurite figure stands on: how fast the emulator itself appends blocks to append blobs, measured
/// in the same run with the same SDK the log store uses (no OrleansGroups code involved).
/// </summary>
internal static class AzuriteFloor
{
    public static async Task<FloorResult> MeasureAsync(string connectionString, string name, int blockBytes, int blobs, TimeSpan duration)
    {
        var container = new BlobServiceClient(connectionString).GetBlobContainerClient($"floor-{Guid.NewGuid():N}"[..20]);
        await container.CreateIfNotExistsAsync();
        var block = new byte[blockBytes];
        Random.Shared.NextBytes(block);
        var clients = new List<AppendBlobClient>();
        for (var i = 0; i < blobs; i++)
        {
            var blob = container.GetAppendBlobClient($"floor-{i}.log");
            await blob.CreateIfNotExistsAsync();
            await blob.AppendBlockAsync(new MemoryStream(block)); // warm the connection and the blob
            clients.Add(blob);
        }

        var appends = 0L;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(clients.Select(async blob =>
        {
            while (stopwatch.Elapsed < duration)
            {
                await blob.AppendBlockAsync(new MemoryStream(block));
                Interlocked.Increment(ref appends);
            }
        }));
        var seconds = stopwatch.Elapsed.TotalSeconds;
        await container.DeleteIfExistsAsync();
        return new FloorResult(name, blockBytes, blobs, appends, seconds, appends / seconds, appends * (double)blockBytes / seconds / 1e6);
    }
}
