using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Orleans.Placement;
using OrleansGroups.Client;
using OrleansGroups.Client.Diagnostics;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups;

/// <summary>The persisted registration of a grain member.</summary>
[GenerateSerializer, Alias("og.GroupMembershipState")]
public sealed class GroupMembershipState
{
    /// <summary>The registration, or null when not joined.</summary>
    [Id(0)]
    public GroupMembershipRequest? Request { get; set; }
}

/// <summary>
/// Runs a grain member with the client <see cref="Consumer"/> inside the silo (the same protocol, fencing and
/// rebalancing as any member) and a delivery loop on this grain: records go to the member one call at a time, in
/// order per partition, and are committed when the call returns. Placed on the silo that joins it, next to the
/// member grain, so deliveries are local calls. Kept alive while joined; a reminder restarts it after a silo failure.
/// </summary>
[Reentrant, KeepAlive, PreferLocalPlacement]
internal sealed class GroupMembershipGrain(
    [PersistentState("membership", StorageNames.State)] IPersistentState<GroupMembershipState> state,
    ILogger<GroupMembershipGrain> logger) : Grain, IGroupMembershipGrain, IRemindable
{
    private const string KeepJoined = "keep-joined";
    private const int MaxRecordsPerDelivery = 500;
    private static readonly TimeSpan MaxRetryBackoff = TimeSpan.FromSeconds(5);

    private Consumer? _consumer;
    private CancellationTokenSource? _stopping;
    private Task? _deliveries;
    private Task _currentDelivery = Task.CompletedTask;
    private readonly HashSet<TopicPartition> _revoking = [];
    private long _delivered;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (state.State.Request is { } request)
        {
            Start(request);
        }
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => await StopAsync();

    public async Task Join(GroupMembershipRequest request)
    {
        if (request is null)
        {
            throw new InvalidRequestException("A join needs a request.");
        }
        Ids.ValidateGroupId(request.GroupId);
        if (request.Member is null || this.GetPrimaryKeyString() != GrainKeys.GrainMember(request.GroupId, request.Member.GetGrainId()))
        {
            // One membership per (group, member grain): a request for another pair would be a second membership of it.
            throw new InvalidRequestException(
                $"Membership '{this.GetPrimaryKeyString()}' cannot join group '{request.GroupId}' for {request.Member?.GetGrainId().ToString() ?? "no member"}: its key must be \"group|member grain id\".");
        }
        if (request.Topics is null || request.Topics.Count == 0)
        {
            throw new InvalidRequestException("A grain member needs at least one topic.");
        }
        var registry = GrainFactory.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry);
        foreach (var topic in request.Topics)
        {
            TopicName.Validate(topic);
            _ = await registry.GetTopic(topic) ?? throw new UnknownTopicException(topic);
        }
        if (state.State.Request is { } current && SameRegistration(current, request) && _consumer is not null)
        {
            return;
        }
        await StopAsync();
        var previous = state.State.Request;
        state.State.Request = request;
        await state.WriteOrRollBackAsync(this, () => state.State.Request = previous, $"Grain member of group '{request.GroupId}' could not join");
        await this.RegisterOrUpdateReminder(KeepJoined, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
        Start(request);
    }

    public async Task Leave()
    {
        await StopAsync();
        if (state.State.Request is not null)
        {
            await state.ClearStateAsync();
        }
        if (await this.GetReminder(KeepJoined) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
        this.DeactivateOnIdle();
    }

    public Task<GroupMembershipStatus> GetStatus() => Task.FromResult(new GroupMembershipStatus(
        state.State.Request, _consumer?.MemberId, _consumer?.Assignment ?? [], Interlocked.Read(ref _delivered)));

    /// <summary>Nothing to do: the tick only makes sure this grain is active, and activation starts the member.</summary>
    public Task ReceiveReminder(string reminderName, TickStatus status) => Task.CompletedTask;

    private void Start(GroupMembershipRequest request)
    {
        var consumer = new Consumer(GrainFactory, new ConsumerOptions(request.GroupId)
        {
            ClientId = "grain-member",
            // Committed by the delivery loop after the member's call returns, never before.
            EnableAutoCommit = false,
            AutoOffsetReset = request.FromBeginning ? AutoOffsetReset.Earliest : AutoOffsetReset.Latest,
            // In the silo already: a session grain would only add a hop.
            FetchThroughConsumerGrain = false,
        });
        consumer.OnPartitionsRevoking = FinishDeliveringAsync;
        consumer.PartitionsAssigned += added =>
        {
            lock (_revoking)
            {
                _revoking.ExceptWith(added);
            }
        };
        _consumer = consumer;
        _stopping = new CancellationTokenSource();
        consumer.Subscribe(request.Topics);
        _deliveries = DeliverAsync(request, consumer, _stopping.Token);
    }

    private async Task StopAsync()
    {
        if (_consumer is not { } consumer)
        {
            return;
        }
        _consumer = null;
        _stopping!.Cancel();
        try
        {
            await _deliveries!;
        }
        catch (OperationCanceledException)
        {
        }
        await consumer.CloseAsync();
    }

    /// <summary>
    /// The revocation handler: runs on the consumer's heartbeat thread. Waits for the delivery in flight so a revoked
    /// partition is never delivered here and to its next owner at once; what is not delivered yet is left uncommitted
    /// for the next owner.
    /// </summary>
    private async Task FinishDeliveringAsync(IReadOnlyList<TopicPartition> revoked)
    {
        Task current;
        lock (_revoking)
        {
            _revoking.UnionWith(revoked);
            current = _currentDelivery;
        }
        try
        {
            await current;
        }
        catch (Exception)
        {
            // The delivery loop handles its own failures.
        }
    }

    private async Task DeliverAsync(GroupMembershipRequest request, Consumer consumer, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            ConsumeResult? first;
            try
            {
                first = await consumer.ConsumeAsync(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Fatal for this consumer (e.g. fenced for good): start over as a new member.
                Log.GrainMemberRestarted(logger, this.GetPrimaryKeyString(), e);
                await consumer.CloseAsync();
                if (!cancellationToken.IsCancellationRequested)
                {
                    _ = RestartAsync(request, consumer);
                }
                return;
            }
            if (first is null)
            {
                continue;
            }
            var batch = new List<ConsumeResult> { first };
            while (batch.Count < MaxRecordsPerDelivery && await consumer.ConsumeAsync(TimeSpan.Zero, CancellationToken.None) is { } next)
            {
                batch.Add(next);
            }
            var delivery = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_revoking)
            {
                _currentDelivery = delivery.Task;
            }
            try
            {
                foreach (var partition in batch.GroupBy(r => r.TopicPartition))
                {
                    await DeliverPartitionAsync(request, consumer, partition.Key, [.. partition], cancellationToken);
                }
            }
            finally
            {
                delivery.TrySetResult();
            }
        }
    }

    private async Task DeliverPartitionAsync(
        GroupMembershipRequest request, Consumer consumer, TopicPartition partition, List<ConsumeResult> records, CancellationToken cancellationToken)
    {
        var message = new MemberRecords(request.GroupId, partition, [.. records.Select(r => new MemberRecord(r.Offset, r.Timestamp, r.Key, r.Value, r.Headers))]);
        var backoff = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            lock (_revoking)
            {
                if (_revoking.Contains(partition) || cancellationToken.IsCancellationRequested)
                {
                    // Not delivered and not committed: the next owner (or the next start) delivers it.
                    return;
                }
            }
            using var process = OrleansGroupsTracing.StartProcess(partition.Topic, partition.Partition, request.GroupId, records);
            try
            {
                await request.Member.OnRecords(message);
                break;
            }
            catch (Exception e)
            {
                OrleansGroupsTracing.Failed(process, e);
                Log.GrainMemberHandlerFailed(logger, this.GetPrimaryKeyString(), GrainKeys.Partition(partition), records[0].Offset, e);
                try
                {
                    await Task.Delay(backoff, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                backoff = backoff * 2 < MaxRetryBackoff ? backoff * 2 : MaxRetryBackoff;
            }
        }
        Interlocked.Add(ref _delivered, records.Count);
        await CommitDeliveredAsync(consumer, new TopicPartitionOffset(partition, records[^1].Offset + 1));
    }

    /// <summary>
    /// Commits what the member handled. A transient failure (storage, a silo moving) is retried with backoff for up to
    /// <see cref="CommitRetryTime"/>: a revocation waits for this delivery, so the partition is released only after its
    /// position is committed, or after the retries gave up. A final failure (the member was fenced or the partition moved)
    /// is not retried: the next owner redelivers from the last commit (at-least-once).
    /// </summary>
    private async Task CommitDeliveredAsync(Consumer consumer, TopicPartitionOffset position)
    {
        var backoff = TimeSpan.FromMilliseconds(50);
        var started = Environment.TickCount64;
        while (true)
        {
            try
            {
                await consumer.CommitAsync([position], CancellationToken.None);
                return;
            }
            catch (Exception e) when (Client.Internal.TransientFailures.Is(e) && Environment.TickCount64 - started < CommitRetryTime.TotalMilliseconds)
            {
                Log.GrainMemberCommitRetried(logger, this.GetPrimaryKeyString(), GrainKeys.Partition(position.TopicPartition), e);
                await Task.Delay(backoff);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.TicksPerSecond));
            }
            catch (Exception e)
            {
                Log.GrainMemberCommitFailed(logger, this.GetPrimaryKeyString(), GrainKeys.Partition(position.TopicPartition), e);
                return;
            }
        }
    }

    /// <summary>How long a failed commit of a delivered batch is retried (a revocation waits at most this long for it).</summary>
    private static readonly TimeSpan CommitRetryTime = TimeSpan.FromSeconds(10);

    private async Task RestartAsync(GroupMembershipRequest request, Consumer failed)
    {
        await Task.Delay(TimeSpan.FromSeconds(1));
        // Only if nothing replaced the failed consumer meanwhile (a Leave, or a Join with another registration).
        if (state.State.Request == request && _consumer == failed)
        {
            _consumer = null;
            Start(request);
        }
    }

    private static bool SameRegistration(GroupMembershipRequest a, GroupMembershipRequest b) =>
        a.GroupId == b.GroupId && a.FromBeginning == b.FromBeginning && a.Member.Equals(b.Member)
        && a.Topics.Order(StringComparer.Ordinal).SequenceEqual(b.Topics.Order(StringComparer.Ordinal), StringComparer.Ordinal);
}

/// <summary>
/// Base class of grains that read topics as consumer-group members: call <see cref="JoinGroupAsync"/> once (the
/// membership is durable), handle <see cref="OnRecords"/>, and <see cref="LeaveGroupAsync"/> when done.
/// </summary>
public abstract class GroupMemberGrain : Grain, IGroupMemberGrain
{
    /// <summary>Joins <paramref name="groupId"/> to read <paramref name="topics"/>; see <see cref="IGroupMembershipGrain.Join"/>.</summary>
    protected Task JoinGroupAsync(string groupId, IReadOnlyList<string> topics, bool fromBeginning = false) =>
        Membership(groupId).Join(new GroupMembershipRequest(groupId, topics, this.AsReference<IGroupMemberGrain>(), fromBeginning));

    /// <summary>Leaves <paramref name="groupId"/>.</summary>
    protected Task LeaveGroupAsync(string groupId) => Membership(groupId).Leave();

    /// <summary>This member's membership status in <paramref name="groupId"/>.</summary>
    protected Task<GroupMembershipStatus> GetMembershipAsync(string groupId) => Membership(groupId).GetStatus();

    /// <inheritdoc />
    public abstract Task OnRecords(MemberRecords records);

    private IGroupMembershipGrain Membership(string groupId) =>
        GrainFactory.GetGrain<IGroupMembershipGrain>(GrainKeys.GrainMember(groupId, this.GetGrainId()));
}
