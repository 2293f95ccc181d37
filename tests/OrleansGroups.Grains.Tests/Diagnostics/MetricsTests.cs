using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using OrleansGroups.Client;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;
using OrleansGroups.Diagnostics;
using OrleansGroups.Storage;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests.Diagnostics;

/// <summary>
/// The "OrleansGroups" meter as a host sees it, through a <see cref="MeterListener"/>, on the shared memory cluster
/// (its silo runs in this process). The meter is process-wide, so every assertion filters on a topic or group that only
/// its test uses. Groups publish lag every 100 ms here (Groups.MetricsInterval).
/// </summary>
[Collection(MemoryClusterCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class MetricsTests(MemoryClusterFixture fixture) : ClusterTestBase(fixture), IDisposable
{
    private readonly Recorder _recorder = new();

    public void Dispose() => _recorder.Dispose();

    [Fact]
    public async Task ProducingRecords_RaisesAppendedRecordsAndBytes_ForTheTopic()
    {
        var topic = NewName("m-app");
        await Admin.CreateTopicAsync(topic, 2);
        const int Records = 37;

        var delivered = await Fixture.Groups.CreateProducer().ProduceBatchAsync(topic,
            Enumerable.Range(0, Records).Select(i => Message.FromStrings($"k{i}", $"value-{i}")).ToList());

        Assert.Equal(Records, delivered.Count);
        Assert.Equal(Records, _recorder.Sum("orleansgroups.log.appended.records", (OrleansGroupsMetrics.Topic, topic)));
        Assert.True(_recorder.Sum("orleansgroups.log.appended.bytes", (OrleansGroupsMetrics.Topic, topic)) > Records * "value-0".Length);
        // One histogram point per storage append; together they carry every record.
        Assert.Equal(Records, _recorder.Sum("orleansgroups.log.append.records", (OrleansGroupsMetrics.Topic, topic)));
        Assert.InRange(_recorder.Count("orleansgroups.log.append.duration", (OrleansGroupsMetrics.Topic, topic)), 1, Records);
    }

    [Fact]
    public async Task LagGauge_ReportsEndMinusCommitted_WhileAMemberIsLive_AndAfterItLeft()
    {
        var topic = NewName("m-lag");
        var group = NewName("g");
        await Admin.CreateTopicAsync(topic, 2);
        var producer = Fixture.Groups.CreateProducer();
        await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 10).Select(i => Message.FromStrings(null, $"a{i}")).ToList(), 0);
        await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 4).Select(i => Message.FromStrings(null, $"b{i}")).ToList(), 1);
        var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group) with { EnableAutoCommit = false });
        consumer.Subscribe(topic);
        await Wait.UntilAsync(() => consumer.Assignment.Count == 2, Deadline, "the member owns both partitions");

        // 1. Live member commits 3 of partition 0's 10 records and all 4 of partition 1's.
        await consumer.CommitAsync([new TopicPartitionOffset(new TopicPartition(topic, 0), 3), new TopicPartitionOffset(new TopicPartition(topic, 1), 4)]);

        await WaitForLagAsync(group, topic, 0, 7);
        await WaitForLagAsync(group, topic, 1, 0);
        await Wait.UntilAsync(() => _recorder.Gauge("orleansgroups.consumer_group.members", ("group", group)) == 1, Deadline, "one member");

        // 2. The member leaves: the group has no live member, its lag is still reported, and follows new records.
        await consumer.CloseAsync();
        await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 5).Select(i => Message.FromStrings(null, $"c{i}")).ToList(), 1);

        await WaitForLagAsync(group, topic, 1, 5);
        await Wait.UntilAsync(() => _recorder.Gauge("orleansgroups.consumer_group.members", ("group", group)) == 0, Deadline, "no member");
        Assert.Equal(7, _recorder.Gauge("orleansgroups.consumer_group.lag", ("group", group), ("topic", topic), ("partition", "0")));
    }

    [Fact]
    public async Task LagGauge_ReportsAGroupThatNeverHadAMember()
    {
        var topic = NewName("m-idle");
        var group = NewName("g");
        await Admin.CreateTopicAsync(topic, 1);
        await Fixture.Groups.CreateProducer().ProduceBatchAsync(topic, Enumerable.Range(0, 12).Select(i => Message.FromStrings(null, $"v{i}")).ToList(), 0);

        // Offsets set by an admin, as for a group that is about to be (re)started: nobody consumes, lag is 12 - 2.
        await Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToOffset(2), dryRun: false);

        await WaitForLagAsync(group, topic, 0, 10);
        Assert.Equal(10, _recorder.Gauge("orleansgroups.consumer_group.lag",
            (OrleansGroupsMetrics.Group, group), (OrleansGroupsMetrics.Topic, topic), (OrleansGroupsMetrics.Partition, "0")));
    }

    [Fact]
    public async Task AMemberJoiningAStableGroup_CountsARebalance_AndARevocation()
    {
        var topic = NewName("m-reb");
        var group = NewName("g");
        await Admin.CreateTopicAsync(topic, 4);
        var first = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
        Consumers.Add(first);
        first.Subscribe(topic);
        await Wait.UntilAsync(() => first.Assignment.Count == 4, Deadline, "the first member owns all four partitions");
        // The first member got everything in its first heartbeat: nothing to reconcile, so no rebalance yet.
        Assert.Equal(0, _recorder.Sum("orleansgroups.consumer_group.rebalances", (OrleansGroupsMetrics.Group, group)));

        var second = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
        Consumers.Add(second);
        second.Subscribe(topic);
        await Wait.UntilAsync(() => first.Assignment.Count == 2 && second.Assignment.Count == 2, Deadline, "two partitions each");

        await Wait.UntilAsync(() => _recorder.Count("orleansgroups.consumer_group.rebalance.duration", (OrleansGroupsMetrics.Group, group)) == 1,
            Deadline, "the join's rebalance ended");
        Assert.Equal(1, _recorder.Sum("orleansgroups.consumer_group.rebalances", (OrleansGroupsMetrics.Group, group)));
        Assert.Equal(2, _recorder.Sum("orleansgroups.consumer_group.revocations", (OrleansGroupsMetrics.Group, group)));
    }

    [Fact]
    public async Task FailedStorageCalls_AreCountedByOperationAndKind()
    {
        var store = new MeteredLogStore(new FailingStore(new TimeoutException("slow")));

        await Assert.ThrowsAsync<TimeoutException>(() => store.AppendAsync("metrics-failing/00000", 0, new byte[1], 0));

        Assert.Equal(1, _recorder.Sum("orleansgroups.storage.failures",
            (OrleansGroupsMetrics.StorageOperation, "log.append"), (OrleansGroupsMetrics.ErrorType, "timeout")));
    }

    private Task WaitForLagAsync(string group, string topic, int partition, long lag) => Wait.UntilAsync(
        () => _recorder.Gauge("orleansgroups.consumer_group.lag", ("group", group), ("topic", topic), ("partition", partition.ToString())) == lag,
        Deadline, $"lag {lag} of {group} on {topic}/{partition}");

    /// <summary>Collects the OrleansGroups meter's measurements; gauges are read on demand.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _points = new();
        private readonly object _gaugeLock = new();
        private List<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _gauges = [];

        public Recorder()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == OrleansGroupsMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            _listener.Start();
        }

        private List<(string, double, KeyValuePair<string, object?>[])>? _collecting;

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var point = (instrument.Name, value, tags.ToArray());
            if (instrument.IsObservable)
            {
                _collecting?.Add(point);
            }
            else
            {
                _points.Enqueue(point);
            }
        }

        public double Sum(string instrument, params (string Key, string Value)[] tags) =>
            _points.Where(p => p.Instrument == instrument && Matches(p.Tags, tags)).Sum(p => p.Value);

        public int Count(string instrument, params (string Key, string Value)[] tags) =>
            _points.Count(p => p.Instrument == instrument && Matches(p.Tags, tags));

        /// <summary>The gauge's current value for the series with these tags, or null when it reports none.</summary>
        public double? Gauge(string instrument, params (string Key, string Value)[] tags)
        {
            lock (_gaugeLock)
            {
                _collecting = [];
                _listener.RecordObservableInstruments();
                _gauges = _collecting;
                _collecting = null;
                var matches = _gauges.Where(p => p.Instrument == instrument && Matches(p.Tags, tags)).ToList();
                return matches.Count == 1 ? matches[0].Value : null;
            }
        }

        private static bool Matches(KeyValuePair<string, object?>[] actual, (string Key, string Value)[] expected) =>
            expected.All(e => actual.Any(a => a.Key == e.Key && Equals(a.Value?.ToString(), e.Value)));

        public void Dispose() => _listener.Dispose();
    }

    private sealed class FailingStore(Exception error) : ILogStore
    {
        public Task<long> ClaimWriterAsync(string partitionPath, CancellationToken cancellationToken = default) => Task.FromException<long>(error);
        public Task<long> ReadWriterEpochAsync(string partitionPath, CancellationToken cancellationToken = default) => Task.FromException<long>(error);
        public Task<IReadOnlyList<LogSegmentInfo>> ListSegmentsAsync(string partitionPath, CancellationToken cancellationToken = default) => Task.FromException<IReadOnlyList<LogSegmentInfo>>(error);
        public Task CreateSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default) => Task.FromException(error);
        public Task<long> SealSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default) => Task.FromException<long>(error);
        public Task AppendAsync(string partitionPath, long baseOffset, ReadOnlyMemory<byte> data, long expectedLength, CancellationToken cancellationToken = default) => Task.FromException(error);
        public Task<byte[]> ReadAsync(string partitionPath, long baseOffset, long position, int length, CancellationToken cancellationToken = default) => Task.FromException<byte[]>(error);
        public Task DeleteSegmentAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default) => Task.FromException(error);
        public Task WriteIndexAsync(string partitionPath, long baseOffset, byte[] index, CancellationToken cancellationToken = default) => Task.FromException(error);
        public Task<byte[]?> ReadIndexAsync(string partitionPath, long baseOffset, CancellationToken cancellationToken = default) => Task.FromException<byte[]?>(error);
    }
}
