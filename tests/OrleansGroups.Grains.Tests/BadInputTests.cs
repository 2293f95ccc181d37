using System.Text;
using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Offsets;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// The bad-input table: malformed requests through the client API and the grain API, each answered with a typed
/// error (exception type and code) and no state change, checked by a snapshot of the affected state before and after.
/// Every case is its own theory row, so each is named and fails on its own. Null and empty keys and values are
/// valid in Kafka and must round-trip: they are in the second table.
/// </summary>
public abstract class BadInputTests(ClusterFixture fixture)
{
    /// <summary>A prepared malformed call: <paramref name="Act"/> must fail; <paramref name="Snapshot"/> must read the same before and after.</summary>
    public sealed record Attempt(Func<Task> Act, Func<Task<string>> Snapshot);

    /// <summary>One row: its name, the error it must raise, and how to set it up.</summary>
    public sealed record BadInputCase(string Name, Type Expected, OrleansGroupsErrorCode Code, Func<Env, Task<Attempt>> Arrange);

    /// <summary>What a case can use: the cluster's client and helpers that build topics, groups and snapshots.</summary>
    public sealed class Env(ClusterFixture fixture)
    {
        public OrleansGroupsClient Groups => fixture.Groups;

        public AdminClient Admin => fixture.Groups.Admin;

        public IGrainFactory Grains => fixture.Cluster.Client;

        public static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..24];

        public IPartitionGrain Partition(string topic, int partition) =>
            Grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(topic, partition)));

        /// <summary>A partition grain by its raw key, bypassing the client's key builder.</summary>
        public IPartitionGrain RawPartition(string key) => Grains.GetGrain<IPartitionGrain>(key);

        public IConsumerGroupGrain Group(string group) => Grains.GetGrain<IConsumerGroupGrain>(group);

        /// <summary>A topic whose every partition holds <paramref name="recordsPerPartition"/> records.</summary>
        public async Task<string> TopicAsync(int partitions, int recordsPerPartition = 0, TopicConfig? config = null)
        {
            var topic = NewName("bad");
            await Admin.CreateTopicAsync(topic, partitions, config);
            var producer = Groups.CreateProducer();
            for (var p = 0; p < partitions && recordsPerPartition > 0; p++)
            {
                await producer.ProduceBatchAsync(topic,
                    Enumerable.Range(0, recordsPerPartition).Select(i => Message.FromStrings($"k{i}", $"v{i}")).ToList(), p);
            }
            return topic;
        }

        /// <summary>Joins (epoch 0) a raw member with a long session, so it stays put during the case.</summary>
        public Task<HeartbeatResponse> JoinAsync(string group, string member, string topic, string? instanceId = null) =>
            Group(group).Heartbeat(new HeartbeatRequest(member, MemberEpochs.Join, instanceId, "bad-input", [topic], [], 60_000, 60_000));

        /// <summary>Every topic with its partition count and configuration.</summary>
        public async Task<string> TopicsAsync() => string.Join("; ", (await Admin.ListTopicsAsync())
            .Select(t => $"{t.Name}:{t.PartitionCount}:{t.Config.MaxMessageBytes}/{t.Config.RetentionMs}/{t.Config.RetentionBytes}"));

        /// <summary>Log start and end of every partition of <paramref name="topic"/>.</summary>
        public async Task<string> MarksAsync(string topic)
        {
            var details = await Admin.DescribeTopicAsync(topic);
            return $"{details.Topic.PartitionCount}p " + string.Join(", ", details.Partitions.Select(p => $"{p.Partition}:[{p.LogStartOffset},{p.LogEndOffset})"));
        }

        /// <summary>The registered group ids.</summary>
        public async Task<string> GroupIdsAsync() =>
            string.Join(",", await Grains.GetGrain<IGroupRegistryGrain>(GrainKeys.GroupRegistry).ListGroups());

        /// <summary>A group's members (id, instance, epoch, owned partitions) and committed offsets, plus whether it is listed.</summary>
        public async Task<string> GroupAsync(string group)
        {
            var d = await Group(group).Describe();
            var members = d.Members.OrderBy(m => m.MemberId, StringComparer.Ordinal)
                .Select(m => $"{m.MemberId}/{m.InstanceId}@{m.MemberEpoch}[{string.Join(",", m.AssignedPartitions.Order())}]");
            var offsets = d.CommittedOffsets.OrderBy(o => o.Key)
                .Select(o => $"{o.Key}={o.Value.Offset}@{o.Value.MemberEpoch}");
            var listed = (await Grains.GetGrain<IGroupRegistryGrain>(GrainKeys.GroupRegistry).ListGroups()).Contains(group);
            return $"listed={listed} epoch={d.GroupEpoch} members={string.Join(" ", members)} offsets={string.Join(" ", offsets)}";
        }

        /// <summary>A fresh idempotent producer id (epoch 0).</summary>
        public Task<ProducerIdentity> ProducerIdAsync() => Grains.GetGrain<IProducerIdGrain>(GrainKeys.ProducerIds).InitProducerId();

        public static byte[] Batch(int records, long producerId = -1, short epoch = -1, int sequence = -1) =>
            RecordBatch.Encode(0, Enumerable.Range(0, records).Select(i => new ProducerRecord(null, [(byte)i], null, 1_700_000_000_000)).ToList(),
                producerId, epoch, sequence);
    }

    private static Attempt On(Func<Task> act, Func<Task<string>> snapshot) => new(act, snapshot);

    private static BadInputCase Case<TException>(string name, OrleansGroupsErrorCode code, Func<Env, Task<Attempt>> arrange)
        where TException : OrleansGroupsException => new(name, typeof(TException), code, arrange);

    private static BadInputCase Case<TException>(string name, OrleansGroupsErrorCode code, Func<Env, Attempt> arrange)
        where TException : OrleansGroupsException => new(name, typeof(TException), code, env => Task.FromResult(arrange(env)));

    private static readonly string LongName = new('a', 250);

    /// <summary>The table. Names are unique; the theory looks cases up by name.</summary>
    public static readonly IReadOnlyList<BadInputCase> Table =
    [
        // ---- Topic names (client-side validation, and the grain's own check behind it) ----
        Case<InvalidTopicNameException>("create topic: empty name", OrleansGroupsErrorCode.InvalidTopicName,
            env => On(() => env.Admin.CreateTopicAsync("", 1), env.TopicsAsync)),
        Case<InvalidTopicNameException>("create topic: 250-char name", OrleansGroupsErrorCode.InvalidTopicName,
            env => On(() => env.Admin.CreateTopicAsync(LongName, 1), env.TopicsAsync)),
        Case<InvalidTopicNameException>("create topic: bad chars 'bad name!'", OrleansGroupsErrorCode.InvalidTopicName,
            env => On(() => env.Admin.CreateTopicAsync("bad name!", 1), env.TopicsAsync)),
        Case<InvalidTopicNameException>("create topic: '.'", OrleansGroupsErrorCode.InvalidTopicName,
            env => On(() => env.Admin.CreateTopicAsync(".", 1), env.TopicsAsync)),
        Case<InvalidTopicNameException>("create topic: '..'", OrleansGroupsErrorCode.InvalidTopicName,
            env => On(() => env.Admin.CreateTopicAsync("..", 1), env.TopicsAsync)),
        Case<InvalidTopicNameException>("grain create topic: 'a/b' (bypassing the client)", OrleansGroupsErrorCode.InvalidTopicName,
            env => On(() => env.Grains.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry).CreateTopic("a/b", 1, null), env.TopicsAsync)),
        Case<InvalidTopicNameException>("grain create topic: 250-char name (bypassing the client)", OrleansGroupsErrorCode.InvalidTopicName,
            env => On(() => env.Grains.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry).CreateTopic(LongName, 1, null), env.TopicsAsync)),
        Case<InvalidTopicNameException>("produce: invalid topic name", OrleansGroupsErrorCode.InvalidTopicName,
            env => On(() => env.Groups.CreateProducer().ProduceAsync("no spaces allowed", Message.FromStrings("k", "v")), env.TopicsAsync)),
        Case<InvalidTopicNameException>("describe topic: '..'", OrleansGroupsErrorCode.InvalidTopicName,
            env => On(() => env.Admin.DescribeTopicAsync(".."), env.TopicsAsync)),
        Case<InvalidTopicNameException>("subscribe: invalid topic name", OrleansGroupsErrorCode.InvalidTopicName,
            env =>
            {
                var group = Env.NewName("g");
                return On(async () =>
                {
                    var consumer = env.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
                    try
                    {
                        consumer.Subscribe("what?");
                    }
                    finally
                    {
                        await consumer.CloseAsync();
                    }
                }, env.GroupIdsAsync);
            }),

        // ---- Unknown topic ----
        Case<UnknownTopicException>("produce: unknown topic", OrleansGroupsErrorCode.UnknownTopic,
            env => On(() => env.Groups.CreateProducer().ProduceAsync(Env.NewName("missing"), Message.FromStrings("k", "v")), env.TopicsAsync)),
        Case<UnknownTopicException>("describe topic: unknown", OrleansGroupsErrorCode.UnknownTopic,
            env => On(() => env.Admin.DescribeTopicAsync(Env.NewName("missing")), env.TopicsAsync)),
        Case<UnknownTopicException>("grain fetch: unknown topic", OrleansGroupsErrorCode.UnknownTopic,
            env => On(() => env.Partition(Env.NewName("missing"), 0).Fetch(0, 1024, 0), env.TopicsAsync)),
        Case<UnknownTopicException>("list offsets: unknown topic", OrleansGroupsErrorCode.UnknownTopic,
            env => On(() => env.Admin.ListOffsetsAsync(Env.NewName("missing"), AdminClient.Latest), env.TopicsAsync)),
        Case<UnknownTopicException>("add partitions: unknown topic", OrleansGroupsErrorCode.UnknownTopic,
            env => On(() => env.Admin.CreatePartitionsAsync(Env.NewName("missing"), 3), env.TopicsAsync)),
        Case<TopicAlreadyExistsException>("create topic: already exists (keeps the first)", OrleansGroupsErrorCode.TopicAlreadyExists,
            async env =>
            {
                var topic = await env.TopicAsync(3);
                return On(() => env.Admin.CreateTopicAsync(topic, 5), env.TopicsAsync);
            }),

        // ---- Unknown group ----
        Case<GroupIdNotFoundException>("describe group: unknown", OrleansGroupsErrorCode.GroupIdNotFound,
            env => On(() => env.Admin.DescribeGroupAsync(Env.NewName("nobody")), env.GroupIdsAsync)),
        Case<GroupIdNotFoundException>("delete group: unknown", OrleansGroupsErrorCode.GroupIdNotFound,
            env => On(() => env.Admin.DeleteGroupAsync(Env.NewName("nobody")), env.GroupIdsAsync)),
        Case<InvalidRequestException>("reset offsets: unknown group, shift-by (nothing to shift; group not created)", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(1, 3);
                return On(() => env.Admin.ResetOffsetsAsync(Env.NewName("nobody"), topic, OffsetResetSpec.ShiftBy(1), dryRun: false), env.GroupIdsAsync);
            }),
        Case<UnknownTopicException>("reset offsets: unknown group and unknown topic (group not created)", OrleansGroupsErrorCode.UnknownTopic,
            env => On(() => env.Admin.ResetOffsetsAsync(Env.NewName("nobody"), Env.NewName("missing"), OffsetResetSpec.ToEarliest(), dryRun: false), env.GroupIdsAsync)),
        Case<InvalidGroupIdException>("consumer: empty group id", OrleansGroupsErrorCode.InvalidGroupId,
            env => On(() => Task.FromResult(env.Groups.CreateConsumer(new ConsumerOptions(""))), env.GroupIdsAsync)),
        Case<InvalidGroupIdException>("consumer: blank group id", OrleansGroupsErrorCode.InvalidGroupId,
            env => On(() => Task.FromResult(env.Groups.CreateConsumer(new ConsumerOptions("   "))), env.GroupIdsAsync)),

        // ---- Unknown member ----
        Case<UnknownMemberException>("commit: unknown member", OrleansGroupsErrorCode.UnknownMember,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "owner", topic);
                await env.Group(group).Commit(new CommitRequest("owner", 1, [new(new(topic, 0), 2)]));
                return On(() => env.Group(group).Commit(new CommitRequest("stranger", 1, [new(new(topic, 0), 4)])), () => env.GroupAsync(group));
            }),
        Case<UnknownMemberException>("heartbeat: unknown member with epoch 3", OrleansGroupsErrorCode.UnknownMember,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "owner", topic);
                return On(() => env.Group(group).Heartbeat(new HeartbeatRequest("stranger", 3, null, "x", [topic], [])), () => env.GroupAsync(group));
            }),
        Case<UnknownMemberException>("leave: unknown member", OrleansGroupsErrorCode.UnknownMember,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "owner", topic);
                return On(() => env.Group(group).Leave("stranger"), () => env.GroupAsync(group));
            }),

        // ---- Partition out of range ----
        Case<UnknownPartitionException>("produce: partition 2 of a 2-partition topic", OrleansGroupsErrorCode.UnknownPartition,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.Groups.CreateProducer().ProduceAsync(new TopicPartition(topic, 2), Message.FromStrings("k", "v")), () => env.MarksAsync(topic));
            }),
        Case<UnknownPartitionException>("produce: negative partition", OrleansGroupsErrorCode.UnknownPartition,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.Groups.CreateProducer().ProduceAsync(new TopicPartition(topic, -1), Message.FromStrings("k", "v")), () => env.MarksAsync(topic));
            }),
        Case<UnknownPartitionException>("grain append: partition out of range", OrleansGroupsErrorCode.UnknownPartition,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.Partition(topic, 7).Append(Env.Batch(1)), () => env.MarksAsync(topic));
            }),
        Case<UnknownPartitionException>("grain fetch: partition out of range", OrleansGroupsErrorCode.UnknownPartition,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.Partition(topic, 2).Fetch(0, 1024, 0), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain fetch: negative partition key 'topic/-1'", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.RawPartition($"{topic}/-1").Fetch(0, 1024, 0), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("client key: negative partition is refused before any call", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.Partition(topic, -1).Fetch(0, 1024, 0), () => env.MarksAsync(topic));
            }),
        Case<UnknownPartitionException>("reset offsets: partition out of range", OrleansGroupsErrorCode.UnknownPartition,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.Admin.ResetOffsetsAsync(Env.NewName("g"), topic, OffsetResetSpec.ToEarliest(), false, partitions: [5]), env.GroupIdsAsync);
            }),

        // ---- Non-canonical grain keys: a second spelling would be a second writer over the same storage ----
        Case<InvalidRequestException>("grain append: non-canonical key 'topic/01' writes nothing", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.RawPartition($"{topic}/01").Append(Env.Batch(1)), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain append: non-canonical key 'topic/+1' writes nothing", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.RawPartition($"{topic}/+1").Append(Env.Batch(1)), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain append: non-canonical key 'topic/ 1' writes nothing", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.RawPartition($"{topic}/ 1").Append(Env.Batch(1)), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain append: non-canonical key 'topic/1 ' writes nothing", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.RawPartition($"{topic}/1 ").Append(Env.Batch(1)), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain append: non-canonical key 'topic/00' writes nothing", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.RawPartition($"{topic}/00").Append(Env.Batch(1)), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain append: non-canonical key 'topic/\u0661 (Arabic-Indic one)' writes nothing", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.RawPartition($"{topic}/\u0661").Append(Env.Batch(1)), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain append: non-canonical key 'topic/2147483648' writes nothing", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.RawPartition($"{topic}/2147483648").Append(Env.Batch(1)), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain fetch: non-canonical key 'topic/01'", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 1);
                return On(() => env.RawPartition($"{topic}/01").Fetch(0, 1024, 0), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain delete log: non-canonical key 'topic/+1' deletes nothing", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 3);
                return On(() => env.RawPartition($"{topic}/+1").DeleteLog(1), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain watermarks: key with an illegal topic part 'a b/0'", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => env.RawPartition("a b/0").GetWatermarks(), env.TopicsAsync)),
        Case<InvalidRequestException>("consumer session: key without a member '@group'", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(1, 1);
                return On(() => env.Grains.GetGrain<IConsumerGrain>("@" + Env.NewName("g")).Fetch(new(topic, 0), 0, 1024, 0), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("consumer session: key without a group 'member@'", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(1, 1);
                return On(() => env.Grains.GetGrain<IConsumerGrain>("m1@").Fetch(new(topic, 0), 0, 1024, 0), () => env.MarksAsync(topic));
            }),
        Case<InvalidGroupIdException>("grain heartbeat: 250-char group key", OrleansGroupsErrorCode.InvalidGroupId,
            async env =>
            {
                var topic = await env.TopicAsync(1);
                return On(() => env.JoinAsync(LongName, "m1", topic), env.GroupIdsAsync);
            }),
        Case<InvalidGroupIdException>("grain describe: group key with a control character", OrleansGroupsErrorCode.InvalidGroupId,
            env => On(() => env.Group("g\u0000x").Describe(), env.GroupIdsAsync)),
        Case<InvalidGroupIdException>("consumer: 250-char group id", OrleansGroupsErrorCode.InvalidGroupId,
            env => On(() => Task.FromResult(env.Groups.CreateConsumer(new ConsumerOptions(LongName))), env.GroupIdsAsync)),
        Case<InvalidRequestException>("consumer: 250-char instance id", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => Task.FromResult(env.Groups.CreateConsumer(new ConsumerOptions(Env.NewName("g")) { InstanceId = LongName })), env.GroupIdsAsync)),
        Case<InvalidRequestException>("heartbeat: 250-char member id", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "m1", topic);
                return On(() => env.JoinAsync(group, LongName, topic), () => env.GroupAsync(group));
            }),
        Case<InvalidRequestException>("heartbeat: member id with '@'", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "m1", topic);
                return On(() => env.JoinAsync(group, "m2@elsewhere", topic), () => env.GroupAsync(group));
            }),
        Case<InvalidRequestException>("heartbeat: 250-char instance id", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "m1", topic);
                return On(() => env.JoinAsync(group, "m2", topic, instanceId: LongName), () => env.GroupAsync(group));
            }),
        Case<InvalidTopicNameException>("heartbeat: subscribes to an illegal topic name", OrleansGroupsErrorCode.InvalidTopicName,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "m1", topic);
                return On(() => env.JoinAsync(group, "m2", "no spaces allowed"), () => env.GroupAsync(group));
            }),
        Case<InvalidRequestException>("heartbeat: subscribes to more topics than the cluster may hold", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "m1", topic);
                var topics = Enumerable.Range(0, OrleansGroups.Hosting.OrleansGroupsOptions.DefaultMaxTopics + 1).Select(i => $"t{i}").ToList();
                return On(() => env.Group(group).Heartbeat(new HeartbeatRequest("m2", MemberEpochs.Join, null, "x", topics, [])), () => env.GroupAsync(group));
            }),
        Case<InvalidRequestException>("grain membership: key that is not 'group|member'", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(1);
                var group = Env.NewName("g");
                var member = env.Grains.GetGrain<IRecordingMemberGrain>(Env.NewName("member"));
                var membership = env.Grains.GetGrain<IGroupMembershipGrain>($"{group}|not-the-member");
                return On(() => membership.Join(new GroupMembershipRequest(group, [topic], member)),
                    async () => $"{(await membership.GetStatus()).Request?.GroupId ?? "none"} {await env.GroupIdsAsync()}");
            }),

        // ---- Offsets ----
        Case<OffsetOutOfRangeException>("fetch: negative offset", OrleansGroupsErrorCode.OffsetOutOfRange,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                return On(() => env.Partition(topic, 0).Fetch(-1, 1024, 0), () => env.MarksAsync(topic));
            }),
        Case<OffsetOutOfRangeException>("fetch: offset long.MaxValue", OrleansGroupsErrorCode.OffsetOutOfRange,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                return On(() => env.Partition(topic, 0).Fetch(long.MaxValue, 1024, 0), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("fetch: maxBytes 0", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                return On(() => env.Partition(topic, 0).Fetch(0, 0, 0), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("list offsets: timestamp -5", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                return On(() => env.Admin.ListOffsetsAsync(topic, -5), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("commit: negative offset", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "owner", topic);
                await env.Group(group).Commit(new CommitRequest("owner", 1, [new(new(topic, 0), 2)]));
                return On(() => env.Group(group).Commit(new CommitRequest("owner", 1, [new(new(topic, 0), -1)])), () => env.GroupAsync(group));
            }),
        Case<InvalidRequestException>("commit: negative offset among valid ones (all or nothing)", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2, 5);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "owner", topic);
                await env.Group(group).Commit(new CommitRequest("owner", 1, [new(new(topic, 0), 2), new(new(topic, 1), 2)]));
                return On(() => env.Group(group).Commit(new CommitRequest("owner", 1, [new(new(topic, 0), 4), new(new(topic, 1), long.MinValue)])),
                    () => env.GroupAsync(group));
            }),

        // ---- Sizes ----
        Case<RecordTooLargeException>("produce: value larger than max.message.bytes", OrleansGroupsErrorCode.RecordTooLarge,
            async env =>
            {
                var topic = await env.TopicAsync(1, 2, TopicConfig.Default with { MaxMessageBytes = 1_000 });
                return On(() => env.Groups.CreateProducer().ProduceAsync(new TopicPartition(topic, 0), new Message(null, new byte[2_000])), () => env.MarksAsync(topic));
            }),
        Case<RecordTooLargeException>("produce: headers larger than max.message.bytes", OrleansGroupsErrorCode.RecordTooLarge,
            async env =>
            {
                var topic = await env.TopicAsync(1, 2, TopicConfig.Default with { MaxMessageBytes = 1_000 });
                RecordHeader[] headers = [.. Enumerable.Range(0, 20).Select(i => new RecordHeader($"header-{i}", new byte[100]))];
                return On(() => env.Groups.CreateProducer().ProduceAsync(new TopicPartition(topic, 0), new Message([1], [2], headers)), () => env.MarksAsync(topic));
            }),
        Case<RecordTooLargeException>("grain append: batch larger than max.message.bytes", OrleansGroupsErrorCode.RecordTooLarge,
            async env =>
            {
                var topic = await env.TopicAsync(1, 2, TopicConfig.Default with { MaxMessageBytes = 1_000 });
                return On(() => env.Partition(topic, 0).Append(Env.Batch(500)), () => env.MarksAsync(topic));
            }),

        // ---- Corrupt and idempotent batches ----
        Case<CorruptRecordException>("grain append: CRC-corrupted batch", OrleansGroupsErrorCode.CorruptRecord,
            async env =>
            {
                var topic = await env.TopicAsync(1, 2);
                var batch = Env.Batch(3);
                batch[^1] ^= 0xFF;
                return On(() => env.Partition(topic, 0).Append(batch), () => env.MarksAsync(topic));
            }),
        Case<CorruptRecordException>("grain append: truncated batch", OrleansGroupsErrorCode.CorruptRecord,
            async env =>
            {
                var topic = await env.TopicAsync(1, 2);
                var batch = Env.Batch(3);
                return On(() => env.Partition(topic, 0).Append(batch[..^4]), () => env.MarksAsync(topic));
            }),
        Case<InvalidRequestException>("grain append: empty batch", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(1, 2);
                return On(() => env.Partition(topic, 0).Append([]), () => env.MarksAsync(topic));
            }),
        Case<OutOfOrderSequenceException>("grain append: idempotent sequence gap", OrleansGroupsErrorCode.OutOfOrderSequence,
            async env =>
            {
                var topic = await env.TopicAsync(1);
                var id = await env.ProducerIdAsync();
                await env.Partition(topic, 0).Append(Env.Batch(2, id.ProducerId, id.Epoch, 0));
                return On(() => env.Partition(topic, 0).Append(Env.Batch(2, id.ProducerId, id.Epoch, 5)), () => env.MarksAsync(topic));
            }),
        Case<ProducerFencedException>("grain append: old producer epoch", OrleansGroupsErrorCode.ProducerFenced,
            async env =>
            {
                var topic = await env.TopicAsync(1);
                var id = await env.ProducerIdAsync();
                await env.Partition(topic, 0).Append(Env.Batch(2, id.ProducerId, 1, 0));
                return On(() => env.Partition(topic, 0).Append(Env.Batch(2, id.ProducerId, 0, 2)), () => env.MarksAsync(topic));
            }),

        // ---- Epochs, instance ids, ownership ----
        Case<FencedMemberEpochException>("heartbeat: future epoch", OrleansGroupsErrorCode.FencedMemberEpoch,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                var joined = await env.JoinAsync(group, "m1", topic);
                return On(() => env.Group(group).Heartbeat(new HeartbeatRequest("m1", joined.MemberEpoch + 5, null, "x", null, joined.Assignment)),
                    () => env.GroupAsync(group));
            }),
        Case<FencedMemberEpochException>("heartbeat: stale epoch while claiming partitions it does not own", OrleansGroupsErrorCode.FencedMemberEpoch,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                var m1 = await env.JoinAsync(group, "m1", topic);
                await env.JoinAsync(group, "m2", topic);
                // m1 reconciles to the new group epoch (epoch 0 would be a rejoin, so it needs an epoch of at least 2).
                for (var i = 0; i < 10 && m1.MemberEpoch < 2; i++)
                {
                    m1 = await env.Group(group).Heartbeat(new HeartbeatRequest("m1", m1.MemberEpoch, null, "x", null, m1.Assignment));
                }
                Assert.True(m1.MemberEpoch >= 2, $"m1 is at epoch {m1.MemberEpoch}");
                return On(() => env.Group(group).Heartbeat(new HeartbeatRequest("m1", m1.MemberEpoch - 1, null, "x", null, [new(topic, 0), new(topic, 1), new(topic, 9)])),
                    () => env.GroupAsync(group));
            }),
        Case<FencedMemberEpochException>("commit: future epoch", OrleansGroupsErrorCode.FencedMemberEpoch,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                var group = Env.NewName("g");
                var joined = await env.JoinAsync(group, "owner", topic);
                await env.Group(group).Commit(new CommitRequest("owner", joined.MemberEpoch, [new(new(topic, 0), 2)]));
                return On(() => env.Group(group).Commit(new CommitRequest("owner", joined.MemberEpoch + 1, [new(new(topic, 0), 4)])), () => env.GroupAsync(group));
            }),
        Case<InvalidRequestException>("heartbeat: epoch -3", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "m1", topic);
                return On(() => env.Group(group).Heartbeat(new HeartbeatRequest("m1", -3, null, "x", null, null)), () => env.GroupAsync(group));
            }),
        Case<InvalidRequestException>("heartbeat: blank member id", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                await env.JoinAsync(group, "m1", topic);
                return On(() => env.Group(group).Heartbeat(new HeartbeatRequest(" ", 0, null, "x", [topic], [])), () => env.GroupAsync(group));
            }),
        Case<FencedInstanceIdException>("heartbeat: old member after its instance id was taken over", OrleansGroupsErrorCode.FencedInstanceId,
            async env =>
            {
                var topic = await env.TopicAsync(2);
                var group = Env.NewName("g");
                var old = await env.JoinAsync(group, "old", topic, instanceId: "instance-1");
                await env.JoinAsync(group, "new", topic, instanceId: "instance-1");
                return On(() => env.Group(group).Heartbeat(new HeartbeatRequest("old", old.MemberEpoch, "instance-1", "x", null, old.Assignment)),
                    () => env.GroupAsync(group));
            }),
        Case<StaleMemberEpochException>("commit: partition owned by another member", OrleansGroupsErrorCode.StaleMemberEpoch,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                var group = Env.NewName("g");
                var owner = await env.JoinAsync(group, "owner", topic);
                var idle = await env.JoinAsync(group, "idle", topic);
                await env.Group(group).Commit(new CommitRequest("owner", owner.MemberEpoch, [new(new(topic, 0), 2)]));
                return On(() => env.Group(group).Commit(new CommitRequest("idle", idle.MemberEpoch, [new(new(topic, 0), 4)])), () => env.GroupAsync(group));
            }),
        Case<StaleMemberEpochException>("commit: two members commit one partition concurrently, only the owner wins", OrleansGroupsErrorCode.StaleMemberEpoch,
            async env =>
            {
                var topic = await env.TopicAsync(1, 10);
                var group = Env.NewName("g");
                var owner = await env.JoinAsync(group, "owner", topic);
                var other = await env.JoinAsync(group, "other", topic);
                var grain = env.Group(group);
                // The owner's commit of 5 is in place before; the race repeats it, so the state must still read 5 after.
                await grain.Commit(new CommitRequest("owner", owner.MemberEpoch, [new(new(topic, 0), 5)]));
                return On(async () =>
                {
                    var mine = grain.Commit(new CommitRequest("owner", owner.MemberEpoch, [new(new(topic, 0), 5)]));
                    var theirs = grain.Commit(new CommitRequest("other", other.MemberEpoch, [new(new(topic, 0), 9)]));
                    await mine; // the owner must win
                    await theirs;
                }, () => env.GroupAsync(group));
            }),
        Case<NonEmptyGroupException>("simple commit (no member) to a group with members", OrleansGroupsErrorCode.NonEmptyGroup,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                var group = Env.NewName("g");
                var owner = await env.JoinAsync(group, "owner", topic);
                await env.Group(group).Commit(new CommitRequest("owner", owner.MemberEpoch, [new(new(topic, 0), 2)]));
                return On(() => env.Group(group).Commit(new CommitRequest("", -1, [new(new(topic, 0), 4)])), () => env.GroupAsync(group));
            }),

        // ---- Partition counts and configuration ----
        Case<InvalidRequestException>("create topic: 0 partitions", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => env.Admin.CreateTopicAsync(Env.NewName("count"), 0), env.TopicsAsync)),
        Case<InvalidRequestException>("create topic: -1 partitions", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => env.Admin.CreateTopicAsync(Env.NewName("count"), -1), env.TopicsAsync)),
        Case<InvalidRequestException>("create topic: int.MinValue partitions", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => env.Admin.CreateTopicAsync(Env.NewName("count"), int.MinValue), env.TopicsAsync)),
        Case<InvalidRequestException>("create topic: 10,001 partitions", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => env.Admin.CreateTopicAsync(Env.NewName("count"), 10_001), env.TopicsAsync)),
        Case<InvalidRequestException>("add partitions: decrease 3 -> 2", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(3);
                return On(() => env.Admin.CreatePartitionsAsync(topic, 2), env.TopicsAsync);
            }),
        Case<InvalidRequestException>("add partitions: same count 3 -> 3", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(3);
                return On(() => env.Admin.CreatePartitionsAsync(topic, 3), env.TopicsAsync);
            }),
        Case<InvalidRequestException>("add partitions: more than 10,000", OrleansGroupsErrorCode.InvalidRequest,
            async env =>
            {
                var topic = await env.TopicAsync(3);
                return On(() => env.Admin.CreatePartitionsAsync(topic, 10_001), env.TopicsAsync);
            }),
        Case<InvalidRequestException>("create topic: max.message.bytes -1", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => env.Admin.CreateTopicAsync(Env.NewName("cfg"), 1, TopicConfig.Default with { MaxMessageBytes = -1 }), env.TopicsAsync)),
        Case<InvalidRequestException>("create topic: max.message.bytes 0", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => env.Admin.CreateTopicAsync(Env.NewName("cfg"), 1, TopicConfig.Default with { MaxMessageBytes = 0 }), env.TopicsAsync)),
        Case<InvalidRequestException>("create topic: max.message.bytes above the storage append limit", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => env.Admin.CreateTopicAsync(Env.NewName("cfg"), 1, TopicConfig.Default with { MaxMessageBytes = int.MaxValue }), env.TopicsAsync)),
        Case<InvalidRequestException>("create topic: retention.ms -2", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => env.Admin.CreateTopicAsync(Env.NewName("cfg"), 1, TopicConfig.Default with { RetentionMs = -2 }), env.TopicsAsync)),
        Case<InvalidRequestException>("create topic: retention.bytes -2", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => env.Admin.CreateTopicAsync(Env.NewName("cfg"), 1, TopicConfig.Default with { RetentionBytes = -2 }), env.TopicsAsync)),
        Case<InvalidRequestException>("subscribe: no topics", OrleansGroupsErrorCode.InvalidRequest,
            env =>
            {
                var group = Env.NewName("g");
                return On(async () =>
                {
                    var consumer = env.Groups.CreateConsumer(ClusterFixture.FastConsumer(group));
                    try
                    {
                        consumer.Subscribe(Array.Empty<string>());
                    }
                    finally
                    {
                        await consumer.CloseAsync();
                    }
                }, env.GroupIdsAsync);
            }),
        Case<InvalidRequestException>("consumer: unknown assignor", OrleansGroupsErrorCode.InvalidRequest,
            env => On(() => Task.FromResult(env.Groups.CreateConsumer(new ConsumerOptions(Env.NewName("g")) { GroupRemoteAssignor = "round-robin-ish" })),
                env.GroupIdsAsync)),

        // ---- Groups that must be empty ----
        Case<NonEmptyGroupException>("reset offsets: group with members", OrleansGroupsErrorCode.NonEmptyGroup,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                var group = Env.NewName("g");
                var owner = await env.JoinAsync(group, "owner", topic);
                await env.Group(group).Commit(new CommitRequest("owner", owner.MemberEpoch, [new(new(topic, 0), 3)]));
                return On(() => env.Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToEarliest(), dryRun: false), () => env.GroupAsync(group));
            }),
        Case<NonEmptyGroupException>("reset offsets (dry run): group with members", OrleansGroupsErrorCode.NonEmptyGroup,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                var group = Env.NewName("g");
                var owner = await env.JoinAsync(group, "owner", topic);
                await env.Group(group).Commit(new CommitRequest("owner", owner.MemberEpoch, [new(new(topic, 0), 3)]));
                return On(() => env.Admin.ResetOffsetsAsync(group, topic, OffsetResetSpec.ToLatest(), dryRun: true), () => env.GroupAsync(group));
            }),
        Case<NonEmptyGroupException>("delete group: group with members", OrleansGroupsErrorCode.NonEmptyGroup,
            async env =>
            {
                var topic = await env.TopicAsync(1, 5);
                var group = Env.NewName("g");
                var owner = await env.JoinAsync(group, "owner", topic);
                await env.Group(group).Commit(new CommitRequest("owner", owner.MemberEpoch, [new(new(topic, 0), 3)]));
                return On(() => env.Admin.DeleteGroupAsync(group), () => env.GroupAsync(group));
            }),
    ];

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Table)
        {
            data.Add(c.Name);
        }
        return data;
    }

    [Fact]
    public void Table_HasAtLeastThirtyUniquelyNamedCases()
    {
        Assert.True(Table.Count >= 30, $"{Table.Count} cases");
        Assert.Equal(Table.Count, Table.Select(c => c.Name).Distinct().Count());
        Assert.All(Table, c => Assert.True(typeof(OrleansGroupsException).IsAssignableFrom(c.Expected), c.Name));
    }

    [Theory]
    [MemberData(nameof(CaseNames), MemberType = typeof(BadInputTests))]
    public async Task MalformedRequest_IsRefusedTyped_AndChangesNothing(string name)
    {
        var badInput = Table.Single(c => c.Name == name);
        var env = new Env(fixture);
        var attempt = await badInput.Arrange(env);
        var before = await attempt.Snapshot();

        var error = await Xunit.Record.ExceptionAsync(attempt.Act);

        Assert.True(error is not null, $"{name}: expected {badInput.Expected.Name}, but the call succeeded.");
        Assert.True(badInput.Expected == error.GetType(),
            $"{name}: expected {badInput.Expected.Name}, got {error.GetType().Name}: {error.Message}");
        Assert.Equal(badInput.Code, ((OrleansGroupsException)error).Code);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        var after = await attempt.Snapshot();
        Assert.Equal(before, after);
    }

    /// <summary>Null and empty keys and values are valid in Kafka: each combination is accepted and reads back exactly.</summary>
    [Theory]
    [InlineData("null key, null value", null, null)]
    [InlineData("empty key, empty value", "", "")]
    [InlineData("null key, empty value", null, "")]
    [InlineData("empty key, null value", "", null)]
    [InlineData("empty key, some value", "", "v")]
    [InlineData("null key, some value", null, "v")]
    public async Task NullAndEmptyKeysAndValues_AreValid_AndRoundTrip(string name, string? key, string? value)
    {
        var env = new Env(fixture);
        var topic = await env.TopicAsync(1);
        var message = new Message(key is null ? null : Encoding.UTF8.GetBytes(key), value is null ? null : Encoding.UTF8.GetBytes(value),
            [new RecordHeader("empty", []), new RecordHeader("null", null)]);

        var delivered = await env.Groups.CreateProducer().ProduceAsync(new TopicPartition(topic, 0), message);
        var fetched = RecordBatch.Decode((await env.Partition(topic, 0).Fetch(0, 1 << 20, 0)).Batches).ToList();

        Assert.Equal(0, delivered.Offset);
        var record = Assert.Single(fetched);
        Assert.True(message.Key is null ? record.Key is null : record.Key is not null && record.Key.SequenceEqual(message.Key), $"{name}: key");
        Assert.True(message.Value is null ? record.Value is null : record.Value is not null && record.Value.SequenceEqual(message.Value), $"{name}: value");
        Assert.Equal(["empty", "null"], record.Headers.Select(h => h.Key));
        Assert.Equal([], record.Headers[0].Value!);
        Assert.Null(record.Headers[1].Value);
    }

    /// <summary>
    /// Kafka accepts a commit past the log end (the broker does not check committed offsets against the log); so does
    /// OrleansGroups. A consumer starting there gets OffsetOutOfRange and falls back to auto.offset.reset.
    /// </summary>
    [Fact]
    public async Task CommitPastTheLogEnd_IsAccepted_AsInKafka()
    {
        var env = new Env(fixture);
        var topic = await env.TopicAsync(1, 5);
        var group = Env.NewName("g");
        var owner = await env.JoinAsync(group, "owner", topic);

        await env.Group(group).Commit(new CommitRequest("owner", owner.MemberEpoch, [new(new(topic, 0), long.MaxValue)]));

        Assert.Equal(long.MaxValue, (await env.Group(group).GetCommittedOffsets([new(topic, 0)]))[new(topic, 0)].Offset);
        Assert.Equal("1p 0:[0,5)", await env.MarksAsync(topic));
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryBadInputTests(MemoryClusterFixture fixture) : BadInputTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteBadInputTests(AzuriteClusterFixture fixture) : BadInputTests(fixture);
