using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Time.Testing;
using OrleansGroups.Client;
using OrleansGroups.Client.Internal;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// The producer's buffer.memory and max.block, without a cluster: the partition is a fake whose appends are
/// acknowledged only when the test says so. Unless a test says otherwise the buffer holds 1,000 bytes, max.block is
/// 1 s on a fake clock, and every message counts 524 bytes (500 value bytes + 24), so one fits and a second waits.
/// </summary>
public sealed class ProducerBufferTests
{
    private const string Topic = "buffered";
    private const long MessageBytes = 524;
    private static readonly TimeSpan MaxBlock = TimeSpan.FromSeconds(1);
    private static readonly TopicPartition Partition = new(Topic, 0);

    private readonly HeldPartition _partition = new();
    private readonly FakeTimeProvider _time = new();

    private Producer NewProducer(long bufferMemory = 1_000, TimeSpan? maxBlock = null, TimeProvider? time = null)
    {
        var grains = FakeGrains.Create(new OneTopic(), _partition);
        var options = new ProducerOptions { BufferMemory = bufferMemory, MaxBlock = maxBlock ?? MaxBlock, EnableIdempotence = false };
        return new Producer(grains, options, new TopicMetadataCache(grains), time ?? _time);
    }

    private static Message Message(int valueBytes = 500) => new(null, new byte[valueBytes]);

    [Fact]
    public async Task CallThatDoesNotFit_WaitsMaxBlock_ThenFailsWithProducerBufferFull()
    {
        var producer = NewProducer();
        var first = producer.ProduceAsync(Partition, Message());
        await _partition.AppendsStarted(1);

        var second = producer.ProduceAsync(Partition, Message());
        _time.Advance(MaxBlock - TimeSpan.FromMilliseconds(1));
        Assert.False(second.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        var error = await Assert.ThrowsAsync<ProducerBufferFullException>(() => second);
        Assert.Equal((OrleansGroupsErrorCode.ProducerBufferFull, MessageBytes, MessageBytes, 1_000L, MaxBlock, true),
            (error.Code, error.RequestedBytes, error.BufferedBytes, error.BufferMemory, error.MaxBlock, error.IsRetriable));
        Assert.Equal(1, _partition.Appends);
        Assert.Equal(MessageBytes, producer.BufferedBytes);
        _partition.AcknowledgeAll();
        Assert.Equal(0, (await first).Offset);
        Assert.Equal(0, producer.BufferedBytes);
    }

    [Fact]
    public async Task WaitingCall_IsAdmittedWhenAnAcknowledgementFreesRoom()
    {
        var producer = NewProducer();
        var first = producer.ProduceAsync(Partition, Message());
        await _partition.AppendsStarted(1);
        var second = producer.ProduceAsync(Partition, Message());

        _partition.AcknowledgeAll();
        await first;
        await _partition.AppendsStarted(2);
        _partition.AcknowledgeAll();

        Assert.Equal(1, (await second).Offset);
        Assert.Equal(0, producer.BufferedBytes);
    }

    [Fact]
    public async Task CallsAreAdmittedInCallOrder_ASmallCallWaitsBehindAWaitingOne()
    {
        var producer = NewProducer();
        var first = producer.ProduceAsync(Partition, Message());
        await _partition.AppendsStarted(1);

        var big = producer.ProduceAsync(Partition, Message());
        var small = producer.ProduceAsync(Partition, Message(100)); // 124 bytes would fit, but waits its turn
        Assert.False(small.IsCompleted);
        Assert.Equal(1, _partition.Appends);

        _partition.AcknowledgeAll();
        await first;
        await _partition.AppendsStarted(2);
        _partition.AcknowledgeFromNowOn();
        await Task.WhenAll(big, small);

        Assert.True((await big).Offset < (await small).Offset);
    }

    [Fact]
    public async Task CallLargerThanTheWholeBuffer_IsAdmittedAloneOnceTheBufferIsEmpty()
    {
        var producer = NewProducer();
        var first = producer.ProduceAsync(Partition, Message());
        await _partition.AppendsStarted(1);

        var huge = producer.ProduceAsync(Partition, Message(5_000));
        Assert.False(huge.IsCompleted);
        _partition.AcknowledgeAll();
        await first;
        await _partition.AppendsStarted(2);
        Assert.Equal(5_024, producer.BufferedBytes);
        _partition.AcknowledgeAll();

        Assert.Equal(1, (await huge).Offset);
    }

    [Fact]
    public async Task CancelledWaitingCall_LeavesTheLineAndSendsNothing()
    {
        var producer = NewProducer();
        var first = producer.ProduceAsync(Partition, Message());
        await _partition.AppendsStarted(1);
        using var cancel = new CancellationTokenSource();

        var second = producer.ProduceAsync(Partition, Message(), cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        _partition.AcknowledgeAll();
        await first;
        Assert.Equal(1, _partition.Appends);
        Assert.Equal(0, producer.BufferedBytes);
    }

    /// <summary>Kafka's send() blocks while the buffer is full; so does Produce, then reports the failure on this thread.</summary>
    [Fact]
    public async Task Produce_BlocksItsCallerUpToMaxBlock_ThenReportsProducerBufferFull()
    {
        var maxBlock = TimeSpan.FromMilliseconds(300);
        var producer = NewProducer(maxBlock: maxBlock, time: TimeProvider.System);
        var first = producer.ProduceAsync(Partition, Message());
        await _partition.AppendsStarted(1);
        DeliveryReport? report = null;
        var caller = Environment.CurrentManagedThreadId;
        var reportedOn = -1;
        var clock = Stopwatch.StartNew();

        producer.Produce(Partition, Message(), r =>
        {
            report = r;
            reportedOn = Environment.CurrentManagedThreadId;
        });

        Assert.True(clock.Elapsed >= maxBlock - TimeSpan.FromMilliseconds(20), $"returned after {clock.Elapsed}");
        Assert.IsType<ProducerBufferFullException>(report?.Error);
        Assert.Equal(caller, reportedOn);
        Assert.Equal(1, _partition.Appends);
        _partition.AcknowledgeAll();
        await first;
    }

    [Theory]
    [InlineData(0L, 1_000)]
    [InlineData(1_000L, -1)]
    [InlineData(1_000L, 4_294_967_295)] // beyond what a timer can wait
    public void BufferMemoryAndMaxBlockOutOfRange_AreRefused(long bufferMemory, long maxBlockMs) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => NewProducer(bufferMemory, TimeSpan.FromMilliseconds(maxBlockMs)));

    /// <summary>A partition whose appends wait for <see cref="AcknowledgeAll"/>; offsets count records.</summary>
    private sealed class HeldPartition : IPartitionGrain
    {
        private readonly ConcurrentQueue<(int Records, TaskCompletionSource<AppendResult> Ack)> _held = new();
        private long _next;
        private int _appends;

        public int Appends => Volatile.Read(ref _appends);

        public Task<AppendResult> Append(byte[] batch)
        {
            var ack = new TaskCompletionSource<AppendResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var records = Core.Log.RecordBatch.Decode(batch).Count();
            _held.Enqueue((records, ack));
            Interlocked.Increment(ref _appends);
            if (_auto)
            {
                AcknowledgeAll();
            }
            return ack.Task;
        }

        public async Task AppendsStarted(int count)
        {
            var deadline = Stopwatch.StartNew();
            while (Appends < count)
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), $"{Appends} appends, waiting for {count}");
                await Task.Delay(5);
            }
        }

        private volatile bool _auto;

        public void AcknowledgeAll()
        {
            lock (_held)
            {
                while (_held.TryDequeue(out var held))
                {
                    held.Ack.SetResult(new AppendResult(_next, held.Records, 0));
                    _next += held.Records;
                }
            }
        }

        /// <summary>Acknowledges what is held and every later append at once.</summary>
        public void AcknowledgeFromNowOn()
        {
            _auto = true;
            AcknowledgeAll();
        }

        public Task<FetchResult> Fetch(long offset, int maxBytes, int maxWaitMs) => throw new NotSupportedException();
        public Task<PartitionWatermarks> GetWatermarks() => throw new NotSupportedException();
        public Task<long> GetOffsetForTimestamp(long timestampMs) => throw new NotSupportedException();
        public Task<PartitionStats> GetStats() => throw new NotSupportedException();
        public Task<int> ApplyRetention() => throw new NotSupportedException();
        public Task DeleteLog(long incarnation) => throw new NotSupportedException();
    }

    /// <summary>A registry that knows one topic with one partition.</summary>
    private sealed class OneTopic : ITopicRegistryGrain
    {
        public Task<TopicDescription?> GetTopic(string name) =>
            Task.FromResult<TopicDescription?>(new TopicDescription(Topic, 1, TopicConfig.Default, DateTimeOffset.UnixEpoch));

        public Task<TopicDescription> CreateTopic(string name, int partitionCount, TopicConfig? config) => throw new NotSupportedException();
        public Task<TopicDescription> CreatePartitions(string name, int totalPartitions) => throw new NotSupportedException();
        public Task DeleteTopic(string name) => throw new NotSupportedException();
        public Task<IReadOnlyList<TopicDescription>> ListTopics() => throw new NotSupportedException();
        public Task<IReadOnlyDictionary<string, int>> GetPartitionCounts(IReadOnlyCollection<string> topics) => throw new NotSupportedException();
    }

    /// <summary>An <see cref="IGrainFactory"/> that hands out the given fakes by interface.</summary>
    private class FakeGrains : DispatchProxy
    {
        private object[] _grains = [];

        public static IGrainFactory Create(params object[] grains)
        {
            var factory = Create<IGrainFactory, FakeGrains>();
            ((FakeGrains)(object)factory)._grains = grains;
            return factory;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod?.Name == nameof(IGrainFactory.GetGrain)
                ? _grains.FirstOrDefault(targetMethod.ReturnType.IsInstanceOfType) ?? throw new NotSupportedException(targetMethod.ReturnType.Name)
                : throw new NotSupportedException(targetMethod?.Name);
    }
}
