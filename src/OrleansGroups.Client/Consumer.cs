using System.Runtime.CompilerServices;
using OrleansGroups.Client.Diagnostics;
using OrleansGroups.Client.Internal;
using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client;

/// <summary>
/// A member of a consumer group. After <see cref="Subscribe(IEnumerable{string})"/> it joins the group in the
/// background, prefetches its assigned partitions, and hands records out through <see cref="ConsumeAsync(TimeSpan, CancellationToken)"/>.
/// When the group takes a partition away, the consumer stops fetching it, drops what it prefetched, commits
/// what was consumed (with auto-commit) and only then confirms the release, so the next owner starts exactly
/// where this one stopped. <see cref="CloseAsync"/> leaves the group.
/// </summary>
public sealed class Consumer : IConsumer
{
    /// <summary>Records taken from one partition before moving to the next that has records.</summary>
    private const int RunLength = 100;

    private readonly IGrainFactory _grains;
    private readonly ConsumerOptions _options;
    private readonly IConsumerGroupGrain _group;
    private readonly IConsumerGrain? _session;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _commitGate = new(1, 1);
    private readonly Dictionary<TopicPartition, PartitionFetch> _partitions = [];
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource _dataAvailable = NewSignal();
    private TaskCompletionSource _doorbell = NewSignal();
    private bool _rung;
    private GroupDoorbell? _observer;
    private IGroupMemberObserver? _observerReference;
    private int _heartbeatsSinceWatch;
    private long _lastPollTicks = DateTimeOffset.UtcNow.UtcTicks;
    private long _membershipConfirmedUntilTicks = DateTimeOffset.MaxValue.UtcTicks;
    private IReadOnlyList<string> _topics = [];
    private Task? _heartbeatLoop;
    private Exception? _fatal;
    private int _memberEpoch;
    private int _nextPartition;
    private int _runLength;
    private bool _closed;
    private bool _manual;

    /// <summary>Creates a consumer; it joins its group on <see cref="Subscribe(IEnumerable{string})"/>.</summary>
    public Consumer(IGrainFactory grains, ConsumerOptions options)
    {
        Ids.ValidateGroupId(options.GroupId);
        Ids.ValidateOptional(options.InstanceId, "group.instance.id");
        Ids.ValidateClientId(options.ClientId);
        if (options.GroupRemoteAssignor is { } assignor)
        {
            // Fail here rather than in the background join.
            Assignors.Get(assignor);
        }
        _grains = grains;
        _options = options;
        _group = grains.GetGrain<IConsumerGroupGrain>(options.GroupId);
        _session = options.FetchThroughConsumerGrain ? grains.GetGrain<IConsumerGrain>(GrainKeys.Consumer(options.GroupId, MemberId)) : null;
    }

    /// <summary>This member's id in the group.</summary>
    public string MemberId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The member epoch the group last gave this consumer.</summary>
    public int MemberEpoch => Volatile.Read(ref _memberEpoch);

    /// <summary>The partitions this consumer owns now.</summary>
    public IReadOnlyList<TopicPartition> Assignment
    {
        get
        {
            lock (_gate)
            {
                return [.. _partitions.Keys.Order()];
            }
        }
    }

    /// <summary>Raised (on a background thread) after partitions are assigned to this consumer.</summary>
    public event Action<IReadOnlyList<TopicPartition>>? PartitionsAssigned;

    /// <summary>
    /// Awaited when the group takes partitions away, before their consumed positions are committed (with auto-commit)
    /// and they are released to the next owner: finish or abandon work on them here (for example commit what was
    /// processed when auto-commit is off). Their records are no longer handed out meanwhile. Keep it well under
    /// <see cref="ConsumerOptions.RebalanceTimeout"/>; a failure is ignored and the partitions are released anyway.
    /// </summary>
    public Func<IReadOnlyList<TopicPartition>, Task>? OnPartitionsRevoking { get; set; }

    /// <summary>
    /// Raised after partitions are taken away and (with auto-commit) their consumed positions committed, before the
    /// release is confirmed to the group.
    /// </summary>
    public event Action<IReadOnlyList<TopicPartition>>? PartitionsRevoked;

    /// <summary>
    /// Raised when partitions went without a commit of what was handed out: the group fenced or evicted this member, or
    /// (with auto-commit) the commit of revoked partitions still failed after its retries. Their next owner starts from
    /// the last commit that landed and repeats the records handed out since.
    /// </summary>
    public event Action<IReadOnlyList<TopicPartition>>? PartitionsLost;

    /// <summary>Subscribes to one topic.</summary>
    public void Subscribe(string topic) => Subscribe([topic]);

    /// <summary>Subscribes to topics (replacing any earlier subscription) and joins the group.</summary>
    public void Subscribe(IEnumerable<string> topics)
    {
        var list = topics.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        foreach (var topic in list)
        {
            TopicName.Validate(topic);
        }
        if (list.Count == 0)
        {
            throw new InvalidRequestException("Subscribe needs at least one topic.");
        }
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (_manual)
            {
                throw new InvalidRequestException("This consumer reads manually assigned partitions (Assign); use another consumer to subscribe.");
            }
            _topics = list;
            _heartbeatLoop ??= Task.Run(() => HeartbeatLoopAsync(_stopping.Token));
        }
    }

    /// <summary>
    /// Reads exactly these partitions, without joining the group (Kafka's <c>assign</c>), replacing any earlier
    /// assignment. Each starts at its offset: a real offset, <see cref="Offset.Beginning"/>, <see cref="Offset.End"/>,
    /// or <see cref="Offset.Stored"/> (the group's committed offset, else <see cref="ConsumerOptions.AutoOffsetReset"/>).
    /// Commits are accepted only while the group has no members (Kafka's standalone consumer). Cannot be mixed with
    /// <see cref="Subscribe(IEnumerable{string})"/> on one consumer.
    /// </summary>
    public void Assign(IEnumerable<TopicPartitionOffset> partitions)
    {
        var list = partitions.ToList();
        foreach (var (partition, offset) in list)
        {
            TopicName.Validate(partition.Topic);
            if (partition.Partition < 0)
            {
                throw new InvalidRequestException($"Cannot assign {partition}: partitions are numbered from 0.");
            }
            if (offset < 0 && offset is not (Offset.Beginning or Offset.End or Offset.Stored))
            {
                throw new InvalidRequestException($"Cannot assign {partition} at offset {offset}: use an offset >= 0, Offset.Beginning, Offset.End or Offset.Stored.");
            }
        }
        if (list.Select(p => p.TopicPartition).Distinct().Count() != list.Count)
        {
            throw new InvalidRequestException("Assign names a partition twice.");
        }
        List<TopicPartition> dropped;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (_heartbeatLoop is not null)
            {
                throw new InvalidRequestException("This consumer subscribed to topics (its group assigns its partitions); use another consumer to assign partitions manually.");
            }
            _manual = true;
            dropped = [.. _partitions.Keys];
        }
        StopFetching(dropped);
        lock (_gate)
        {
            foreach (var (partition, offset) in list)
            {
                var fetch = new PartitionFetch(partition, offset, -1);
                _partitions[partition] = fetch;
                fetch.Loop = Task.Run(() => FetchLoopAsync(fetch));
            }
        }
    }

    /// <summary>Stops reading every manually assigned partition.</summary>
    public void Unassign()
    {
        List<TopicPartition> all;
        lock (_gate)
        {
            all = _manual ? [.. _partitions.Keys] : [];
        }
        StopFetching(all);
    }

    /// <inheritdoc />
    public IReadOnlyList<string> Subscription
    {
        get
        {
            lock (_gate)
            {
                return _topics;
            }
        }
    }

    /// <summary>Blocks until a record arrives (Confluent's <c>Consume(CancellationToken)</c>); throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    public ConsumeResult Consume(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (ConsumeAsync(TimeSpan.FromSeconds(1), cancellationToken).GetAwaiter().GetResult() is { } result)
            {
                return result;
            }
        }
    }

    /// <summary>Blocks for the next record, or returns null after <paramref name="timeout"/> (Confluent's <c>Consume(TimeSpan)</c>).</summary>
    public ConsumeResult? Consume(TimeSpan timeout) => ConsumeAsync(timeout).GetAwaiter().GetResult();

    /// <summary>Commits the positions of what was consumed, and waits (Confluent's <c>Commit()</c>).</summary>
    public void Commit() => CommitAsync().GetAwaiter().GetResult();

    /// <summary>Commits explicit offsets, and waits (Confluent's <c>Commit(offsets)</c>).</summary>
    public void Commit(IEnumerable<TopicPartitionOffset> offsets) => CommitAsync(offsets).GetAwaiter().GetResult();

    /// <summary>Commits (with auto-commit) and leaves the group, and waits (Confluent's <c>Close()</c>).</summary>
    public void Close() => CloseAsync().GetAwaiter().GetResult();

    /// <summary>The next record, or null when none arrives within <paramref name="timeout"/>.</summary>
    /// <remarks>
    /// Records are held back while no heartbeat has confirmed this consumer's membership for a whole
    /// <see cref="ConsumerOptions.SessionTimeout"/> (a heartbeat stuck on a silo that died, for instance): by then the
    /// group may have evicted it and handed its partitions to a member that already committed past them, so handing
    /// them out would deliver committed records again. They flow again once a heartbeat answers, or are dropped when
    /// the group answers that this member is gone.
    /// </remarks>
    public async Task<ConsumeResult?> ConsumeAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        // A receive span only for a poll that returned a record (as Kafka instrumentations do), timed from the call.
        var started = DateTimeOffset.UtcNow;
        var result = await PollAsync(timeout, cancellationToken);
        if (result is not null)
        {
            OrleansGroupsTracing.Received(result, _options.GroupId, started);
        }
        return result;
    }

    private async Task<ConsumeResult?> PollAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _lastPollTicks, DateTimeOffset.UtcNow.UtcTicks);
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            Task signal;
            bool lapsed;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_closed, this);
                if (_fatal is not null)
                {
                    throw _fatal;
                }
                lapsed = MembershipLapsed();
                if (!lapsed && TryTakeRecord() is { } result)
                {
                    return result;
                }
                signal = _dataAvailable.Task;
            }
            var remaining = deadline - DateTimeOffset.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                return null;
            }
            // A lapsed membership ends with a heartbeat, which rings no data signal: look again soon.
            await Task.WhenAny(signal, Task.Delay(lapsed && remaining > LapsedMembershipRecheck ? LapsedMembershipRecheck : remaining, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>How long closing waits for the consumer grain to release its buffers.</summary>
    private static readonly TimeSpan SessionCloseTimeout = TimeSpan.FromSeconds(1);

    /// <summary>How often a consume call waiting on a lapsed membership looks again.</summary>
    private static readonly TimeSpan LapsedMembershipRecheck = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// True when the last heartbeat that succeeded was sent more than a session timeout ago. Measured from when it was
    /// sent, which is no later than when the group saw it, so the consumer stops no later than the group could evict it.
    /// </summary>
    private bool MembershipLapsed() =>
        DateTimeOffset.UtcNow.UtcTicks > Interlocked.Read(ref _membershipConfirmedUntilTicks);

    /// <summary>Consumes until cancelled. Each record gets a <c>process {topic}</c> span while the caller handles it.</summary>
    public async IAsyncEnumerable<ConsumeResult> ConsumeAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var result = await ConsumeAsync(TimeSpan.FromSeconds(1), cancellationToken);
            if (result is not null)
            {
                // The process span lasts while the caller handles the record, until it asks for the next one.
                using var process = OrleansGroupsTracing.StartProcess(result, _options.GroupId);
                yield return result;
            }
        }
    }

    /// <summary>The offset of the next record <see cref="ConsumeAsync(TimeSpan, CancellationToken)"/> returns from the partition (Kafka's position), or null when it is not assigned.</summary>
    public long? Position(TopicPartition partition)
    {
        lock (_gate)
        {
            return _partitions.TryGetValue(partition, out var fetch) && fetch.ConsumedPosition >= 0 ? fetch.ConsumedPosition : null;
        }
    }

    /// <summary>
    /// Moves an assigned partition to <paramref name="offset"/>: prefetched records are dropped and the next record
    /// consumed from it is at that offset (Kafka's seek). An offset outside the log follows <c>auto.offset.reset</c>.
    /// </summary>
    public void Seek(TopicPartitionOffset offset)
    {
        if (offset.Offset < 0)
        {
            throw new InvalidRequestException($"Cannot seek {offset.TopicPartition} to negative offset {offset.Offset}.");
        }
        lock (_gate)
        {
            if (!_partitions.TryGetValue(offset.TopicPartition, out var fetch))
            {
                throw new InvalidRequestException($"Cannot seek {offset.TopicPartition}: it is not assigned to this consumer.");
            }
            fetch.Buffer.Clear();
            fetch.BufferedBytes = 0;
            fetch.FetchPosition = offset.Offset;
            fetch.ConsumedPosition = offset.Offset;
            fetch.SignalSpace();
        }
    }

    /// <summary>Stops fetching and handing out records of assigned partitions until <see cref="Resume"/>; membership is unaffected.</summary>
    public void Pause(IEnumerable<TopicPartition> partitions) => SetPaused(partitions, paused: true);

    /// <summary>Resumes partitions paused with <see cref="Pause"/>.</summary>
    public void Resume(IEnumerable<TopicPartition> partitions) => SetPaused(partitions, paused: false);

    /// <summary>The assigned partitions that are paused.</summary>
    public IReadOnlyList<TopicPartition> Paused
    {
        get
        {
            lock (_gate)
            {
                return [.. _partitions.Values.Where(f => f.Paused).Select(f => f.Partition).Order()];
            }
        }
    }

    private void SetPaused(IEnumerable<TopicPartition> partitions, bool paused)
    {
        lock (_gate)
        {
            foreach (var partition in partitions)
            {
                if (_partitions.TryGetValue(partition, out var fetch))
                {
                    fetch.Paused = paused;
                    fetch.SignalSpace();
                }
            }
            var signal = _dataAvailable;
            _dataAvailable = NewSignal();
            signal.TrySetResult();
        }
    }

    /// <summary>Commits the position after the last record consumed from each owned partition.</summary>
    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        await _commitGate.WaitAsync(cancellationToken);
        try
        {
            await CommitConsumedAsync();
        }
        finally
        {
            _commitGate.Release();
        }
    }

    /// <summary>Commits explicit offsets (each the next offset to read).</summary>
    public async Task CommitAsync(IEnumerable<TopicPartitionOffset> offsets, CancellationToken cancellationToken = default)
    {
        var list = offsets.Select(o => new PartitionOffset(o.TopicPartition, o.Offset)).ToList();
        await _commitGate.WaitAsync(cancellationToken);
        try
        {
            await _group.Commit(CommitRequestFor(list));
            lock (_gate)
            {
                foreach (var offset in list)
                {
                    if (_partitions.TryGetValue(offset.Partition, out var fetch))
                    {
                        fetch.CommittedPosition = offset.Offset;
                    }
                }
            }
        }
        finally
        {
            _commitGate.Release();
        }
    }

    /// <summary>
    /// Commits (with auto-commit) and leaves the group. A dynamic member's partitions go to the other members at once.
    /// A static member (<see cref="ConsumerOptions.InstanceId"/>) leaves only temporarily, as a Kafka consumer with
    /// <c>group.instance.id</c> does: its partitions wait for a consumer with the same instance id until the session
    /// timeout, so a restart causes no rebalance.
    /// </summary>
    public async Task CloseAsync()
    {
        if (!await StopAsync())
        {
            return;
        }
        if (_options.EnableAutoCommit)
        {
            try
            {
                await CommitConsumedAsync();
            }
            catch (OrleansGroupsException)
            {
                // Fenced or evicted meanwhile: the group already moved on without us.
            }
        }
        StopFetching(_partitions.Keys.ToList());
        if (_session is not null)
        {
            try
            {
                // Bounded: a session on a silo that just died must not hold up leaving the group.
                await _session.Close().WaitAsync(SessionCloseTimeout);
            }
            catch (Exception)
            {
                // Only buffers are lost; an abandoned session ends by itself after its idle timeout.
            }
        }
        if (_manual)
        {
            return;
        }
        try
        {
            if (_options.InstanceId is null)
            {
                await _group.Leave(MemberId);
            }
            else
            {
                await _group.Heartbeat(new HeartbeatRequest(MemberId, MemberEpochs.TemporaryLeave, _options.InstanceId, _options.ClientId, null, null));
            }
        }
        catch (OrleansGroupsException e) when (e is UnknownMemberException or FencedInstanceIdException)
        {
            // Already gone, or replaced by a newer incarnation: nothing of ours is left to release.
        }
        // Only now: until the group forgot us it may still ring the doorbell.
        ReleaseDoorbell();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await CloseAsync();

    /// <summary>Stops without committing or leaving, as a crashed process would; the group evicts it after the session timeout.</summary>
    internal async Task AbandonAsync()
    {
        if (await StopAsync())
        {
            StopFetching(_partitions.Keys.ToList());
            ReleaseDoorbell();
        }
    }

    private async Task<bool> StopAsync()
    {
        Task? loop;
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }
            _closed = true;
            loop = _heartbeatLoop;
        }
        _stopping.Cancel();
        if (loop is not null)
        {
            try
            {
                await loop;
            }
            catch (OperationCanceledException)
            {
            }
        }
        return true;
    }

    private ConsumeResult? TryTakeRecord()
    {
        if (_partitions.Count == 0)
        {
            return null;
        }
        var fetches = _partitions.Values.ToList();
        for (var i = 0; i < fetches.Count; i++)
        {
            var fetch = fetches[(_nextPartition + i) % fetches.Count];
            if (!fetch.Paused && !fetch.Revoking && fetch.Buffer.TryDequeue(out var record))
            {
                // Stay on a partition for a run of records (fewer switches), but never longer than a run, or a
                // partition with a deep backlog would starve the others while its fetcher keeps refilling it.
                var current = (_nextPartition + i) % fetches.Count;
                _runLength = i == 0 ? _runLength + 1 : 1;
                var stay = fetch.Buffer.Count > 0 && _runLength < RunLength;
                _nextPartition = stay ? current : (current + 1) % fetches.Count;
                if (!stay)
                {
                    _runLength = 0;
                }
                fetch.BufferedBytes -= Size(record);
                fetch.ConsumedPosition = record.Offset + 1;
                if (fetch.BufferedBytes < _options.MaxBufferedBytesPerPartition / 2)
                {
                    fetch.SignalSpace();
                }
                return new ConsumeResult(fetch.Partition.Topic, fetch.Partition.Partition, record.Offset, record.Key, record.Value,
                    record.Headers, DateTimeOffset.FromUnixTimeMilliseconds(record.Timestamp));
            }
        }
        return null;
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        var sendSubscription = true;
        var lastHeartbeat = DateTimeOffset.UtcNow;
        var nextAutoCommit = DateTimeOffset.UtcNow + _options.AutoCommitInterval;
        while (!cancellationToken.IsCancellationRequested)
        {
            HeartbeatResponse response;
            List<TopicPartition> owned;
            IReadOnlyList<string> topics;
            lock (_gate)
            {
                owned = [.. _partitions.Keys];
                topics = _topics;
            }
            var sentAt = DateTimeOffset.UtcNow;
            try
            {
                response = await _group.Heartbeat(new HeartbeatRequest(
                    MemberId, MemberEpoch, _options.InstanceId, _options.ClientId,
                    sendSubscription || MemberEpoch == 0 ? topics : null, owned,
                    (int)_options.SessionTimeout.TotalMilliseconds, (int)_options.RebalanceTimeout.TotalMilliseconds,
                    sendSubscription || MemberEpoch == 0 ? _options.GroupRemoteAssignor : null));
                sendSubscription = false;
                lastHeartbeat = DateTimeOffset.UtcNow;
                Interlocked.Exchange(ref _membershipConfirmedUntilTicks, (sentAt + _options.SessionTimeout).UtcTicks);
                // Register the doorbell after joining and now and then: the group keeps it in memory only.
                if (MemberEpoch == 0 || ++_heartbeatsSinceWatch >= WatchEvery)
                {
                    _heartbeatsSinceWatch = 0;
                    await WatchAsync();
                }
            }
            catch (Exception e) when (e is UnknownMemberException or FencedMemberEpochException)
            {
                // The group no longer knows us at this epoch: whatever we held may already be someone else's.
                var lost = StopFetching(owned).Select(f => f.Partition).ToList();
                Volatile.Write(ref _memberEpoch, 0);
                sendSubscription = true;
                if (lost.Count > 0)
                {
                    PartitionsLost?.Invoke(lost);
                }
                continue;
            }
            catch (FencedInstanceIdException e)
            {
                // Another consumer took our static instance id: stop for good, as Kafka does, since rejoining would fence it back.
                var lost = StopFetching(owned).Select(f => f.Partition).ToList();
                if (lost.Count > 0)
                {
                    PartitionsLost?.Invoke(lost);
                }
                Fail(e);
                return;
            }
            catch (OrleansGroupsException e) when (!e.IsRetriable)
            {
                Fail(e);
                return;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                if (DateTimeOffset.UtcNow - lastHeartbeat > _options.SessionTimeout)
                {
                    // Silent for a whole session: the group has evicted us, so stop before a new owner starts.
                    var lost = StopFetching(owned).Select(f => f.Partition).ToList();
                    Volatile.Write(ref _memberEpoch, 0);
                    sendSubscription = true;
                    if (lost.Count > 0)
                    {
                        PartitionsLost?.Invoke(lost);
                    }
                }
                await DelayAsync(TimeSpan.FromMilliseconds(500), cancellationToken);
                continue;
            }
            Volatile.Write(ref _memberEpoch, response.MemberEpoch);

            var target = response.Assignment.ToHashSet();
            var revoked = owned.Where(p => !target.Contains(p)).ToList();
            var added = target.Where(p => !owned.Contains(p)).ToList();
            try
            {
                if (revoked.Count > 0)
                {
                    await RevokeAsync(revoked);
                }
                if (added.Count > 0)
                {
                    await AssignAsync(added);
                }
                if (_options.EnableAutoCommit && DateTimeOffset.UtcNow >= nextAutoCommit)
                {
                    nextAutoCommit = DateTimeOffset.UtcNow + _options.AutoCommitInterval;
                    await CommitAsync(cancellationToken);
                }
            }
            catch (OrleansGroupsException e) when (!e.IsRetriable && e is not (UnknownMemberException or FencedMemberEpochException or StaleMemberEpochException))
            {
                Fail(e);
                return;
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Transient: the next heartbeat retries.
            }
            if (DateTimeOffset.UtcNow - new DateTimeOffset(Interlocked.Read(ref _lastPollTicks), TimeSpan.Zero) > _options.MaxPollInterval)
            {
                // The application is stuck or gone: give the partitions to members that are working (Kafka's rule).
                List<TopicPartition> all;
                lock (_gate)
                {
                    all = [.. _partitions.Keys];
                }
                var lost = StopFetching(all).Select(f => f.Partition).ToList();
                try
                {
                    await _group.Leave(MemberId);
                }
                catch (Exception)
                {
                    // Evicted already, or unreachable: the session timeout finishes the job.
                }
                if (lost.Count > 0)
                {
                    PartitionsLost?.Invoke(lost);
                }
                Fail(new MaxPollIntervalExceededException(_options.GroupId, MemberId, _options.MaxPollInterval));
                return;
            }
            if (revoked.Count == 0)
            {
                await WaitForHeartbeatAsync(TimeSpan.FromMilliseconds(response.HeartbeatIntervalMs), cancellationToken);
            }
        }
    }

    /// <summary>Heartbeats between doorbell registrations.</summary>
    private const int WatchEvery = 30;

    /// <summary>Waits for the heartbeat interval, or less when the group rings the doorbell.</summary>
    private async Task WaitForHeartbeatAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        Task doorbell;
        lock (_gate)
        {
            if (_rung)
            {
                _rung = false;
                return;
            }
            doorbell = _doorbell.Task;
        }
        await Task.WhenAny(doorbell, Task.Delay(interval, cancellationToken));
        lock (_gate)
        {
            _rung = false;
            if (_doorbell.Task.IsCompleted)
            {
                _doorbell = NewSignal();
            }
        }
    }

    private void Ring()
    {
        lock (_gate)
        {
            _rung = true;
            _doorbell.TrySetResult();
        }
    }

    private async Task WatchAsync()
    {
        try
        {
            _observer ??= new GroupDoorbell(this);
            _observerReference ??= _grains.CreateObjectReference<IGroupMemberObserver>(_observer);
            await _group.Watch(MemberId, _observerReference);
        }
        catch (Exception)
        {
            // Without a doorbell the member still converges, one heartbeat interval at a time.
        }
    }

    private void ReleaseDoorbell()
    {
        if (_observerReference is { } reference)
        {
            try
            {
                _grains.DeleteObjectReference<IGroupMemberObserver>(reference);
            }
            catch (Exception)
            {
            }
            _observerReference = null;
        }
    }

    /// <summary>The object the group calls; the consumer keeps it referenced (Orleans holds observers weakly).</summary>
    private sealed class GroupDoorbell(Consumer consumer) : IGroupMemberObserver
    {
        public Task OnGroupChanged()
        {
            consumer.Ring();
            return Task.CompletedTask;
        }
    }

    private async Task RevokeAsync(List<TopicPartition> revoked)
    {
        if (OnPartitionsRevoking is { } handler)
        {
            lock (_gate)
            {
                foreach (var partition in revoked)
                {
                    if (_partitions.TryGetValue(partition, out var fetch))
                    {
                        fetch.Revoking = true;
                    }
                }
            }
            try
            {
                await handler(revoked);
            }
            catch (Exception)
            {
                // The application's failure must not stall the group: the partitions are released regardless.
            }
        }
        var committed = true;
        await _commitGate.WaitAsync();
        try
        {
            // Stop handing out records first, then commit exactly what was handed out: the next owner starts there.
            var released = StopFetching(revoked);
            if (_options.EnableAutoCommit)
            {
                var offsets = released.Where(f => f.ConsumedPosition > f.CommittedPosition)
                    .Select(f => new PartitionOffset(f.Partition, f.ConsumedPosition)).ToList();
                if (offsets.Count > 0)
                {
                    committed = await CommitRevokedAsync(offsets);
                }
            }
        }
        finally
        {
            _commitGate.Release();
        }
        if (committed)
        {
            PartitionsRevoked?.Invoke(revoked);
        }
        else
        {
            // The next owner starts from the last commit that made it and repeats what this consumer handed out since.
            PartitionsLost?.Invoke(revoked);
        }
    }

    /// <summary>First pause between tries of a revocation commit; it doubles up to <see cref="RevocationCommitMaxBackoff"/>.</summary>
    private static readonly TimeSpan RevocationCommitBackoff = TimeSpan.FromMilliseconds(50);

    private static readonly TimeSpan RevocationCommitMaxBackoff = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Commits the positions of revoked partitions before they are released, retrying a retriable failure with backoff
    /// (50 ms doubling to 1 s). The budget is min(rebalance timeout, session timeout / 2): the group waits a rebalance
    /// timeout for the release, and the heartbeat loop is here meanwhile, so half a session leaves the member time to
    /// heartbeat before the group would evict it (defaults: min(5 min, 22.5 s) = 22.5 s, about 27 tries).
    /// Returns false when the commit did not land: a non-retriable error (the member was fenced or evicted, so the
    /// partitions are someone else's already) or the budget ran out.
    /// </summary>
    private async Task<bool> CommitRevokedAsync(List<PartitionOffset> offsets)
    {
        var budget = TimeSpan.FromTicks(Math.Min(_options.RebalanceTimeout.Ticks, _options.SessionTimeout.Ticks / 2));
        var giveUpAt = DateTimeOffset.UtcNow + budget;
        var backoff = RevocationCommitBackoff;
        while (true)
        {
            try
            {
                await _group.Commit(new CommitRequest(MemberId, MemberEpoch, offsets));
                return true;
            }
            catch (OrleansGroupsException e) when (!e.IsRetriable)
            {
                return false;
            }
            catch (Exception) when (DateTimeOffset.UtcNow + backoff < giveUpAt && !_stopping.IsCancellationRequested)
            {
                await DelayAsync(backoff, _stopping.Token);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, RevocationCommitMaxBackoff.Ticks));
            }
            catch (Exception)
            {
                return false;
            }
        }
    }

    private async Task AssignAsync(List<TopicPartition> added)
    {
        var committed = await _group.GetCommittedOffsets(added);
        var starts = await Task.WhenAll(added.Select(async partition =>
            committed.TryGetValue(partition, out var offset) ? offset.Offset : await ResetPositionAsync(partition, null)));
        lock (_gate)
        {
            for (var i = 0; i < added.Count; i++)
            {
                var fetch = new PartitionFetch(added[i], starts[i], committed.ContainsKey(added[i]) ? starts[i] : -1);
                _partitions[added[i]] = fetch;
                fetch.Loop = Task.Run(() => FetchLoopAsync(fetch));
            }
        }
        PartitionsAssigned?.Invoke(added);
    }

    /// <summary>The real offset of <see cref="Offset.Beginning"/>, <see cref="Offset.End"/> or <see cref="Offset.Stored"/>.</summary>
    private async Task<long> ResolveAsync(TopicPartition partition, long special)
    {
        switch (special)
        {
            case Offset.Beginning:
                return (await PartitionGrain(partition).GetWatermarks()).LogStartOffset;
            case Offset.End:
                return (await PartitionGrain(partition).GetWatermarks()).HighWatermark;
            default:
                var committed = await _group.GetCommittedOffsets([partition]);
                return committed.TryGetValue(partition, out var offset) ? offset.Offset : await ResetPositionAsync(partition, null);
        }
    }

    private async Task<long> ResetPositionAsync(TopicPartition partition, OffsetOutOfRangeException? cause)
    {
        switch (_options.AutoOffsetReset)
        {
            case AutoOffsetReset.Earliest:
                return cause?.LogStartOffset ?? (await PartitionGrain(partition).GetWatermarks()).LogStartOffset;
            case AutoOffsetReset.Latest:
                return cause?.HighWatermark ?? (await PartitionGrain(partition).GetWatermarks()).HighWatermark;
            default:
                throw cause ?? (Exception)new InvalidRequestException(
                    $"{partition} has no committed offset for group '{_options.GroupId}' and auto.offset.reset is 'error'.");
        }
    }

    private async Task FetchLoopAsync(PartitionFetch fetch)
    {
        var grain = PartitionGrain(fetch.Partition);
        var token = fetch.Stop.Token;
        while (!token.IsCancellationRequested)
        {
            long requested;
            lock (_gate)
            {
                requested = fetch.FetchPosition;
            }
            if (requested < 0)
            {
                try
                {
                    var resolved = await ResolveAsync(fetch.Partition, requested);
                    lock (_gate)
                    {
                        if (fetch.FetchPosition == requested)
                        {
                            fetch.FetchPosition = fetch.ConsumedPosition = resolved;
                        }
                    }
                }
                catch (OrleansGroupsException e) when (!e.IsRetriable)
                {
                    Fail(e);
                    return;
                }
                catch (Exception) when (!token.IsCancellationRequested)
                {
                    await DelayAsync(TimeSpan.FromMilliseconds(200), token);
                }
                continue;
            }
            long position;
            Task? space = null;
            lock (_gate)
            {
                position = fetch.FetchPosition;
                if (fetch.Paused || fetch.BufferedBytes >= _options.MaxBufferedBytesPerPartition)
                {
                    space = fetch.WaitForSpace();
                }
            }
            if (space is not null)
            {
                await Task.WhenAny(space, Task.Delay(Timeout.Infinite, token));
                continue;
            }
            FetchResult result;
            try
            {
                var maxWaitMs = (int)_options.FetchMaxWait.TotalMilliseconds;
                result = _session is not null
                    ? await _session.Fetch(fetch.Partition, position, _options.FetchMaxBytes, maxWaitMs)
                    : await grain.Fetch(position, _options.FetchMaxBytes, maxWaitMs);
            }
            catch (OffsetOutOfRangeException e)
            {
                try
                {
                    var reset = await ResetPositionAsync(fetch.Partition, e);
                    lock (_gate)
                    {
                        if (fetch.FetchPosition == position)
                        {
                            fetch.FetchPosition = reset;
                        }
                    }
                }
                catch (Exception fatal)
                {
                    Fail(fatal);
                    return;
                }
                continue;
            }
            catch (OrleansGroupsException e) when (_manual && e is UnknownTopicException or UnknownPartitionException)
            {
                // A group waits for topics to appear; a manual assignment names partitions that must exist.
                Fail(e);
                return;
            }
            catch (Exception) when (!token.IsCancellationRequested)
            {
                await DelayAsync(TimeSpan.FromMilliseconds(200), token);
                continue;
            }
            catch (Exception)
            {
                return;
            }
            if (result.Batches.Length == 0)
            {
                continue;
            }
            var records = RecordBatch.Decode(result.Batches).Where(r => r.Offset >= position).ToList();
            lock (_gate)
            {
                if (token.IsCancellationRequested || fetch.FetchPosition != position || records.Count == 0)
                {
                    continue;
                }
                foreach (var record in records)
                {
                    fetch.Buffer.Enqueue(record);
                    fetch.BufferedBytes += Size(record);
                }
                fetch.FetchPosition = records[^1].Offset + 1;
                var signal = _dataAvailable;
                _dataAvailable = NewSignal();
                signal.TrySetResult();
            }
        }
    }

    /// <summary>Commits consumed positions of owned partitions. Caller holds the commit gate.</summary>
    private async Task CommitConsumedAsync()
    {
        List<PartitionOffset> offsets;
        lock (_gate)
        {
            offsets = _partitions.Values
                .Where(f => f.ConsumedPosition > f.CommittedPosition)
                .Select(f => new PartitionOffset(f.Partition, f.ConsumedPosition))
                .ToList();
        }
        if (offsets.Count == 0)
        {
            return;
        }
        await _group.Commit(CommitRequestFor(offsets));
        lock (_gate)
        {
            foreach (var offset in offsets)
            {
                if (_partitions.TryGetValue(offset.Partition, out var fetch))
                {
                    fetch.CommittedPosition = Math.Max(fetch.CommittedPosition, offset.Offset);
                }
            }
        }
    }

    /// <summary>A group member commits as itself; a manually assigned consumer as Kafka's standalone consumer (no member, epoch -1).</summary>
    private CommitRequest CommitRequestFor(List<PartitionOffset> offsets) =>
        _manual ? new CommitRequest("", MemberEpochs.Leave, offsets) : new CommitRequest(MemberId, MemberEpoch, offsets);

    private List<PartitionFetch> StopFetching(IEnumerable<TopicPartition> partitions)
    {
        var stopped = new List<PartitionFetch>();
        lock (_gate)
        {
            foreach (var partition in partitions)
            {
                if (_partitions.Remove(partition, out var fetch))
                {
                    fetch.Stop.Cancel();
                    stopped.Add(fetch);
                }
            }
        }
        if (stopped.Count > 0 && _session is not null && !_stopping.IsCancellationRequested)
        {
            // Frees the session's buffers now rather than at its idle timeout; a lost call costs only memory for a while.
            _ = _session.Release([.. stopped.Select(f => f.Partition)]).ContinueWith(
                t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
        return stopped;
    }

    private void Fail(Exception error)
    {
        lock (_gate)
        {
            _fatal ??= error;
            var signal = _dataAvailable;
            _dataAvailable = NewSignal();
            signal.TrySetResult();
        }
    }

    private IPartitionGrain PartitionGrain(TopicPartition partition) =>
        _grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(partition));

    private static long Size(Record record) => 16 + (record.Key?.Length ?? 0) + (record.Value?.Length ?? 0);

    private static async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Fetch state of one owned partition. Guarded by the consumer's gate.</summary>
    private sealed class PartitionFetch(TopicPartition partition, long start, long committed)
    {
        private TaskCompletionSource? _space;

        public TopicPartition Partition { get; } = partition;
        public long FetchPosition { get; set; } = start;
        public long ConsumedPosition { get; set; } = start;
        public long CommittedPosition { get; set; } = committed;
        public Queue<Record> Buffer { get; } = new();
        public long BufferedBytes { get; set; }
        public bool Paused { get; set; }
        public bool Revoking { get; set; }
        public CancellationTokenSource Stop { get; } = new();
        public Task? Loop { get; set; }

        public Task WaitForSpace() => (_space ??= NewSignal()).Task;

        public void SignalSpace()
        {
            _space?.TrySetResult();
            _space = null;
        }
    }
}
