using Azure.Storage.Blobs;
using OrleansGroups.Hosting;

namespace OrleansGroups.Cli.Commands.Demo;

/// <summary>
/// The storage the demo runs on, chosen so that it works on any machine: memory when asked; else an Azurite
/// already answering on the default ports; else a private Azurite started from the repository's scripts/azurite
/// (stopped at the end); else memory again, saying why.
/// </summary>
internal sealed class DemoStorage : IAsyncDisposable
{
    private readonly LocalAzurite? _privateAzurite;
    private readonly List<string> _runContainers = [];

    private DemoStorage(StorageKind kind, string? connectionString, string description, LocalAzurite? privateAzurite = null)
    {
        Kind = kind;
        ConnectionString = connectionString;
        Description = description;
        _privateAzurite = privateAzurite;
    }

    public StorageKind Kind { get; }

    public string? ConnectionString { get; }

    /// <summary>True when the demo started its own Azurite (and stops it on dispose).</summary>
    public bool StartedAzurite => _privateAzurite is not null;

    /// <summary>One line for the newcomer: which storage, and why this one.</summary>
    public string Description { get; }

    /// <param name="requested">"memory", "azure", or null to choose.</param>
    /// <param name="progress">Told about slow steps (starting Azurite takes a few seconds).</param>
    /// <param name="cancellationToken">Cancels starting a private Azurite.</param>
    public static async Task<DemoStorage> ChooseAsync(string? requested, Action<string> progress, CancellationToken cancellationToken)
    {
        if (requested == "memory")
        {
            return new(StorageKind.Memory, null, "memory (--storage memory): logs and group state live in this process only");
        }

        // A TCP check first: the storage probe below would otherwise spend its whole timeout on a closed port.
        const string defaultCs = AzureStorageSettings.AzuriteConnectionString;
        if (await LocalAzurite.IsReachableAsync(defaultCs, TimeSpan.FromSeconds(1))
            && await StorageProbe.CheckAsync(new AzureStorageSettings { ConnectionString = defaultCs }, TimeSpan.FromSeconds(5)) is null)
        {
            return new(StorageKind.Azure, defaultCs,
                "Azure Storage on the Azurite already running at 127.0.0.1:10000 (append blobs for logs, blobs for group state)");
        }

        string reason;
        var scripts = LocalAzurite.FindRepositoryScriptsDirectory();
        if (scripts is null)
        {
            reason = "the repository's scripts/azurite was not found next to this program or the current directory";
        }
        else
        {
            try
            {
                progress("No Azurite at 127.0.0.1:10000: starting a private one from scripts/azurite (in memory, free ports)...");
                var azurite = await LocalAzurite.StartAsync(scripts, inMemory: true, cancellationToken);
                return new(StorageKind.Azure, azurite.ConnectionString,
                    $"Azure Storage on a private Azurite (in memory, blob port {azurite.BlobPort}), stopped when the demo ends",
                    azurite);
            }
            catch (InvalidOperationException e)
            {
                reason = $"a private Azurite could not be started ({e.Message.Split('\n', 2)[0].Trim()})";
            }
        }

        if (requested == "azure")
        {
            throw new CliException(
                $"--storage azure: no Azurite answers at 127.0.0.1:10000 and {reason}. Start one with scripts/azurite.sh start, or use --storage memory.");
        }
        return new(StorageKind.Memory, null, $"memory, because no Azurite answers at 127.0.0.1:10000 and {reason}");
    }

    /// <summary>
    /// Remembers this run's containers (named after its fresh service id, see <see cref="StorageNames.ContainerName"/>)
    /// so they can be removed from a shared Azurite at the end.
    /// </summary>
    public void IsolateRun(SiloSettings settings, string runId)
    {
        if (Kind != StorageKind.Azure)
        {
            return;
        }
        var azure = settings.Options.Azure;
        _runContainers.AddRange([
            StorageNames.ContainerName(azure.StateContainer, settings.ServiceId),
            StorageNames.ContainerName(azure.LogContainer, settings.ServiceId)]);
    }

    /// <summary>Deletes this run's containers from a shared Azurite; returns how many were deleted.</summary>
    public async Task<int> RemoveRunDataAsync()
    {
        if (_privateAzurite is not null || _runContainers.Count == 0)
        {
            return 0; // A private Azurite keeps everything in memory and is stopped anyway.
        }
        var blobs = new BlobServiceClient(ConnectionString);
        var deleted = 0;
        foreach (var container in _runContainers)
        {
            try
            {
                if ((await blobs.DeleteBlobContainerAsync(container)).Status is >= 200 and < 300)
                {
                    deleted++;
                }
            }
            catch (Azure.RequestFailedException)
            {
                // Never created (nothing was written to it) or already gone.
            }
        }
        return deleted;
    }

    public async ValueTask DisposeAsync()
    {
        if (_privateAzurite is not null)
        {
            await _privateAzurite.DisposeAsync();
        }
    }
}
