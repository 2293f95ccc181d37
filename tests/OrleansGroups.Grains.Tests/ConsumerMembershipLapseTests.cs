using System.Reflection;
using System.Text;
using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// A consumer whose heartbeat hangs (its call went to a silo that died) holds its prefetched records back once a session
/// timeout has passed since its last answered heartbeat: by then the group may have given its partitions to a member that
/// committed past them. Fake grains, no cluster: the group answers the join, then leaves the next heartbeat hanging
/// until the test decides how it ends.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ConsumerMembershipLapseTests
{
    private static readonly TopicPartition Partition = new("orders", 0);
    private static readonly TimeSpan Session = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task HeartbeatHangsLongerThanTheSession_RecordsAreHeldBack_UntilAHeartbeatAnswers()
    {
        await RunAsync(async (group, consumer) =>
        {
            consumer.Subscribe(Partition.Topic);
            var first = await consumer.ConsumeAsync(Deadline);
            Assert.Equal(0, first?.Offset);
            await group.SecondHeartbeatSent.WaitAsync(Deadline);
            var hangingSince = DateTimeOffset.UtcNow;
            await Wait.UntilAsync(() => DateTimeOffset.UtcNow - hangingSince > Session, Deadline, "a session passes without an answered heartbeat");

            var heldBack = await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(500));

            Assert.Null(heldBack);
            group.AnswerHangingHeartbeat(error: null);
            var resumed = await consumer.ConsumeAsync(Deadline);
            Assert.Equal(1, resumed?.Offset);
        });
    }

    [Fact]
    public async Task HeartbeatHangsLongerThanTheSession_ThenTheGroupForgotTheMember_HeldBackRecordsAreNeverHandedOut()
    {
        await RunAsync(async (group, consumer) =>
        {
            var lost = new TaskCompletionSource<IReadOnlyList<TopicPartition>>(TaskCreationOptions.RunContinuationsAsynchronously);
            consumer.PartitionsLost += partitions => lost.TrySetResult(partitions);
            consumer.Subscribe(Partition.Topic);
            Assert.Equal(0, (await consumer.ConsumeAsync(Deadline))?.Offset);
            await group.SecondHeartbeatSent.WaitAsync(Deadline);
            var hangingSince = DateTimeOffset.UtcNow;
            await Wait.UntilAsync(() => DateTimeOffset.UtcNow - hangingSince > Session, Deadline, "a session passes without an answered heartbeat");
            Assert.Null(await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(500)));

            group.AnswerHangingHeartbeat(new UnknownMemberException("billing", consumer.MemberId));

            Assert.Equal([Partition], await lost.Task.WaitAsync(Deadline));
            Assert.Null(await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(500)));
            Assert.Empty(consumer.Assignment);
        });
    }

    /// <summary>Runs a scenario, then answers a heartbeat still hanging (a failed assertion leaves it so) before closing the consumer, which waits for it.</summary>
    private static async Task RunAsync(Func<HangingGroup, Consumer, Task> scenario)
    {
        var group = new HangingGroup();
        var consumer = new Consumer(
            FakeGrains.Create(group, new FivePartitionRecords()),
            new ConsumerOptions("billing")
            {
                SessionTimeout = Session, EnableAutoCommit = false, FetchMaxWait = TimeSpan.FromMilliseconds(50),
                // The fake partition stands in for the log; there is no consumer grain to fetch through.
                FetchThroughConsumerGrain = false,
            });
        try
        {
            await scenario(group, consumer);
        }
        finally
        {
            group.AnswerHangingHeartbeat(error: null);
            await consumer.DisposeAsync().AsTask().WaitAsync(Deadline);
        }
    }

    /// <summary>
    /// Answers the join with <see cref="Partition"/>; leaves the second heartbeat hanging until <see cref="AnswerHangingHeartbeat"/> (the first answer counts);
    /// after that answers every heartbeat as a join that assigns nothing (so a rejoin finds nothing to read).
    /// </summary>
    private sealed class HangingGroup : IConsumerGroupGrain
    {
        private readonly TaskCompletionSource<HeartbeatResponse> _hanging = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _secondSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _heartbeats;

        public Task SecondHeartbeatSent => _secondSent.Task;

        public void AnswerHangingHeartbeat(Exception? error)
        {
            if (error is null)
            {
                _hanging.TrySetResult(new HeartbeatResponse("m", 1, 100, [Partition], MemberState.Stable, 1));
            }
            else
            {
                _hanging.TrySetException(error);
            }
        }

        public Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request)
        {
            switch (Interlocked.Increment(ref _heartbeats))
            {
                case 1:
                    return Task.FromResult(new HeartbeatResponse(request.MemberId, 1, 100, [Partition], MemberState.Stable, 1));
                case 2:
                    _secondSent.SetResult();
                    return _hanging.Task;
                default:
                    return Task.FromResult(_hanging.Task.IsCompletedSuccessfully
                        ? new HeartbeatResponse(request.MemberId, 1, 100, [Partition], MemberState.Stable, 1)
                        : new HeartbeatResponse(request.MemberId, 2, 100, [], MemberState.Stable, 2));
            }
        }

        public Task<IReadOnlyDictionary<TopicPartition, CommittedOffset>> GetCommittedOffsets(IReadOnlyList<TopicPartition>? partitions) =>
            Task.FromResult<IReadOnlyDictionary<TopicPartition, CommittedOffset>>(new Dictionary<TopicPartition, CommittedOffset>
            {
                [Partition] = new(0, null, 0, 1),
            });

        public Task Watch(string memberId, IGroupMemberObserver observer) => Task.CompletedTask;

        public Task Leave(string memberId) => Task.CompletedTask;

        public Task Commit(CommitRequest request) => Task.CompletedTask;

        public Task<GroupDescription> Describe() => throw new NotSupportedException();

        public Task DeleteGroup() => throw new NotSupportedException();

        public Task<IReadOnlyList<OffsetResetResult>> ResetOffsets(string topic, IReadOnlyList<int>? partitions, OffsetResetSpec spec, bool dryRun) =>
            throw new NotSupportedException();
    }

    /// <summary>A partition holding offsets 0 to 4, all returned by the first fetch; later fetches find nothing new.</summary>
    private sealed class FivePartitionRecords : IPartitionGrain
    {
        private const int Count = 5;

        public async Task<FetchResult> Fetch(long offset, int maxBytes, int maxWaitMs)
        {
            if (offset >= Count)
            {
                await Task.Delay(maxWaitMs);
                return new FetchResult([], 0, Count);
            }
            var records = Enumerable.Range((int)offset, Count - (int)offset)
                .Select(i => new ProducerRecord(null, Encoding.UTF8.GetBytes($"v{i}"), null, 1))
                .ToList();
            return new FetchResult(RecordBatch.Encode(offset, records), 0, Count);
        }

        public Task<PartitionWatermarks> GetWatermarks() => throw new NotSupportedException();

        public Task<AppendResult> Append(byte[] batch) => throw new NotSupportedException();

        public Task<long> GetOffsetForTimestamp(long timestampMs) => throw new NotSupportedException();

        public Task<PartitionStats> GetStats() => throw new NotSupportedException();

        public Task<int> ApplyRetention() => throw new NotSupportedException();

        public Task DeleteLog(long incarnation) => throw new NotSupportedException();
    }

    /// <summary>An <see cref="IGrainFactory"/> that hands out the given fakes by interface and observers as themselves.</summary>
    private class FakeGrains : DispatchProxy
    {
        private object[] _grains = [];

        public static IGrainFactory Create(params object[] grains)
        {
            var factory = Create<IGrainFactory, FakeGrains>();
            ((FakeGrains)(object)factory)._grains = grains;
            return factory;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            var returned = targetMethod.ReturnType;
            return targetMethod.Name switch
            {
                nameof(IGrainFactory.GetGrain) => _grains.FirstOrDefault(returned.IsInstanceOfType)
                    ?? throw new NotSupportedException($"no fake {returned.Name}"),
                nameof(IGrainFactory.CreateObjectReference) => args![0],
                nameof(IGrainFactory.DeleteObjectReference) => null,
                _ => throw new NotSupportedException(targetMethod.Name),
            };
        }
    }
}
