using OrleansGroups.Core.Assignment;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;
using Xunit.Abstractions;
using Xunit.Sdk;
using static OrleansGroups.Core.Coordination.MemberState;
using static OrleansGroups.Core.Tests.Coordination.GroupBuilders;

namespace OrleansGroups.Core.Tests.Coordination;

/// <summary>
/// Randomized model check. A seeded stream of joins, leaves, restarts (static members under a new member id), heartbeats, commits, topic growth,
/// subscription changes, grain reloads and clock jumps with expiry drives one group. Members are simulated
/// clients: each holds what its last reply gave it plus partitions it was told to revoke and is still
/// finishing, and reports exactly that. Replies are sometimes lost (the member keeps its old view and reports it
/// again), and now and then an old request arrives late (a stale view, which may be fenced; the member rejoins).
/// After every step the group and the clients must satisfy the protocol's invariants; after quiescence (every
/// member heartbeats, nothing else happens) the group must be stable, owning exactly a target that covers every
/// partition once.
/// </summary>
public class GroupModelCheckTests(ITestOutputHelper output)
{
    private const int Steps = 400;

    /// <remarks>
    /// The sticky "uniform" assignor is the default; "range" is not sticky, so it moves far more partitions per
    /// rebalance and stresses the hand-off harder.
    /// </remarks>
    [Theory]
    [InlineData(1, "uniform")]
    [InlineData(42, "uniform")]
    [InlineData(20250101, "uniform")]
    [InlineData(1, "range")]
    [InlineData(42, "range")]
    [InlineData(20250101, "range")]
    public void RandomChurn_NeverSharesAPartition_AndQuiescesToTheTarget(int seed, string assignor) =>
        Check(new Simulation(seed, assignor, staticMembers: false), Steps);

    /// <summary>
    /// The same churn with a third of the members static (<c>group.instance.id</c>): they also restart under a new
    /// member id and take their previous incarnation's place, and the old incarnation is fenced if it speaks again.
    /// </summary>
    [Theory]
    [InlineData(7, "uniform")]
    [InlineData(2024, "uniform")]
    [InlineData(11, "range")]
    [InlineData(2024, "range")]
    public void RandomChurnWithStaticMembers_NeverSharesAPartition_AndQuiescesToTheTarget(int seed, string assignor) =>
        Check(new Simulation(seed, assignor, staticMembers: true), 2 * Steps, "static-restart", "fenced-instance");

    private void Check(Simulation simulation, int steps, params string[] alsoExpected)
    {
        for (var step = 1; step <= steps; step++)
        {
            simulation.Run(step, simulation.RandomStep);
            if (step % 100 == 0)
                simulation.Run(step, simulation.Quiesce);
        }

        var seen = simulation.Seen;
        output.WriteLine(string.Join(", ", seen.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}")));
        // The run must have exercised the interesting transitions, or passing proves little.
        string[] expected =
        [
            "join", "leave", "rejoin", "revoke", "slow-release", "unreleased", "lost-reply", "late-request", "fenced",
            "session-expiry", "rebalance-expiry", "commit", "stale-commit-rejected", "grow", "resubscribe", "reload",
            .. alsoExpected,
        ];
        foreach (var kind in expected)
            Assert.True(seen.GetValueOrDefault(kind) > 0, $"{simulation} never saw '{kind}'");
    }

    /// <summary>One simulated group and its members' client-side state.</summary>
    private sealed class Simulation(int seed, string assignor, bool staticMembers)
    {
        private const int MaxMembers = 6;
        private const int RevocationTimeoutMs = 5_000; // shorter than the session, so revocation timeouts happen too
        private static readonly string[][] Subscriptions = [[T], [T], [T, U], [U]];

        private readonly Random _random = new(seed);
        private readonly ConsumerGroupModel _replica = new(GroupId, assignor); // fed only the returned events
        private readonly Dictionary<string, Client> _clients = new(StringComparer.Ordinal);
        private readonly Queue<string> _recent = new();
        private TestGroup _group = new(assignor, (T, 6), (U, 3));
        private int _nextId;
        private bool _quiescing;

        public Dictionary<string, int> Seen { get; } = new(StringComparer.Ordinal);

        public override string ToString() => $"seed {seed} ({assignor}{(staticMembers ? ", static members" : "")})";

        private ConsumerGroupModel Model => _group.Model;

        private DateTimeOffset Now => _group.Time.GetUtcNow();

        /// <summary>Runs a step and its invariant checks; a failure names the seed, the step and the recent actions.</summary>
        public void Run(int step, Action action)
        {
            try
            {
                action();
                CheckInvariants();
            }
            catch (Exception e) when (e is XunitException or OrleansGroupsException or InvalidOperationException)
            {
                throw new XunitException(
                    $"{this}, step {step}: {e.GetType().Name}: {e.Message}{Environment.NewLine}Recent actions:{Environment.NewLine}" +
                    string.Join(Environment.NewLine, _recent) + Environment.NewLine + Show(Model.ToSnapshot()), e);
            }
        }

        public void RandomStep()
        {
            var roll = _random.Next(100);
            if (_clients.Count == 0 || (roll < 8 && _clients.Count < MaxMembers))
                Join();
            else if (roll < 12)
                Leave(PickClient());
            else if (roll < 15)
                Rejoin(PickClient());
            else if (staticMembers && roll < 18 && PickStaticClient() is { } restarting)
                StaticRestart(restarting);
            else if (roll < 60)
                RandomHeartbeat(PickClient());
            else if (roll < 75)
                Tick(_random.Next(6_000));
            else if (roll < 77)
                Grow();
            else if (roll < 78)
                Reload();
            else if (roll < 83)
                Resubscribe(PickClient());
            else
                Commit(PickClient(), stale: _random.Next(4) == 0);
        }

        /// <summary>
        /// All members heartbeat (replies delivered, revoked partitions dropped at once, nothing else happening)
        /// until the group is stable; then each owns exactly its target, and together they own every partition once.
        /// </summary>
        public void Quiesce()
        {
            Note("quiesce");
            if (_clients.Count == 0)
            {
                Assert.Equal(GroupState.Empty, Model.State);
                return;
            }
            _quiescing = true;
            foreach (var client in _clients.Values)
                client.Releasing.Clear();
            // At least one round, so that topic growth the group has not heard of yet is picked up.
            var round = 0;
            do
            {
                Assert.True(++round <= 5, "the group did not become stable within 5 heartbeat rounds");
                foreach (var memberId in _clients.Keys.Order(StringComparer.Ordinal).ToList())
                {
                    Heartbeat(memberId);
                    CheckInvariants();
                }
            }
            while (Model.State != GroupState.Stable);
            _quiescing = false;

            var expected = Model.Members.Values.SelectMany(m => m.SubscribedTopics).Distinct()
                .SelectMany(topic => Enumerable.Range(0, _group.PartitionCounts[topic]).Select(p => new TopicPartition(topic, p)))
                .Order().ToList();
            Assert.Equal(expected, Model.Members.Values.SelectMany(m => m.AssignedPartitions).Order().ToList());
            foreach (var member in Model.Members.Values)
            {
                Assert.Empty(member.PartitionsPendingRevocation);
                Assert.True(member.AssignedPartitions.SetEquals(Model.TargetOf(member.MemberId)), $"{Show(member)} does not own its target");
            }
        }

        private void Join()
        {
            var memberId = $"m{_nextId++:D2}";
            // A third of the members are static (group.instance.id), so restarts can hand their partitions over.
            var instanceId = staticMembers && _random.Next(3) == 0 ? $"i-{memberId}" : null;
            _clients[memberId] = new Client(Subscriptions[_random.Next(Subscriptions.Length)]) { InstanceId = instanceId };
            Note($"{memberId} joins [{string.Join(",", _clients[memberId].Topics)}]");
            Count("join");
            SendJoin(memberId);
        }

        private void Rejoin(string memberId)
        {
            Note($"{memberId} restarts and rejoins with epoch 0");
            Count("rejoin");
            SendJoin(memberId);
        }

        /// <summary>A (re)joining member has dropped everything it held.</summary>
        private void SendJoin(string memberId)
        {
            var client = _clients[memberId];
            client.History.Clear();
            client.Releasing.Clear();
            Send(memberId, new HeartbeatRequest(memberId, 0, client.InstanceId, ClientIdOf(memberId), client.Topics, [], SessionTimeoutMs, RevocationTimeoutMs));
        }

        /// <summary>
        /// A static member's process restarts under a new member id with the same instance id: the new incarnation
        /// holds nothing and takes the old one's place (KIP-345). Now and then the old incarnation, not quite dead,
        /// sends one more heartbeat: it must be fenced and change nothing.
        /// </summary>
        private void StaticRestart(string memberId)
        {
            var old = _clients[memberId];
            var newId = $"m{_nextId++:D2}";
            Note($"{memberId} ({old.InstanceId}) restarts as {newId}");
            Count("static-restart");
            _clients.Remove(memberId);
            _clients[newId] = new Client(old.Topics) { InstanceId = old.InstanceId };
            SendJoin(newId);
            if (old.History.Count > 0 && _random.Next(2) == 0)
            {
                var before = Show(Model.ToSnapshot());
                Note($"  {memberId}'s zombie heartbeats epoch {old.Current.MemberEpoch}");
                var error = Assert.Throws<FencedInstanceIdException>(() => _group.Coordinator.Heartbeat(
                    new HeartbeatRequest(memberId, old.Current.MemberEpoch, old.InstanceId, ClientIdOf(memberId), null, old.Holding.ToList()),
                    _group.PartitionCounts));
                Assert.Equal(newId, error.CurrentMemberId);
                Assert.Equal(before, Show(Model.ToSnapshot()));
                Count("fenced-instance");
            }
        }

        private string? PickStaticClient()
        {
            var candidates = _clients.Where(c => c.Value.InstanceId is not null).Select(c => c.Key).Order(StringComparer.Ordinal).ToList();
            return candidates.Count == 0 ? null : candidates[_random.Next(candidates.Count)];
        }

        private void Leave(string memberId)
        {
            Note($"{memberId} leaves");
            Count("leave");
            Replay(_group.Coordinator.Leave(memberId).Events);
            _clients.Remove(memberId);
        }

        private void RandomHeartbeat(string memberId)
        {
            var client = _clients[memberId];
            if (client.Releasing.Count > 0 && _random.Next(2) == 0)
            {
                Note($"{memberId} finished releasing [{Show(client.Releasing)}]");
                client.Releasing.Clear();
            }
            var roll = _random.Next(20);
            if (roll < 2 && client.History.Count > 1 && client.InSync && client.Releasing.Count == 0)
                LateRequest(memberId, client);
            else
                Heartbeat(memberId, replyLost: roll is 2 or 3, ownedUnchanged: roll == 4);
        }

        /// <summary>A heartbeat reporting what the member holds: its assignment and what it is still releasing.</summary>
        private void Heartbeat(string memberId, bool replyLost = false, bool ownedUnchanged = false)
        {
            var client = _clients[memberId];
            IReadOnlyList<TopicPartition>? owned = ownedUnchanged ? null : client.Holding.Order().ToList();
            Note($"{memberId} heartbeats epoch {client.Current.MemberEpoch} owning {(owned is null ? "(unchanged)" : $"[{Show(owned)}]")}{(replyLost ? ", reply lost" : "")}");
            Send(memberId, new HeartbeatRequest(memberId, client.Current.MemberEpoch, client.InstanceId, ClientIdOf(memberId), null, owned), replyLost);
        }

        /// <summary>
        /// An old request of the member arrives late: the epoch and assignment of a view some changes back.
        /// Like Kafka, the protocol assumes one request in flight per member, so a late request that reports
        /// fewer partitions than the member holds would pass for a release confirmation. We only inject one
        /// when that cannot mislead: the member saw its last reply and has dropped everything it was told to.
        /// </summary>
        private void LateRequest(string memberId, Client client)
        {
            var behind = 1 + _random.Next(client.History.Count - 1);
            var view = client.History[^(1 + behind)];
            Note($"{memberId}'s request from {behind} changes ago arrives: epoch {view.MemberEpoch} owning [{Show(view.Assignment)}]");
            Count("late-request");
            var before = Show(Model.ToSnapshot());
            try
            {
                Send(memberId, new HeartbeatRequest(memberId, view.MemberEpoch, client.InstanceId, ClientIdOf(memberId), null, view.Assignment));
            }
            catch (FencedMemberEpochException)
            {
                // A fenced member does what a Kafka consumer does: drops everything and rejoins.
                Assert.Equal(before, Show(Model.ToSnapshot()));
                Count("fenced");
                Note($"{memberId} was fenced");
                SendJoin(memberId);
            }
        }

        private void Resubscribe(string memberId)
        {
            var client = _clients[memberId];
            client.Topics = Subscriptions[_random.Next(Subscriptions.Length)];
            Note($"{memberId} subscribes to [{string.Join(",", client.Topics)}]");
            Count("resubscribe");
            Send(memberId, new HeartbeatRequest(memberId, client.Current.MemberEpoch, client.InstanceId, ClientIdOf(memberId), client.Topics,
                client.Holding.Order().ToList()));
        }

        private void Tick(int milliseconds)
        {
            _group.Advance(milliseconds);
            var now = Now;
            Note($"clock +{milliseconds} ms");
            // Independently of the coordinator: who should be evicted, and why.
            var expected = _clients
                .Select(c => (MemberId: c.Key, Reason:
                    now >= c.Value.LastHeartbeat.AddMilliseconds(SessionTimeoutMs) ? $"session timeout ({SessionTimeoutMs} ms)"
                    : c.Value.RevokingSince is { } since && now >= since.AddMilliseconds(RevocationTimeoutMs) ? $"rebalance timeout ({RevocationTimeoutMs} ms) while revoking"
                    : null))
                .Where(c => c.Reason is not null)
                .OrderBy(c => c.MemberId, StringComparer.Ordinal)
                .Select(c => $"{c.MemberId}: {c.Reason}")
                .ToList();

            var result = _group.Coordinator.ExpireMembers();
            Replay(result.Events);

            var removed = result.Events.OfType<MemberRemoved>().OrderBy(r => r.MemberId, StringComparer.Ordinal).Select(r => $"{r.MemberId}: {r.Reason}").ToList();
            Assert.Equal(expected, removed);
            Assert.Equal(result.Response.Order(StringComparer.Ordinal), removed.Select(r => r[..r.IndexOf(':')]));
            foreach (var memberId in result.Response)
            {
                Count(removed.Single(r => r.StartsWith(memberId + ":", StringComparison.Ordinal)).Contains("session") ? "session-expiry" : "rebalance-expiry");
                Note($"{memberId} expired");
                _clients.Remove(memberId);
            }
        }

        /// <summary>The grain deactivates and comes back from its snapshot: every session and revocation clock restarts.</summary>
        private void Reload()
        {
            Note("group reloaded from its snapshot");
            Count("reload");
            _group = _group.Reload();
            foreach (var (memberId, client) in _clients)
            {
                client.LastHeartbeat = Now;
                client.RevokingSince = Model.Members[memberId].State == UnrevokedPartitions ? Now : null;
            }
        }

        private void Grow()
        {
            var topic = _random.Next(2) == 0 ? T : U;
            var grown = Math.Min(_group.PartitionCounts[topic] + 1 + _random.Next(2), topic == T ? 12 : 6);
            Note($"{topic} grows from {_group.PartitionCounts[topic]} to {grown} partitions");
            Count("grow");
            _group.PartitionCounts[topic] = grown;
        }

        /// <summary>
        /// Commits positions of partitions the member holds (including ones it is releasing): always accepted. A
        /// stale commit comes from the oldest view the member remembers and is accepted exactly when the member
        /// still owns all of it.
        /// </summary>
        private void Commit(string memberId, bool stale)
        {
            var client = _clients[memberId];
            var (epoch, holding) = stale ? (client.History[0].MemberEpoch, client.History[0].Assignment) : (client.Current.MemberEpoch, client.Holding.ToList());
            if (holding.Count == 0)
                return;
            var partitions = holding.Where(_ => _random.Next(2) == 0).DefaultIfEmpty(holding[0]).ToList();
            var request = new CommitRequest(memberId, epoch, partitions.Select(p => new PartitionOffset(p, _random.Next(1_000))).ToList());
            Note($"{memberId} commits {(stale ? "from its oldest view " : "")}epoch {epoch} [{Show(partitions)}]");
            var owns = partitions.All(Model.Members[memberId].Owns);
            var before = Show(Model.ToSnapshot());
            try
            {
                Replay(_group.Coordinator.Commit(request).Events);
                Assert.True(owns, "a commit for partitions the member does not own was accepted");
                Count("commit");
            }
            catch (StaleMemberEpochException) when (stale && !owns)
            {
                Assert.Equal(before, Show(Model.ToSnapshot()));
                Count("stale-commit-rejected");
            }
        }

        private void Send(string memberId, HeartbeatRequest request, bool replyLost = false)
        {
            Model.Members.TryGetValue(memberId, out var before);
            var result = _group.Coordinator.Heartbeat(request, _group.PartitionCounts);
            Replay(result.Events);
            var after = Model.Members[memberId];
            Note($"  -> epoch {after.MemberEpoch} {after.State} assigned [{Show(after.AssignedPartitions)}] pending [{Show(after.PartitionsPendingRevocation)}]");

            // Partitions a member keeps in its target are never taken from it, not even for a moment.
            if (before is not null && request.MemberEpoch != 0)
            {
                var kept = before.AssignedPartitions.Intersect(Model.TargetOf(memberId));
                Assert.True(kept.IsSubsetOf(after.AssignedPartitions), $"{memberId} lost part of [{Show(kept)}]: {Show(after)}");
            }

            // The group's clocks, as the expiry model expects them: the session restarts on every heartbeat, the
            // revocation clock when the member is told to revoke a new set of partitions.
            var client = _clients[memberId];
            client.LastHeartbeat = Now;
            if (after.State != UnrevokedPartitions)
                client.RevokingSince = null;
            else if (request.MemberEpoch == 0 || before is null || before.State != UnrevokedPartitions ||
                     !before.PartitionsPendingRevocation.SetEquals(after.PartitionsPendingRevocation))
            {
                client.RevokingSince = Now;
                Count("revoke");
            }
            if (after.State == UnreleasedPartitions)
                Count("unreleased");

            if (replyLost)
            {
                client.InSync = false;
                Count("lost-reply");
                return;
            }
            client.Receive(result.Response);
            // A member told to give partitions up either drops them at once or keeps them while it finishes.
            if (client.Releasing.Count > 0)
            {
                if (!_quiescing && _random.Next(2) == 0)
                {
                    Count("slow-release");
                    Note($"  {memberId} keeps [{Show(client.Releasing)}] while it finishes");
                }
                else
                {
                    client.Releasing.Clear();
                }
            }
        }

        private void CheckInvariants()
        {
            // 1. No partition has two owners, and every owned partition exists.
            AssertNoPartitionOwnedTwice(Model);
            foreach (var member in Model.Members.Values)
            {
                foreach (var partition in member.AssignedPartitions.Concat(member.PartitionsPendingRevocation))
                {
                    Assert.True(_group.PartitionCounts.TryGetValue(partition.Topic, out var count) && partition.Partition < count,
                        $"{member.MemberId} owns {partition}, which does not exist");
                }
            }

            // 2. The events alone rebuild the state.
            Assert.Equal(Show(Model.ToSnapshot()), Show(_replica.ToSnapshot()));

            // 3. Epochs: members never run ahead of the target, which is never behind the group.
            Assert.Equal(Model.GroupEpoch, Model.AssignmentEpoch);
            Assert.All(Model.Members.Values, m => Assert.InRange(m.MemberEpoch, 1, Model.AssignmentEpoch));

            // 4. The target gives every partition of every subscribed topic to exactly one subscriber.
            Assert.Equal(Model.Members.Keys.Order(StringComparer.Ordinal), Model.TargetAssignment.Keys.Order(StringComparer.Ordinal));
            var subscribed = Model.Members.Values.SelectMany(m => m.SubscribedTopics).Distinct().Order(StringComparer.Ordinal).ToList();
            Assert.Equal(subscribed, Model.SubscribedPartitionCounts.Keys.Order(StringComparer.Ordinal).ToList());
            var targeted = Model.SubscribedPartitionCounts
                .SelectMany(c => Enumerable.Range(0, c.Value).Select(p => new TopicPartition(c.Key, p))).Order().ToList();
            Assert.Equal(targeted, Model.TargetAssignment.Values.SelectMany(t => t).Order().ToList());
            foreach (var member in Model.Members.Values)
                Assert.All(Model.TargetOf(member.MemberId), p => Assert.Contains(p.Topic, member.SubscribedTopics));

            // 5. Member states mean what they say.
            foreach (var member in Model.Members.Values)
            {
                Assert.True((member.State == UnrevokedPartitions) == !member.PartitionsPendingRevocation.IsEmpty, Show(member));
                if (member.State == Stable && member.MemberEpoch == Model.AssignmentEpoch)
                    Assert.True(member.AssignedPartitions.SetEquals(Model.TargetOf(member.MemberId)), $"stable but off target: {Show(member)}");
            }

            // 6. Client side: whatever a live member holds, the group still counts as that member's (so no two
            //    members ever process one partition); a member whose last reply arrived sees exactly the group's view.
            Assert.Equal(_clients.Keys.Order(StringComparer.Ordinal), Model.Members.Keys.Order(StringComparer.Ordinal));
            foreach (var (memberId, client) in _clients)
            {
                var member = Model.Members[memberId];
                var notOwned = client.Holding.Where(p => !member.Owns(p)).ToList();
                Assert.True(notOwned.Count == 0, $"{memberId} still holds [{Show(notOwned)}] but the group no longer counts them as its: {Show(member)}");
                Assert.True(client.Current.MemberEpoch <= member.MemberEpoch, $"{memberId} has epoch {client.Current.MemberEpoch} from the future: {Show(member)}");
                if (client.InSync)
                {
                    Assert.Equal((member.MemberEpoch, member.State), (client.Current.MemberEpoch, client.Current.State));
                    Assert.Equal(Show(member.AssignedPartitions), Show(client.Current.Assignment));
                }
            }
        }

        private void Replay(IEnumerable<GroupEvent> events)
        {
            foreach (var groupEvent in events)
                _replica.Apply(groupEvent);
        }

        private string PickClient() => _clients.Keys.Order(StringComparer.Ordinal).ElementAt(_random.Next(_clients.Count));

        private void Count(string kind) => Seen[kind] = Seen.GetValueOrDefault(kind) + 1;

        private void Note(string action)
        {
            _recent.Enqueue($"[{(Now - Start).TotalMilliseconds} ms] {action}");
            if (_recent.Count > 40)
                _recent.Dequeue();
        }
    }

    /// <summary>What a member knows and holds, and, for the expected-expiry model, the group's clocks for it.</summary>
    private sealed class Client(string[] topics)
    {
        public string[] Topics { get; set; } = topics;

        /// <summary>The static instance id, or null for a dynamic member.</summary>
        public string? InstanceId { get; init; }

        /// <summary>The last five distinct replies since the member (re)joined, oldest first.</summary>
        public List<HeartbeatResponse> History { get; } = [];

        public HeartbeatResponse Current => History[^1];

        /// <summary>Partitions taken from the member that it is still finishing (committing, closing) before letting go.</summary>
        public HashSet<TopicPartition> Releasing { get; } = [];

        /// <summary>What the member processes now, and reports as owned.</summary>
        public IEnumerable<TopicPartition> Holding => (History.Count == 0 ? [] : Current.Assignment).Union(Releasing);

        /// <summary>False from a lost reply until the next reply arrives.</summary>
        public bool InSync { get; set; }

        public DateTimeOffset LastHeartbeat { get; set; }

        public DateTimeOffset? RevokingSince { get; set; }

        /// <summary>Takes a reply: anything held but no longer assigned is now being released.</summary>
        public void Receive(HeartbeatResponse reply)
        {
            InSync = true;
            var revoked = Holding.Except(reply.Assignment).ToList();
            Releasing.Clear();
            Releasing.UnionWith(revoked);
            // History keeps distinct views, so a view n entries back is n changes old.
            if (History.Count > 0 && Current.MemberEpoch == reply.MemberEpoch && Current.State == reply.State &&
                Show(Current.Assignment) == Show(reply.Assignment))
                History[^1] = reply;
            else
                History.Add(reply);
            if (History.Count > 5)
                History.RemoveAt(0);
        }
    }
}
