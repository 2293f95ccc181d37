using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Partitions;

namespace OrleansGroups.Hosting;

/// <summary>Where OrleansGroups keeps grain state and partition logs.</summary>
public enum StorageKind
{
    /// <summary>In this process's memory: fast, lost on exit. Development and tests.</summary>
    Memory,
    /// <summary>Azure Storage (or Azurite): blobs for logs and grain state. Durable.</summary>
    Azure,
}

/// <summary>Settings of the OrleansGroups silo side.</summary>
public sealed class OrleansGroupsOptions
{
    /// <summary>Storage kind; default <see cref="StorageKind.Azure"/> (durable by default).</summary>
    public StorageKind Storage { get; set; } = StorageKind.Azure;

    /// <summary>Azure Storage settings, used when <see cref="Storage"/> is Azure.</summary>
    public AzureStorageSettings Azure { get; set; } = new();

    /// <summary>Partition log settings.</summary>
    public LogOptions Log { get; set; } = new();

    /// <summary>Consumer group settings.</summary>
    public GroupOptions Groups { get; set; } = new();

    /// <summary>
    /// Register a reminder service (default true): Azure tables in Azure mode when a connection string or table
    /// service URI is set, else in memory. Grain members need reminders to rejoin after a silo failure. Set false
    /// when the host configures its own reminder service.
    /// </summary>
    public bool AddReminderService { get; set; } = true;

    /// <summary>Consumer session (prefetch and notification) settings.</summary>
    public ConsumerSessionOptions Consumers { get; set; } = new();

    /// <summary>Default of <see cref="MaxTopics"/>: 10,000.</summary>
    public const int DefaultMaxTopics = 10_000;

    /// <summary>
    /// Most topics the cluster holds (default 10,000; Kafka has no such setting, only its per-broker partition
    /// guidance). Creating one more fails with ResourceLimitReached and creates nothing.
    /// </summary>
    /// <remarks>
    /// The topic registry is one grain whose state lists every topic and is rewritten on each create or delete:
    /// 10,000 topics are about 1 MB per write. Tuning rule: raise it only with that write size in mind.
    /// </remarks>
    public int MaxTopics { get; set; } = DefaultMaxTopics;
}

/// <summary>How to reach Azure Storage: a connection string (Azurite, development) or service URIs with managed identity.</summary>
public sealed class AzureStorageSettings
{
    /// <summary>The public, documented Azurite connection string on its default ports.</summary>
    public const string AzuriteConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";

    /// <summary>Connection string; when null, <see cref="BlobServiceUri"/> and <see cref="TableServiceUri"/> are used with <c>DefaultAzureCredential</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Blob service URI (e.g. https://account.blob.core.windows.net) for managed identity.</summary>
    public Uri? BlobServiceUri { get; set; }

    /// <summary>Queue service URI, for Azure Queue notification streams with managed identity.</summary>
    public Uri? QueueServiceUri { get; set; }

    /// <summary>Table service URI, for Azure Table clustering with managed identity.</summary>
    public Uri? TableServiceUri { get; set; }

    /// <summary>Blob container prefix for partition logs (default "orleansgroups-logs"); the service id is appended.</summary>
    public string LogContainer { get; set; } = "orleansgroups-logs";

    /// <summary>
    /// Retries of one storage request (default 2). With <see cref="RequestTimeout"/> it bounds how long a write can
    /// take before the caller gets StorageUnavailable: keep (retries + 1) x timeout below the clients' response timeout.
    /// </summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Time limit of one storage request try (default 5 s).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Blob container prefix for grain state (default "orleansgroups-state"); the service id is appended.</summary>
    public string StateContainer { get; set; } = "orleansgroups-state";
}

/// <summary>Consumer group settings.</summary>
public sealed class GroupOptions
{
    /// <summary>Default of <see cref="OffsetsRetention"/>: 7 days, as Kafka's <c>offsets.retention.minutes</c>.</summary>
    public static readonly TimeSpan DefaultOffsetsRetention = TimeSpan.FromDays(7);

    /// <summary>
    /// Assignor of groups whose members state no preference (<c>group.remote.assignor</c>): "uniform" (balanced and
    /// sticky, the default; alias "sticky") or "range".
    /// </summary>
    public string Assignor { get; set; } = Assignors.Default;

    /// <summary>
    /// How long the committed offsets of an empty group are kept (Kafka's <c>offsets.retention.minutes</c>, KIP-211),
    /// counted from when its last member left; default 7 days. A group left without offsets is then deleted.
    /// </summary>
    /// <remarks>
    /// Keep it longer than the longest time a consumer application may be stopped, or the application restarts from
    /// <c>auto.offset.reset</c>. Expiry is checked while the group is active and whenever it is loaded.
    /// </remarks>
    public TimeSpan OffsetsRetention { get; set; } = DefaultOffsetsRetention;

    /// <summary>Protocol timings (session timeout, heartbeat interval...).</summary>
    public GroupCoordinatorOptions Coordinator { get; set; } = new();

    /// <summary>How often a group looks for expired members and offsets (default 1 s). Eviction lags a session timeout by at most this.</summary>
    public TimeSpan ExpiryCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a group caches topic partition counts (default 5 s).</summary>
    public TimeSpan MetadataRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often a group reads its partitions' end offsets and publishes its lag and member count to the silo's
    /// metrics (default 10 s; <see cref="TimeSpan.Zero"/> turns group metrics off).
    /// </summary>
    /// <remarks>
    /// Each tick costs one watermark call per committed partition. A group with members or committed offsets stays
    /// active while this is on, so its lag is reported even when nobody consumes (the alert that matters most); silos
    /// activate every registered group when they start. Tuning rule: at least the Prometheus scrape interval.
    /// </remarks>
    public TimeSpan MetricsInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Default of <see cref="MaxGroups"/>: 10,000.</summary>
    public const int DefaultMaxGroups = 10_000;

    /// <summary>
    /// Most consumer groups the cluster holds (default 10,000; Kafka has no such setting). A new group's first write
    /// (its first member joining, or offsets reset or committed for it) fails with ResourceLimitReached and writes nothing.
    /// </summary>
    /// <remarks>
    /// The group registry is one grain whose state lists every group id (up to 249 characters each) and is rewritten
    /// when a group appears or goes: 10,000 ids of 40 characters are about 0.5 MB per write. Tuning rule: raise it only
    /// with that write size in mind; offsets retention deletes abandoned groups.
    /// </remarks>
    public int MaxGroups { get; set; } = DefaultMaxGroups;
}
