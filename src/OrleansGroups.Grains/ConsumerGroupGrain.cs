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
/// </summary>
internal sealed class ConsumerGroupGrain(
    [PersistentState("group", StorageNames.State)] IPersistentState<GroupSnapshot> state,
    IOptions<OrleansGroupsOptions> options,
    TimeProvider time,
    ILogger<ConsumerGroupGrain> logger) : Grain, IConsumerGroupGrain
{
    /// <summary>Kafka's limit on group ids is the string length of its protocol; ours keeps keys sane.</summary>
    public const int MaxGroupIdLength = 249;

    private GroupCoordinator _coordinator = null!;
    private IReadOnlyDictionary<string, int> _partitionCounts = new Dictionary<string, int>();
    private IReadOnlyCollection<string> _partitionCountsFor = [];
    private DateTimeOffset _partitionCountsAt;
    private bool _registered;

    private string GroupId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(GroupId) || GroupId.Length > MaxGroupIdLength)
        {
            throw new InvalidGroupIdException(GroupId, $"a group id has 1 to {MaxGroupIdLength} characters");
        }
        _registered = state.RecordExists;
        _coordinator = NewCoordinator(state.State);
        var period = options.Value.Groups.ExpiryCheckInterval;
        this.RegisterGrainTimer(ExpireMembersAsync, period, period);
        return Task.CompletedTask;
    }

    public async Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request)
    {
        var counts = await PartitionCountsAsync(_coordinator.SubscribedTopics(request.SubscribedTopics));
        var result = _coordinator.Heartbeat(request, counts);
        await PersistAsync(result.Changed);
        return result.Response;
    }

    public async Task Leave(string memberId)
    {
        var result = _coordinator.Leave(memberId);
        await PersistAsync(result.Changed);
    }

    public async Task Commit(CommitRequest request)
    {
        var result = _coordinator.Commit(request);
        await PersistAsync(result.Changed);
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

    private async Task ExpireMembersAsync(CancellationToken cancellationToken)
    {
        var result = _coordinator.ExpireMembers();
        if (result.Changed)
        {
            Log.MembersEvicted(logger, GroupId, string.Join(", ", result.Response));
            await PersistAsync(changed: true);
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

    private async Task PersistAsync(bool changed)
    {
        if (!changed)
        {
            return;
        }
        var previous = state.State;
        state.State = _coordinator.Model.ToSnapshot();
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception e)
        {
            Log.GroupWriteFailed(logger, GroupId, e);
            state.State = previous;
            _coordinator = NewCoordinator(previous);
            DeactivateOnIdle();
            throw new StorageUnavailableException($"Group '{GroupId}' could not be saved ({e.GetType().Name}); nothing changed.", e);
        }
        if (!_registered)
        {
            await GrainFactory.GetGrain<IGroupRegistryGrain>(GrainKeys.GroupRegistry).Register(GroupId);
            _registered = true;
        }
    }

    private GroupCoordinator NewCoordinator(GroupSnapshot snapshot) => new(
        ConsumerGroupModel.FromSnapshot(GroupId, snapshot, options.Value.Groups.Assignor),
        options.Value.Groups.Coordinator,
        time);
}
