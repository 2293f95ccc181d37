using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Storage;
using Orleans.TestingHost;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// A duplicate activation of a group, simulated deterministically: the test writes the group's stored state behind the
/// active grain's back through the storage provider, as a second activation (Orleans can run one during a split brain)
/// would. The active grain is then the stale one: it must neither confirm nor hand out an assignment, and the member's
/// retry reaches a fresh activation that loaded what the "other" wrote. In the fixture a member with a 1.5 s session
/// has a confirmation staleness of 500 ms (a third of its session).
/// </summary>
public abstract class GroupSplitBrainTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{
    private const int Session = 1_500;

    private IGrainStorage Storage =>
        ((InProcessSiloHandle)Fixture.Cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.State);

    private IConsumerGroupGrain Group(string groupId) => Fixture.Cluster.GrainFactory.GetGrain<IConsumerGroupGrain>(groupId);

    /// <summary>Another activation writes the group: <paramref name="change"/> edits what it stores (the ETag changes regardless).</summary>
    private async Task WriteBehindTheGrainsBackAsync(string groupId, Action<GroupSnapshot> change)
    {
        var grainId = Group(groupId).GetGrainId();
        var stored = new GrainState<GroupSnapshot>(new GroupSnapshot());
        await Storage.ReadStateAsync("group", grainId, stored);
        Assert.True(stored.RecordExists);
        change(stored.State!);
        await Storage.WriteStateAsync("group", grainId, stored);
    }

    private static HeartbeatRequest Join(string memberId, string topic, int session = Session) =>
        new(memberId, 0, null, "split-brain", [topic], [], session, 30_000);

    private static HeartbeatRequest Confirm(HeartbeatResponse last) =>
        new(last.MemberId, last.MemberEpoch, null, "split-brain", null, last.Assignment);

    /// <summary>A member joins a new group on a new two-partition topic and heartbeats until it owns both.</summary>
    private async Task<(string GroupId, string Topic, HeartbeatResponse Stable)> StableMemberAsync(string memberId, int session = Session)
    {
        var topic = NewName("split");
        var groupId = NewName("split");
        await Admin.CreateTopicAsync(topic, 2);
        var reply = await Group(groupId).Heartbeat(Join(memberId, topic, session));
        while (reply.State != MemberState.Stable || reply.Assignment.Count != 2)
        {
            reply = await Group(groupId).Heartbeat(Confirm(reply));
        }
        return (groupId, topic, reply);
    }

    [Fact]
    public async Task StaleActivation_StopsConfirmingAnAssignmentWithinTheStalenessBound_AndTheRetryReachesTheLiveGroup()
    {
        var (groupId, _, stable) = await StableMemberAsync("a");
        // The other activation evicted a (its session ran out over there) and gave its partitions away.
        await WriteBehindTheGrainsBackAsync(groupId, g =>
        {
            g.Members.Clear();
            g.Target.Clear();
            g.MemberLastSeenMs.Clear();
            g.GroupEpoch++;
        });

        // Confirmations from memory stop once a's written last-seen is 500 ms old: the grain then writes, and fails.
        NotCoordinatorException? stale = null;
        await Wait.UntilAsync(async () =>
        {
            try
            {
                stable = await Group(groupId).Heartbeat(Confirm(stable));
                Assert.Equal(2, stable.Assignment.Count);
                return false;
            }
            catch (NotCoordinatorException e)
            {
                stale = e;
                return true;
            }
        }, TimeSpan.FromSeconds(5), "the stale group activation refuses to confirm");

        Assert.True(stale!.IsRetriable);
        await Assert.ThrowsAsync<UnknownMemberException>(() => Group(groupId).Heartbeat(Confirm(stable)));
    }

    [Fact]
    public async Task StaleActivation_CannotHandOutAPartition()
    {
        var (groupId, topic, _) = await StableMemberAsync("a");
        await WriteBehindTheGrainsBackAsync(groupId, _ => { });

        // b's join would move a partition: the write behind it fails, so nothing is handed out.
        await Assert.ThrowsAsync<NotCoordinatorException>(() => Group(groupId).Heartbeat(Join("b", topic)));

        var description = await Group(groupId).Describe();
        Assert.Equal(["a"], description.Members.Select(m => m.MemberId));
    }

    [Fact]
    public async Task ReactivatedGroup_EvictsAMemberThatDiedBeforeTheMove_WithinSessionPlusStalenessOfItsLastHeartbeat()
    {
        // A 6 s session (staleness 2 s): a dies, and the group moves 4 s later. Restarting a's session clock on
        // reactivation would keep it until 4 + 6 = 10 s; its written last-seen bounds it to 6 + 2 = 8 s.
        const int session = 6_000, staleness = session / 3, movedAfter = 4_000;
        var (groupId, topic, _) = await StableMemberAsync("a", session);
        var lastHeartbeat = DateTimeOffset.UtcNow;
        await Wait.UntilAsync(() => DateTimeOffset.UtcNow >= lastHeartbeat.AddMilliseconds(movedAfter), TimeSpan.FromSeconds(10), "the group has heard nothing from a for 4 s");
        await WriteBehindTheGrainsBackAsync(groupId, _ => { });
        // The stale activation fails its next write and deactivates; b's retry activates the group afresh.
        await Assert.ThrowsAsync<NotCoordinatorException>(() => Group(groupId).Heartbeat(Join("b", topic, session)));
        var b = await Group(groupId).Heartbeat(Join("b", topic, session));

        await Wait.UntilAsync(async () =>
        {
            b = await Group(groupId).Heartbeat(Confirm(b));
            return (await Group(groupId).Describe()).Members.All(m => m.MemberId != "a");
        }, TimeSpan.FromSeconds(20), "a is evicted");
        var evictedAfter = DateTimeOffset.UtcNow - lastHeartbeat;

        // Expiry runs every 100 ms; 600 ms of slack for a loaded machine, still short of the 10 s a restarted clock gives.
        Assert.True(evictedAfter < TimeSpan.FromMilliseconds(session + staleness + 600), $"a evicted {evictedAfter.TotalMilliseconds:0} ms after its last heartbeat");
        Assert.True(evictedAfter >= TimeSpan.FromMilliseconds(session - 200), $"a evicted {evictedAfter.TotalMilliseconds:0} ms after its last heartbeat");
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryGroupSplitBrainTests(MemoryClusterFixture fixture) : GroupSplitBrainTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteGroupSplitBrainTests(AzuriteClusterFixture fixture) : GroupSplitBrainTests(fixture);
