using Microsoft.Extensions.Options;

namespace OrleansGroups.Hosting;

/// <summary>Checks <see cref="OrleansGroupsOptions"/> and reports every problem with how to fix it.</summary>
public sealed class OrleansGroupsOptionsValidator : IValidateOptions<OrleansGroupsOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, OrleansGroupsOptions options)
    {
        var failures = new List<string>();
        if (options.Storage == StorageKind.Azure &&
            string.IsNullOrWhiteSpace(options.Azure.ConnectionString) && options.Azure.BlobServiceUri is null)
        {
            failures.Add("Azure storage needs Azure.ConnectionString (Azurite: the development connection string) or Azure.BlobServiceUri (managed identity).");
        }
        var log = options.Log;
        if (log.MaxAppendBytes < 1 << 20)
        {
            failures.Add($"Log.MaxAppendBytes is {log.MaxAppendBytes}; use at least 1 MiB so a maximum-size batch fits in one append.");
        }
        if (log.SegmentMaxBytes < log.MaxAppendBytes)
        {
            failures.Add($"Log.SegmentMaxBytes ({log.SegmentMaxBytes}) must be at least Log.MaxAppendBytes ({log.MaxAppendBytes}).");
        }
        if (log.SegmentMaxBlocks is < 1 or > 50_000)
        {
            failures.Add($"Log.SegmentMaxBlocks is {log.SegmentMaxBlocks}; an append blob holds 1..50,000 blocks.");
        }
        if (log.TailCacheBudgetBytes < 0)
        {
            failures.Add($"Log.TailCacheBudgetBytes is {log.TailCacheBudgetBytes}; use 0 (no tail cache) or more.");
        }
        if (log.MaxQueuedAppendBytes < log.MaxAppendBytes)
        {
            failures.Add($"Log.MaxQueuedAppendBytes ({log.MaxQueuedAppendBytes}) must be at least Log.MaxAppendBytes ({log.MaxAppendBytes}), or the largest batch could never queue.");
        }
        if (log.FetchMaxBytes < 1)
        {
            failures.Add($"Log.FetchMaxBytes is {log.FetchMaxBytes}; it must be positive (Kafka's fetch.max.bytes default is 50 MiB).");
        }
        if (log.MaxFetchWait <= TimeSpan.Zero)
        {
            failures.Add($"Log.MaxFetchWait is {log.MaxFetchWait}; it must be positive and below the clients' response timeout.");
        }
        if (log.ProducerIdExpiration <= TimeSpan.Zero || log.MaxProducersPerPartition < 1)
        {
            failures.Add($"Log.ProducerIdExpiration ({log.ProducerIdExpiration}) and Log.MaxProducersPerPartition ({log.MaxProducersPerPartition}) must be positive (Kafka's producer.id.expiration.ms default is 1 day).");
        }
        var groups = options.Groups;
        var timing = groups.Coordinator;
        if (timing.HeartbeatIntervalMs <= 0 || timing.ReconcilingHeartbeatIntervalMs <= 0)
        {
            failures.Add("Groups.Coordinator heartbeat intervals must be positive.");
        }
        if (timing.DefaultSessionTimeoutMs < 3 * timing.HeartbeatIntervalMs)
        {
            failures.Add($"Groups.Coordinator.DefaultSessionTimeoutMs ({timing.DefaultSessionTimeoutMs}) should be at least 3 x HeartbeatIntervalMs ({timing.HeartbeatIntervalMs}) so two lost heartbeats do not evict a member.");
        }
        if (timing.MaxConfirmationStalenessMs <= timing.HeartbeatIntervalMs)
        {
            failures.Add($"Groups.Coordinator.MaxConfirmationStalenessMs ({timing.MaxConfirmationStalenessMs}) should exceed HeartbeatIntervalMs ({timing.HeartbeatIntervalMs}), or every heartbeat writes the group; the default is {Core.Coordination.GroupCoordinatorOptions.DefaultMaxConfirmationStaleness}.");
        }
        if (timing.MaxGroupSize < 1 || timing.MaxRebalanceTimeoutMs < timing.DefaultRebalanceTimeoutMs)
        {
            failures.Add($"Groups.Coordinator.MaxGroupSize ({timing.MaxGroupSize}) must be positive and MaxRebalanceTimeoutMs ({timing.MaxRebalanceTimeoutMs}) at least DefaultRebalanceTimeoutMs ({timing.DefaultRebalanceTimeoutMs}).");
        }
        if (timing.MinSessionTimeoutMs > timing.MaxSessionTimeoutMs)
        {
            failures.Add("Groups.Coordinator.MinSessionTimeoutMs must not exceed MaxSessionTimeoutMs.");
        }
        if (options.MaxTopics < 1 || groups.MaxGroups < 1)
        {
            failures.Add($"MaxTopics ({options.MaxTopics}) and Groups.MaxGroups ({groups.MaxGroups}) must be positive.");
        }
        if (groups.ExpiryCheckInterval <= TimeSpan.Zero)
        {
            failures.Add("Groups.ExpiryCheckInterval must be positive.");
        }
        if (groups.OffsetsRetention <= TimeSpan.Zero)
        {
            failures.Add($"Groups.OffsetsRetention is {groups.OffsetsRetention}; it must be positive (Kafka's default is 7 days).");
        }
        var consumers = options.Consumers;
        if (consumers.PrefetchMaxBytes < 1 || consumers.PrefetchMaxRecords < 1 || consumers.FetchMaxBytes < 1)
        {
            failures.Add("Consumers.PrefetchMaxBytes, Consumers.PrefetchMaxRecords and Consumers.FetchMaxBytes must be positive.");
        }
        if (consumers.FallbackFetchInterval <= TimeSpan.Zero || consumers.IdleTimeout <= consumers.FallbackFetchInterval)
        {
            failures.Add("Consumers.FallbackFetchInterval must be positive and shorter than Consumers.IdleTimeout.");
        }
        if (consumers.StreamPollPeriod <= TimeSpan.Zero)
        {
            failures.Add("Consumers.StreamPollPeriod must be positive.");
        }
        if (consumers.Streams == NotificationStreams.AzureQueue &&
            string.IsNullOrWhiteSpace(options.Azure.ConnectionString) && options.Azure.QueueServiceUri is null)
        {
            failures.Add("Consumers.Streams AzureQueue needs Azure.ConnectionString or Azure.QueueServiceUri.");
        }
        try
        {
            Core.Assignment.Assignors.Get(groups.Assignor);
        }
        catch (Exception e)
        {
            failures.Add($"Groups.Assignor: {e.Message}");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
