using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using OrleansGroups;
using OrleansGroups.Diagnostics;
using OrleansGroups.Hosting;
using OrleansGroups.Storage;

namespace Orleans.Hosting;

/// <summary>Adds OrleansGroups (topics, partitions, consumer groups) to a silo.</summary>
public static class OrleansGroupsSiloBuilderExtensions
{
    /// <summary>
    /// Registers the OrleansGroups grains' storage and services. Storage defaults to Azure (durable);
    /// set <see cref="OrleansGroupsOptions.Storage"/> to Memory for development. Throws
    /// <see cref="OptionsValidationException"/> listing every invalid setting.
    /// </summary>
    public static ISiloBuilder AddOrleansGroups(this ISiloBuilder builder, Action<OrleansGroupsOptions>? configure = null)
    {
        var options = new OrleansGroupsOptions();
        configure?.Invoke(options);
        var validation = new OrleansGroupsOptionsValidator().Validate(null, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(OrleansGroupsOptions), typeof(OrleansGroupsOptions), validation.Failures);
        }

        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new OrleansGroups.Partitions.TailCacheBudget(options.Log.TailCacheBudgetBytes));
        switch (options.Storage)
        {
            case StorageKind.Memory:
                builder.AddMemoryGrainStorage(StorageNames.State);
                builder.Services.AddSingleton<ILogStore>(_ => new MeteredLogStore(new MemoryLogStore()));
                break;
            case StorageKind.Azure:
                var blobs = CreateBlobServiceClient(options.Azure);
                // Blob grain storage names blobs after the grain only, so the service id goes into the container
                // name: two services sharing an account never see each other's topics, groups or offsets.
                builder.AddAzureBlobGrainStorage(StorageNames.State, optionsBuilder => optionsBuilder.Configure<IOptions<ClusterOptions>>((o, cluster) =>
                {
                    o.BlobServiceClient = blobs;
                    o.ContainerName = StorageNames.ContainerName(options.Azure.StateContainer, cluster.Value.ServiceId);
                }));
                builder.Services.AddSingleton<ILogStore>(sp => new MeteredLogStore(new AzureAppendBlobLogStore(
                    blobs.GetBlobContainerClient(StorageNames.ContainerName(
                        options.Azure.LogContainer, sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId)),
                    prefix: "")));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(configure), options.Storage, "Unknown storage kind.");
        }
        AddNotificationStreams(builder, options);
        AddGroupMetrics(builder, options);
        if (options.AddReminderService)
        {
            AddReminderService(builder, options);
        }
        // Stored state must not depend on assembly names (the Newtonsoft default writes $type with them).
        builder.UseSystemTextJsonGrainStorageSerializer();
        return builder;
    }

    /// <summary>
    /// The stream provider that carries partitions' "appended" notifications to consumer sessions. Subscriptions are
    /// rebuilt by the sessions, so the pub-sub store is memory in every mode: losing it only delays, as a lost
    /// notification does.
    /// </summary>
    private static void AddNotificationStreams(ISiloBuilder builder, OrleansGroupsOptions options)
    {
        builder.AddMemoryGrainStorage("PubSubStore");
        var consumers = options.Consumers;
        switch (consumers.Streams)
        {
            case NotificationStreams.Memory:
                builder.AddMemoryStreams(PartitionNotifications.ProviderName, streams =>
                {
                    streams.ConfigurePartitioning(4);
                    streams.ConfigurePullingAgent(agent => agent.Configure(o => o.GetQueueMsgsTimerPeriod = consumers.StreamPollPeriod));
                });
                break;
            case NotificationStreams.AzureQueue:
                var queues = CreateQueueServiceClient(options.Azure);
                builder.AddAzureQueueStreams(PartitionNotifications.ProviderName, streams =>
                {
                    streams.ConfigureAzureQueue(queue => queue.Configure<IOptions<ClusterOptions>>((o, cluster) =>
                    {
                        o.QueueServiceClient = queues;
                        // Named after the service, as the containers are: services sharing an account stay apart.
                        o.QueueNames = [.. Enumerable.Range(0, 4).Select(i => StorageNames.ContainerName($"og-appended-{i}", cluster.Value.ServiceId))];
                    }));
                    streams.ConfigurePullingAgent(agent => agent.Configure(o => o.GetQueueMsgsTimerPeriod = consumers.StreamPollPeriod));
                });
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), consumers.Streams, "Unknown notification streams.");
        }
    }

    /// <summary>
    /// The silo's board of group lag and members (read by the observable gauges), and the start-up sweep that activates
    /// every registered group so groups without live members are reported too.
    /// </summary>
    private static void AddGroupMetrics(ISiloBuilder builder, OrleansGroupsOptions options)
    {
        builder.Services.AddSingleton<GroupMetricsRegistry>();
        if (options.Groups.MetricsInterval > TimeSpan.Zero)
        {
            builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, GroupMetricsStartup>();
        }
    }

    /// <summary>Grain members' memberships keep themselves joined with a reminder: durable in Azure mode when a table endpoint is known.</summary>
    private static void AddReminderService(ISiloBuilder builder, OrleansGroupsOptions options)
    {
        var azure = options.Azure;
        if (options.Storage == StorageKind.Azure && (!string.IsNullOrWhiteSpace(azure.ConnectionString) || azure.TableServiceUri is not null))
        {
            var tables = !string.IsNullOrWhiteSpace(azure.ConnectionString)
                ? new TableServiceClient(azure.ConnectionString)
                : new TableServiceClient(azure.TableServiceUri, new DefaultAzureCredential());
            builder.UseAzureTableReminderService(o => o.TableServiceClient = tables);
        }
        else
        {
            builder.UseInMemoryReminderService();
        }
    }

    private static QueueServiceClient CreateQueueServiceClient(AzureStorageSettings settings)
    {
        var clientOptions = new QueueClientOptions();
        clientOptions.Retry.MaxRetries = settings.MaxRetries;
        clientOptions.Retry.NetworkTimeout = settings.RequestTimeout;
        return !string.IsNullOrWhiteSpace(settings.ConnectionString)
            ? new QueueServiceClient(settings.ConnectionString, clientOptions)
            : new QueueServiceClient(settings.QueueServiceUri ?? throw new InvalidOperationException("Set a connection string or a queue service URI."),
                new DefaultAzureCredential(), clientOptions);
    }

    /// <summary>A blob client from a connection string, or from a service URI with <see cref="DefaultAzureCredential"/>.</summary>
    public static BlobServiceClient CreateBlobServiceClient(AzureStorageSettings settings)
    {
        // Bounded retries: a storage call must give up (and the grain answer StorageUnavailable, nothing changed)
        // well before a client's response timeout, or the caller sees a timeout with an unknown outcome.
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.MaxRetries = settings.MaxRetries;
        clientOptions.Retry.Delay = TimeSpan.FromMilliseconds(200);
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        clientOptions.Retry.NetworkTimeout = settings.RequestTimeout;
        return !string.IsNullOrWhiteSpace(settings.ConnectionString)
            ? new BlobServiceClient(settings.ConnectionString, clientOptions)
            : new BlobServiceClient(settings.BlobServiceUri ?? throw new InvalidOperationException("Set a connection string or a blob service URI."),
                new DefaultAzureCredential(), clientOptions);
    }
}
