using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;
using OrleansGroups.Hosting;

namespace OrleansGroups;

/// <summary>
/// Thin shell over <see cref="GroupCoordinator"/>: load state, run the handler, persist the result, reply.
/// A failed write rolls the in-memory group back and drops the activation, so nothing unpersisted is ever served.
/// Every reply that confirms or hands out an assignment is backed by an ETag-checked write no older than the
/// coordinator's staleness bound (<see cref="GroupCoordinator"/> remarks): a duplicate activation's write fails with an
/// ETag mismatch, and it answers <see cref="NotCoordinatorException"/> and deactivates instead of confirming.
/// </summary>
internal sealed class ConsumerGroupGrain(
    [PersistentState("group", StorageNames.State)] IPersistentState<GroupSnapshot> state,
    IOptions<OrleansGroupsOptions> options,
    TimeProvider time,
    ILogger<ConsumerGroupGrain> logger,
    Diagnostics.GroupMetricsRegistry metricsRegistry) : Grain, IConsumerGroupGrain, IIncomingGrainCallFilter
{
    /// <summary>Kafka's limit on group ids is the string length of its protocol; ours keeps keys sane.</summary>
    public const int MaxGroupIdLength = Ids.MaxLength;

    private GroupCoordinator _coordinator = null!;
    private IReadOnlyDictionary<string, int> _partitionCounts = new Dictionary<string, int>();
    private IReadOnlyCollection<string> _partitionCountsFor = [];
    private DateTimeOffset _partitionCountsAt;
    private bool _registered;
    private InvalidGroupIdException? _badKey;
    private Diagnostics.GroupMetrics? _metrics;
    private readonly Dictionary<string, IGroupMemberObserver> _observers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _rungAndNotYetHeard = new(StringComparer.Ordinal);

    private string GroupId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        try
        {
            Ids.ValidateGroupId(GroupId);
        }
        catch (InvalidGroupIdException e)
        {
            // Every call is refused (see Invoke); nothing is loaded, no timer runs.
            _badKey = e;
            return;
        }
        _coordinator = NewCoordinator(state.State);
        // A cleared record may still exist (storage providers differ), so a deleted group counts as unregistered.
        _registered = state.RecordExists && _coordinator.Model.HasState;
        var period = options.Value.Groups.ExpiryCheckInterval;
        this.RegisterGrainTimer(ExpireAsync, period, period);
        StartMetrics();
        // An idle group is not active to run its timer: offsets that expired meanwhile go before anything is served.
        await ExpireOffsetsAsync();
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _metrics?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Publishes members and lag to the silo's metrics every Groups.MetricsInterval (interleaved: reading partitions'
    /// end offsets never holds up a heartbeat), and stays active while there is something to report.
    /// </summary>
    private void StartMetrics()
    {
        var period = options.Value.Groups.MetricsInterval;
        if (period <= TimeSpan.Zero)
        {
            return;
        }
        _metrics = new Diagnostics.GroupMetrics(GroupId, metricsRegistry, time);
        _metrics.Observe(_coordinator.Model);
        this.RegisterGrainTimer(async _ =>
        {
            if (await _metrics.RefreshAsync(GrainFactory, () => _coordinator.Model))
            {
                DelayDeactivation(3 * period);
            }
        }, new GrainTimerCreationOptions(TimeSpan.Zero, period) { Interleave = true });
    }

    /// <summary>Refuses every call to a grain whose key is not a legal group id, before anything is read or written.</summary>
    public Task Invoke(IIncomingGrainCallContext context) =>
        _badKey is null ? context.Invoke() : Task.FromException(new InvalidGroupIdException(GroupId, _badKey.Reason));

    public async Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request)
    {
        ValidateRequest(request);
        var counts = await PartitionCountsAsync(_coordinator.SubscribedTopics(request.SubscribedTopics));
        _rungAndNotYetHeard.Remove(request.MemberId);
        var result = _coordinator.Heartbeat(request, counts);
        await PersistAsync(result.Events, result.MustConfirm);
        RingMembersThatCanProgress(result.Events.Count, request.MemberId);
        return result.Response;
    }

    /// <summary>
    /// Bounds what a heartbeat can make the group store, before anything runs: member, instance and client ids like
    /// group ids (<see cref="Ids.MaxLength"/>), subscribed topics legal names and no more than the cluster may hold.
    /// </summary>
    private void ValidateRequest(HeartbeatRequest request)
    {
        Ids.ValidateMemberId(request.MemberId);
        Ids.ValidateOptional(request.InstanceId, "group.instance.id");
        Ids.ValidateClientId(request.ClientId);
        if (request.SubscribedTopics is { } topics)
        {
            if (topics.Count > options.Value.MaxTopics)
            {
                throw new InvalidRequestException(
                    $"A member subscribes to {topics.Count} topics; the cluster holds at most {options.Value.MaxTopics} (MaxTopics).");
            }
            foreach (var topic in topics)
            {
                TopicName.Validate(topic);
            }
        }
    }

    public Task Watch(string memberId, IGroupMemberObserver observer)
    {
        if (_coordinator.Model.Members.ContainsKey(memberId))
        {
            _observers[memberId] = observer;
        }
        return Task.CompletedTask;
    }

    /// <summary>After a change, wakes the members that can now move toward their target (one-way calls, nothing awaited).</summary>
    private void RingMembersThatCanProgress(int eventCount, string? caller)
    {
        if (eventCount == 0 || _observers.Count == 0)
        {
            return;
        }
        foreach (var gone in _observers.Keys.Where(id => !_coordinator.Model.Members.ContainsKey(id)).ToList())
        {
            _observers.Remove(gone);
            _rungAndNotYetHeard.Remove(gone);
        }
        foreach (var memberId in _coordinator.MembersThatCanProgress())
        {
            // One ring until the member answers: a rebalance wave rings each member once, not once per change.
            if (memberId != caller && _observers.TryGetValue(memberId, out var observer) && _rungAndNotYetHeard.Add(memberId))
            {
                try
                {
                    _ = observer.OnGroupChanged();
                }
                catch (Exception)
                {
                    // A stale doorbell: the member falls back to its heartbeat interval and registers again.
                    _observers.Remove(memberId);
                }
            }
        }
    }

    public async Task Leave(string memberId)
    {
        var result = _coordinator.Leave(memberId);
        await PersistAsync(result.Events);
        RingMembersThatCanProgress(result.Events.Count, memberId);
    }

    public async Task Commit(CommitRequest request)
    {
        var result = _coordinator.Commit(request);
        await PersistAsync(result.Events);
    }

    public Task<IReadOnlyDictionary<TopicPartition, CommittedOffset>> GetCommittedOffsets(IReadOnlyList<TopicPartition>? partitions)
    {
        var offsets = _coordinator.Model.Offsets;
        IReadOnlyDictionary<TopicPartition, CommittedOffset> result = partitions is null
            ? new Dictionary<TopicPartition, CommittedOffset>(offsets)
            : partitions.Where(offsets.ContainsKey).Distinct().ToDictionary(p => p, p => offsets[p]);
        return Task.FromResult(result);
    }

    public Task<GroupDescription> Describe() => Task.FromResult(_coordinator.Describe());

    public async Task DeleteGroup()
    {
        GroupResult<bool> result;
        try
        {
            result = _coordinator.DeleteGroup();
        }
        catch (GroupIdNotFoundException)
        {
            // An earlier delete may have cleared the state but failed to unregister: finish that delete.
            await UnregisterAsync();
            throw;
        }
        await PersistAsync(result.Events);
    }

    public async Task<IReadOnlyList<OffsetResetResult>> ResetOffsets(string topic, IReadOnlyList<int>? partitions, OffsetResetSpec spec, bool dryRun)
    {
        TopicName.Validate(topic);
        var counts = await GrainFactory.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry).GetPartitionCounts([topic]);
        var selected = OffsetResetPlanner.SelectPartitions(topic, counts.TryGetValue(topic, out var count) ? count : null, partitions);
        var bounds = await Task.WhenAll(selected.Select(partition => LogBoundsAsync(partition, spec)));
        var result = _coordinator.ResetOffsets(spec, bounds, dryRun);
        await PersistAsync(result.Events);
        return result.Response;
    }

    private async Task<PartitionLogBounds> LogBoundsAsync(TopicPartition partition, OffsetResetSpec spec)
    {
        var log = GrainFactory.GetGrain<IPartitionGrain>(GrainKeys.Partition(partition));
        var marks = await log.GetWatermarks();
        // Negative times are Kafka's special "earliest" (-2) and "latest" (-1) lookups; a time before 1970 means "from the start".
        long? offsetForTime = spec.Mode == OffsetResetMode.ToDatetime ? await log.GetOffsetForTimestamp(Math.Max(0, spec.Value)) : null;
        return new PartitionLogBounds(partition, marks.LogStartOffset, marks.HighWatermark, offsetForTime);
    }

    private async Task ExpireAsync(CancellationToken cancellationToken)
    {
        var result = _coordinator.ExpireMembers();
        if (result.Changed)
        {
            Log.MembersEvicted(logger, GroupId, string.Join(", ", result.Response));
            await PersistAsync(result.Events);
            RingMembersThatCanProgress(result.Events.Count, caller: null);
        }
        await ExpireOffsetsAsync();
    }

    private async Task ExpireOffsetsAsync()
    {
        var result = _coordinator.ExpireOffsets(options.Value.Groups.OffsetsRetention);
        if (result.Changed)
        {
            Log.OffsetsExpired(logger, GroupId, result.Response.Count);
            await PersistAsync(result.Events);
        }
    }

    private async Task<IReadOnlyDictionary<string, int>> PartitionCountsAsync(IReadOnlyCollection<string> topics)
    {
        // Topic metadata changes rarely: re-read it when the subscribed set changes or the cache is old.
        var now = time.GetUtcNow();
        if (!topics.All(_partitionCountsFor.Contains) || now - _partitionCountsAt > options.Value.Groups.MetadataRefreshInterval)
        {
            _partitionCounts = await GrainFactory.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry).GetPartitionCounts(topics);
            _partitionCountsFor = topics;
            _partitionCountsAt = now;
        }
        return _partitionCounts;
    }

    /// <summary>
    /// Saves what the events changed, or with <paramref name="confirm"/> writes the group unchanged but for its members'
    /// last-seen times, so the reply is backed by a successful ETag-checked write; a deleted group's state and registry
    /// entry are removed instead.
    /// </summary>
    private async Task PersistAsync(IReadOnlyList<GroupEvent> events, bool confirm = false)
    {
        if (events.Count == 0 && !confirm)
        {
            return;
        }
        var deleted = events.Count > 0 && events[^1] is GroupDeleted;
        var previous = state.State;
        var registering = !deleted && !_registered;
        if (registering)
        {
            // A new group is registered before its first write, so a full registry (Groups.MaxGroups) refuses it
            // before anything is stored; the events are undone in memory.
            try
            {
                await GrainFactory.GetGrain<IGroupRegistryGrain>(GrainKeys.GroupRegistry).Register(GroupId);
                _registered = true;
            }
            catch (Exception)
            {
                _coordinator = NewCoordinator(previous);
                throw;
            }
        }
        try
        {
            if (deleted)
            {
                await state.ClearStateAsync();
            }
            else
            {
                state.State = _coordinator.ToSnapshot();
                await state.WriteStateAsync();
                _coordinator.Written(state.State);
            }
        }
        catch (Exception e)
        {
            Log.GroupWriteFailed(logger, GroupId, e);
            Diagnostics.OrleansGroupsMetrics.StorageFailed("group.write", e);
            if (registering)
            {
                // Nothing of the new group was stored: leave the registry as it was (best effort; a retry registers again).
                try
                {
                    await UnregisterAsync();
                }
                catch (Exception)
                {
                    // The registry lists a group without state; listing tolerates it and the group's next write fixes it.
                }
            }
            state.State = previous;
            _coordinator = NewCoordinator(previous);
            DeactivateOnIdle();
            if (IsEtagMismatch(e))
            {
                // Another activation wrote the group since this one last did: this one is stale and must not answer.
                throw new NotCoordinatorException(GroupId, e);
            }
            throw new StorageUnavailableException($"Group '{GroupId}' could not be saved ({e.GetType().Name}); nothing changed.", e);
        }
        if (deleted)
        {
            Log.GroupDeleted(logger, GroupId);
            state.State = new GroupSnapshot();
            _coordinator = NewCoordinator(state.State);
            await UnregisterAsync();
        }
        _metrics?.Observe(_coordinator.Model);
    }

    private async Task UnregisterAsync()
    {
        await GrainFactory.GetGrain<IGroupRegistryGrain>(GrainKeys.GroupRegistry).Unregister(GroupId);
        _registered = false;
    }

    private static bool IsEtagMismatch(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is Orleans.Storage.InconsistentStateException)
            {
                return true;
            }
        }
        return false;
    }

    private GroupCoordinator NewCoordinator(GroupSnapshot snapshot) =>
        GroupCoordinator.FromSnapshot(GroupId, snapshot, options.Value.Groups.Assignor, options.Value.Groups.Coordinator, time);
}
