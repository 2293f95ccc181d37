using System.Diagnostics;
using System.Diagnostics.Metrics;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Diagnostics;

/// <summary>
/// The library's instruments, on one <see cref="Meter"/> named <see cref="MeterName"/>, each created once. Names follow
/// the OpenTelemetry conventions (dotted, lower case, unit in <c>unit</c>); attributes use the messaging semantic
/// conventions where one exists (<c>messaging.destination.name</c>, <c>messaging.destination.partition.id</c>,
/// <c>messaging.consumer.group.name</c>, <c>error.type</c>). A host subscribes with
/// <c>meterProviderBuilder.AddMeter(OrleansGroupsMetrics.MeterName)</c>; the Prometheus names are in the README.
/// </summary>
/// <remarks>
/// Recording is a no-op costing a branch while nothing listens. Callers record from grain turns; the observable gauges
/// read <see cref="GroupMetricsRegistry"/> snapshots and never call a grain.
/// </remarks>
public static class OrleansGroupsMetrics
{
    /// <summary>The meter's name: what a host passes to <c>AddMeter</c>.</summary>
    public const string MeterName = "OrleansGroups";

    /// <summary>Semantic-convention attribute: the topic.</summary>
    public const string Topic = "messaging.destination.name";

    /// <summary>Semantic-convention attribute: the partition, as a string.</summary>
    public const string Partition = "messaging.destination.partition.id";

    /// <summary>Semantic-convention attribute: the consumer group.</summary>
    public const string Group = "messaging.consumer.group.name";

    /// <summary>Semantic-convention attribute: the kind of a failure.</summary>
    public const string ErrorType = "error.type";

    /// <summary>Which storage operation failed (<c>log.append</c>, <c>log.read</c>, <c>group.write</c>, ...).</summary>
    public const string StorageOperation = "orleansgroups.storage.operation";

    private static readonly Meter Meter = new(MeterName, typeof(OrleansGroupsMetrics).Assembly.GetName().Version?.ToString());

    /// <summary>Bucket boundaries for latencies in seconds: 0.5 ms to 10 s (storage appends take ~2 ms on Azurite, 5-50 ms on Azure).</summary>
    private static readonly double[] LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Bucket boundaries for records per storage append: group commit makes these grow with load.</summary>
    private static readonly long[] RecordCountBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];

    private static readonly Counter<long> AppendedRecords = Meter.CreateCounter<long>(
        "orleansgroups.log.appended.records", "{record}", "Records appended to partition logs (acknowledged to producers).");

    private static readonly Counter<long> AppendedBytes = Meter.CreateCounter<long>(
        "orleansgroups.log.appended.bytes", "By", "Bytes of record batches appended to partition logs.");

    private static readonly Histogram<double> AppendDuration = Meter.CreateHistogram(
        "orleansgroups.log.append.duration", "s", "Duration of one storage append (one group commit, many produce calls).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    private static readonly Histogram<long> AppendRecords = Meter.CreateHistogram(
        "orleansgroups.log.append.records", "{record}", "Records carried by one storage append (group commit size).",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = RecordCountBuckets });

    private static readonly Histogram<double> FetchDuration = Meter.CreateHistogram(
        "orleansgroups.log.fetch.duration", "s", "Time a partition takes to serve a fetch, after any long-poll wait (cache or storage reads).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });

    private static readonly Counter<long> Rebalances = Meter.CreateCounter<long>(
        "orleansgroups.consumer_group.rebalances", "{rebalance}", "Rebalances started: a stable or empty group began reconciling to a new target assignment.");

    private static readonly Histogram<double> RebalanceDuration = Meter.CreateHistogram(
        "orleansgroups.consumer_group.rebalance.duration", "s", "Time from a rebalance's start until every member reached its target (or the group emptied).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] });

    private static readonly Counter<long> Revocations = Meter.CreateCounter<long>(
        "orleansgroups.consumer_group.revocations", "{partition}", "Partitions a group asked a member to give up (revoked, pending the member's release).");

    private static readonly Counter<long> StorageFailures = Meter.CreateCounter<long>(
        "orleansgroups.storage.failures", "{failure}", "Failed storage calls, by operation and kind (error.type).");

    static OrleansGroupsMetrics()
    {
        Meter.CreateObservableGauge("orleansgroups.consumer_group.lag", GroupMetricsRegistry.ObserveLag, "{record}",
            "Per group and partition: the partition's end offset minus the group's committed offset, as last published by the group (every Groups.MetricsInterval).");
        Meter.CreateObservableGauge("orleansgroups.consumer_group.members", GroupMetricsRegistry.ObserveMembers, "{member}",
            "Members of each consumer group (active groups, including empty ones with committed offsets).");
    }

    /// <summary>Forces the instruments into existence (the gauges live as long as the meter).</summary>
    internal static void EnsureCreated()
    {
    }

    /// <summary>A storage append of <paramref name="records"/> records and <paramref name="bytes"/> bytes succeeded; it started at <paramref name="startedTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    internal static void Appended(TopicPartition partition, long records, long bytes, long startedTimestamp)
    {
        var elapsed = Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds;
        var topic = new KeyValuePair<string, object?>(Topic, partition.Topic);
        AppendedRecords.Add(records, topic);
        AppendedBytes.Add(bytes, topic);
        AppendDuration.Record(elapsed, topic);
        AppendRecords.Record(records, topic);
    }

    /// <summary>A fetch from <paramref name="partition"/> was served; its reads started at <paramref name="startedTimestamp"/>.</summary>
    internal static void Fetched(TopicPartition partition, long startedTimestamp) =>
        FetchDuration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, new KeyValuePair<string, object?>(Topic, partition.Topic));

    /// <summary>A group started reconciling to a new target.</summary>
    internal static void RebalanceStarted(string groupId) => Rebalances.Add(1, new KeyValuePair<string, object?>(Group, groupId));

    /// <summary>A group's rebalance ended after <paramref name="duration"/>.</summary>
    internal static void RebalanceEnded(string groupId, TimeSpan duration) =>
        RebalanceDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>(Group, groupId));

    /// <summary>A group revoked <paramref name="partitions"/> partitions from its members.</summary>
    internal static void Revoked(string groupId, int partitions) => Revocations.Add(partitions, new KeyValuePair<string, object?>(Group, groupId));

    /// <summary>A storage call of <paramref name="operation"/> failed with <paramref name="error"/>.</summary>
    internal static void StorageFailed(string operation, Exception error) => StorageFailures.Add(1,
        new KeyValuePair<string, object?>(StorageOperation, operation), new KeyValuePair<string, object?>(ErrorType, StorageFailureKind.Of(error)));
}
