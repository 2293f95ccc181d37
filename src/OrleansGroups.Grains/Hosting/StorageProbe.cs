using Azure.Storage.Blobs;

namespace OrleansGroups.Hosting;

/// <summary>Checks that Azure Storage answers before a silo starts, so a wrong endpoint fails in seconds with one clear line.</summary>
public static class StorageProbe
{
    /// <summary>Returns null when the blob service answers within <paramref name="timeout"/>, else a one-line reason.</summary>
    public static async Task<string?> CheckAsync(AzureStorageSettings settings, TimeSpan timeout)
    {
        BlobServiceClient client;
        try
        {
            client = Orleans.Hosting.OrleansGroupsSiloBuilderExtensions.CreateBlobServiceClient(settings);
        }
        catch (Exception e)
        {
            return $"invalid storage settings: {e.Message}";
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await client.GetBlobContainerClient(settings.StateContainer).ExistsAsync(cts.Token);
            return null;
        }
        catch (Exception e)
        {
            var reason = e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0.#} s" : FirstLine(e.Message);
            return $"Azure Storage is unreachable at {client.Uri}: {reason}";
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0].Trim();
        return line.Length > 200 ? line[..200] + "..." : line;
    }
}
