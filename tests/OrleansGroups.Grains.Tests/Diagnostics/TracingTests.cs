using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using OrleansGroups.Client;
using OrleansGroups.Client.Diagnostics;
using OrleansGroups.Core.Log;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests.Diagnostics;

/// <summary>
/// Traces across the log on the shared memory cluster (its silo runs in this process, so one
/// <see cref="ActivityListener"/> sees the producer's, the consumer's and the grain members' spans). The activity source
/// is process-wide, so each recorder samples only the spans of its test's topic (span names end with the topic): tests of
/// other collections running meanwhile get no span and no trace header.
/// </summary>
[Collection(MemoryClusterCollection.Name)]
[Trait("Category", "Cluster")]
public sealed class TracingTests(MemoryClusterFixture fixture) : ClusterTestBase(fixture)
{
    private static readonly ActivitySource Test = new("OrleansGroups.Grains.Tests.Tracing");

    [Fact]
    public async Task ProduceInsideAParent_SendSpanContextArrivesInTheRecord_AndReceiveAndProcessLinkToIt()
    {
        var topic = NewName("tr");
        using var spans = new SpanRecorder(topic);
        var group = NewName("g");
        await Admin.CreateTopicAsync(topic, 2);

        DeliveryResult delivered;
        ActivityContext parent;
        using (var request = Test.StartActivity("request"))
        {
            parent = request!.Context;
            delivered = await Fixture.Groups.CreateProducer().ProduceAsync(topic, Message.FromStrings("k1", "v1"));
        }

        var send = Assert.Single(spans.Named($"send {topic}"));
        Assert.Equal(ActivityKind.Producer, send.Kind);
        Assert.Equal(parent.TraceId, send.TraceId);
        Assert.Equal(parent.SpanId, send.ParentSpanId);
        AssertTags(send, ("messaging.system", "orleansgroups"), ("messaging.destination.name", topic),
            ("messaging.destination.partition.id", delivered.Partition.ToString()), ("messaging.kafka.offset", delivered.Offset),
            ("messaging.kafka.message.key", "k1"), ("messaging.operation.type", "send"));

        // The consumer polls outside any activity: its receive span links to the send span, and the process span of
        // the single record continues the send span's trace.
        var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
        Consumers.Add(consumer);
        consumer.Subscribe(topic);
        ConsumeResult record;
        using (var timeout = new CancellationTokenSource(Deadline))
        {
            await using var records = consumer.ConsumeAllAsync(timeout.Token).GetAsyncEnumerator();
            Assert.True(await records.MoveNextAsync());
            record = records.Current;
        }

        Assert.Equal($"00-{send.TraceId.ToHexString()}-{send.SpanId.ToHexString()}-01", Header(record, OrleansGroupsTracing.TraceParentHeader));
        var receive = Assert.Single(spans.Named($"receive {topic}"), s => Tag(s, "messaging.consumer.group.name") == group);
        Assert.Equal(ActivityKind.Consumer, receive.Kind);
        Assert.Contains(receive.Links, l => l.Context.SpanId == send.SpanId && l.Context.TraceId == send.TraceId);
        AssertTags(receive, ("messaging.system", "orleansgroups"), ("messaging.destination.name", topic),
            ("messaging.destination.partition.id", delivered.Partition.ToString()), ("messaging.kafka.offset", delivered.Offset),
            ("messaging.operation.type", "receive"));
        var process = Assert.Single(spans.Named($"process {topic}"), s => Tag(s, "messaging.consumer.group.name") == group);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(send.TraceId, process.TraceId);
        Assert.Equal(send.SpanId, process.ParentSpanId);
        Assert.Contains(process.Links, l => l.Context.SpanId == send.SpanId);
    }

    [Fact]
    public async Task BatchToAGrainMember_OneSendSpanCountsTheBatch_AndTheMembersProcessSpanLinksEveryRecord()
    {
        var topic = NewName("trm");
        using var spans = new SpanRecorder(topic);
        var group = NewName("g");
        await Admin.CreateTopicAsync(topic, 1);
        await Fixture.Groups.CreateProducer().ProduceBatchAsync(topic, [.. Enumerable.Range(0, 3).Select(i => Message.FromStrings(null, $"v{i}"))], 0);
        var send = Assert.Single(spans.Named($"send {topic}"));
        AssertTags(send, ("messaging.batch.message_count", 3), ("messaging.destination.partition.id", "0"));

        var member = Fixture.Cluster.Client.GetGrain<IRecordingMemberGrain>(NewName("m"));
        await member.Join(group, topic);
        await Wait.UntilAsync(() => RecordingMemberGrain.Deliveries.TryGetValue(group, out var log) && log.Count == 3, Deadline, "the member handled all three");
        await member.Leave(group);

        var processes = spans.Named($"process {topic}").Where(s => Tag(s, "messaging.consumer.group.name") == group).ToList();
        Assert.NotEmpty(processes);
        Assert.All(processes, p =>
        {
            Assert.Equal(ActivityKind.Consumer, p.Kind);
            Assert.Equal("orleansgroups", Tag(p, "messaging.system"));
            Assert.Equal("0", Tag(p, "messaging.destination.partition.id"));
            Assert.All(p.Links, l => Assert.Equal(send.SpanId, l.Context.SpanId));
        });
        // Every record's creation context is a link of the process span that handled it.
        Assert.Equal(3, processes.Sum(p => p.Links.Count()));
        Assert.Equal(3, processes.Sum(p => p.GetTagItem("messaging.batch.message_count") is int n ? n : 1));
    }

    [Fact]
    public async Task ARecordThatCarriesATraceparent_KeepsIt()
    {
        var topic = NewName("trk");
        using var spans = new SpanRecorder(topic);
        await Admin.CreateTopicAsync(topic, 1);
        const string Own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

        await Fixture.Groups.CreateProducer().ProduceAsync(topic,
            Message.FromStrings(null, "v") with { Headers = [new RecordHeader("traceparent", Encoding.ASCII.GetBytes(Own))] });

        var record = await ConsumeOneAsync(topic);
        Assert.Equal(Own, Header(record, OrleansGroupsTracing.TraceParentHeader));
        Assert.Single(record.Headers);
        Assert.Single(spans.Named($"send {topic}"));
    }

    [Fact]
    public async Task WithNoListener_NoSpanAndNoHeader_EvenInsideACurrentActivity()
    {
        var topic = NewName("trn");
        await Admin.CreateTopicAsync(topic, 1);
        Assert.False(OrleansGroupsTracing.Source.HasListeners());

        using (new Activity("request").Start())
        {
            await Fixture.Groups.CreateProducer().ProduceAsync(topic, Message.FromStrings("k", "v"));
            var done = new TaskCompletionSource<DeliveryReport>();
            Fixture.Groups.CreateProducer().Produce(topic, Message.FromStrings("k", "w"), done.SetResult);
            Assert.True((await done.Task).IsDelivered);
        }

        var first = await ConsumeOneAsync(topic);
        Assert.Empty(first.Headers);
    }

    private async Task<ConsumeResult> ConsumeOneAsync(string topic)
    {
        var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(NewName("g")));
        Consumers.Add(consumer);
        consumer.Subscribe(topic);
        using var timeout = new CancellationTokenSource(Deadline);
        return await consumer.ConsumeAsync(Deadline, timeout.Token) ?? throw new TimeoutException($"nothing consumed from {topic}");
    }

    private static string? Header(ConsumeResult record, string key) =>
        record.Headers.LastOrDefault(h => h.Key == key) is { Value: { } value } ? Encoding.ASCII.GetString(value) : null;

    private static string? Tag(Activity activity, string key) => activity.GetTagItem(key)?.ToString();

    private static void AssertTags(Activity activity, params (string Key, object Value)[] expected)
    {
        foreach (var (key, value) in expected)
        {
            Assert.True(Equals(value, activity.GetTagItem(key)), $"{activity.OperationName}: {key} is {activity.GetTagItem(key) ?? "unset"}, expected {value}");
        }
    }

    /// <summary>Listens to the library's source (and this test's), samples the spans of one topic, and keeps them once stopped.</summary>
    private sealed class SpanRecorder : IDisposable
    {
        private readonly ConcurrentQueue<Activity> _stopped = new();
        private readonly ActivityListener _listener;

        public SpanRecorder(string topic)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == OrleansGroupsTracing.SourceName || source == Test,
                Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                    options.Source == Test || options.Name.EndsWith($" {topic}", StringComparison.Ordinal)
                        ? ActivitySamplingResult.AllDataAndRecorded
                        : ActivitySamplingResult.None,
                ActivityStopped = _stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public IReadOnlyList<Activity> Named(string name) => [.. _stopped.Where(a => a.OperationName == name)];

        public void Dispose() => _listener.Dispose();
    }
}
