using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.Kafka.Protocol.Messages;

namespace OrleansGroups.Kafka.Internal;

internal sealed partial class KafkaRequestHandler
{
    // ---- Metadata: this silo is the one broker, leader of every partition (multi-silo broker lists come next) ----

    private async Task<MetadataResponse> MetadataAsync(MetadataRequest request, short version)
    {
        var broker = Broker;
        var response = new MetadataResponse
        {
            Brokers = [new MetadataResponse.MetadataResponseBroker { NodeId = broker.NodeId, Host = broker.Host, Port = broker.Port }],
            ClusterId = broker.ClusterId,
            ControllerId = broker.NodeId,
        };
        // null asks for every topic; so does an empty list in v0, where the list cannot be null.
        var all = request.Topics is null || (version == 0 && request.Topics.Count == 0);
        IEnumerable<(string Name, TopicDescription? Topic, short Error)> topics;
        if (all)
        {
            topics = (await Topics.ListTopics()).Select(t => (t.Name, (TopicDescription?)t, KafkaErrors.None));
        }
        else
        {
            var names = request.Topics!.Select(t => t.Name).ToList();
            topics = await Task.WhenAll(names.Select(async name =>
            {
                if (name is null || !TopicName.IsValid(name))
                {
                    return (name ?? "", (TopicDescription?)null, KafkaErrors.InvalidTopicException);
                }
                var topic = await Topics.GetTopic(name);
                return (name, topic, topic is null ? KafkaErrors.UnknownTopicOrPartition : KafkaErrors.None);
            }));
        }
        foreach (var (name, topic, error) in topics)
        {
            response.Topics.Add(new MetadataResponse.MetadataResponseTopic
            {
                ErrorCode = error,
                Name = name,
                Partitions = topic is null ? [] : Enumerable.Range(0, topic.PartitionCount)
                    .Select(p => new MetadataResponse.MetadataResponsePartition
                    {
                        PartitionIndex = p,
                        LeaderId = broker.NodeId,
                        // -1: no leader epochs, so clients skip OffsetForLeaderEpoch validation.
                        LeaderEpoch = -1,
                        ReplicaNodes = [broker.NodeId],
                        IsrNodes = [broker.NodeId],
                    }).ToList(),
            });
        }
        return response;
    }

    // ---- Produce: each v2 batch goes to IPartitionGrain.Append as it is (the log assigns offsets, checks sequences) ----

    private async Task<ProduceResponse> ProduceAsync(ProduceRequest request)
    {
        var response = new ProduceResponse();
        if (request.TransactionalId is not null)
        {
            foreach (var topic in request.TopicData)
            {
                response.Responses.Add(new ProduceResponse.TopicProduceResponse
                {
                    Name = topic.Name,
                    PartitionResponses = topic.PartitionData.Select(p => new ProduceResponse.PartitionProduceResponse
                    {
                        Index = p.Index, ErrorCode = KafkaErrors.InvalidRequest, ErrorMessage = "transactions are not supported",
                    }).ToList(),
                });
            }
            return response;
        }
        // acks 0, 1 and -1 all wait for the append: our acknowledgement is the durable one (there are no replicas).
        var topics = await Task.WhenAll(request.TopicData.Select(async topic => new ProduceResponse.TopicProduceResponse
        {
            Name = topic.Name,
            PartitionResponses = (await Task.WhenAll(topic.PartitionData.Select(p => ProducePartitionAsync(topic.Name, p)))).ToList(),
        }));
        response.Responses.AddRange(topics);
        return response;
    }

    private async Task<ProduceResponse.PartitionProduceResponse> ProducePartitionAsync(string topic, ProduceRequest.PartitionProduceData data)
    {
        var result = new ProduceResponse.PartitionProduceResponse { Index = data.Index };
        var (appended, error, message) = await Try(async () =>
        {
            var batches = SplitBatches(data.Records);
            var grain = Partition(topic, data.Index);
            AppendResult? first = null;
            foreach (var batch in batches)
            {
                var appendedBatch = await grain.Append(batch);
                first ??= appendedBatch;
            }
            return first!;
        }, SupportedApis.Produce);
        result.ErrorCode = error;
        result.ErrorMessage = message;
        if (appended is not null)
        {
            result.BaseOffset = appended.BaseOffset;
        }
        else
        {
            result.BaseOffset = -1;
        }
        return result;
    }

    /// <summary>The record batches of a produce request's partition, one array each (a client usually sends one).</summary>
    private static List<byte[]> SplitBatches(byte[]? records)
    {
        if (records is null || records.Length == 0)
        {
            throw new CorruptRecordException("A produce request needs at least one record batch.");
        }
        var batches = new List<byte[]>();
        var rest = records.AsSpan();
        while (rest.Length > 0)
        {
            if (!RecordBatch.TryReadHeader(rest, out var header))
            {
                throw new CorruptRecordException($"A record batch is truncated: {rest.Length} bytes left of {header.TotalSize}.");
            }
            batches.Add(rest[..header.TotalSize].ToArray());
            rest = rest[header.TotalSize..];
        }
        return batches;
    }

    // ---- InitProducerId: the idempotent producer's id, from the same allocator the Orleans producer uses ----

    private async Task<InitProducerIdResponse> InitProducerIdAsync(InitProducerIdRequest request)
    {
        if (request.TransactionalId is not null)
        {
            return new InitProducerIdResponse { ErrorCode = KafkaErrors.InvalidRequest, ProducerId = -1, ProducerEpoch = -1 };
        }
        var (identity, error, _) = await Try(() => grains.GetGrain<IProducerIdGrain>(GrainKeys.ProducerIds).InitProducerId(), SupportedApis.InitProducerId);
        return identity is null
            ? new InitProducerIdResponse { ErrorCode = error, ProducerId = -1, ProducerEpoch = -1 }
            : new InitProducerIdResponse { ProducerId = identity.ProducerId, ProducerEpoch = identity.Epoch };
    }

    // ---- Fetch: read what is there; if less than min bytes, long-poll the partitions up to max wait ----

    private async Task<FetchResponse> FetchAsync(FetchRequest request, CancellationToken cancellationToken)
    {
        var partitions = request.Topics
            .SelectMany(t => t.Partitions.Select(p => (Topic: t.Topic, Request: p)))
            .ToList();
        var maxBytes = request.MaxBytes <= 0 ? int.MaxValue : request.MaxBytes;

        // 1. Everything available now, all partitions at once.
        var results = await Task.WhenAll(partitions.Select(p => FetchPartitionAsync(p.Topic, p.Request, maxBytes, 0)));

        // 2. Less than min bytes and a wait allowed: long-poll the empty partitions, answer at the first data or max wait.
        var minBytes = Math.Max(1, request.MinBytes);
        if (request.MaxWaitMs > 0 && results.Sum(r => r.Records?.Length ?? 0) < minBytes)
        {
            var waiting = partitions.Select((p, i) => (p, i)).Where(x => results[x.i].ErrorCode == KafkaErrors.None)
                .Select(x => (x.i, Task: FetchPartitionAsync(x.p.Topic, x.p.Request, maxBytes, request.MaxWaitMs))).ToList();
            var firstData = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            foreach (var (_, task) in waiting)
            {
                _ = task.ContinueWith(t => { if (t.Result.Records is { Length: > 0 }) firstData.TrySetResult(); }, TaskScheduler.Default);
            }
            await Task.WhenAny(firstData.Task, Task.WhenAll(waiting.Select(w => w.Task)),
                Task.Delay(request.MaxWaitMs, cancellationToken));
            foreach (var (i, task) in waiting.Where(w => w.Task.IsCompletedSuccessfully))
            {
                results[i] = task.Result;
            }
        }

        // 3. Response max bytes: whole partitions in request order; the first with data always comes, as in Kafka.
        var budget = maxBytes;
        var any = false;
        foreach (var r in results)
        {
            var size = r.Records?.Length ?? 0;
            if (size == 0)
            {
                continue;
            }
            if (any && size > budget)
            {
                r.Records = [];
                continue;
            }
            any = true;
            budget -= size;
        }

        var response = new FetchResponse { SessionId = 0 };
        var index = 0;
        foreach (var topic in request.Topics)
        {
            var topicResponse = new FetchResponse.FetchableTopicResponse { Topic = topic.Topic, TopicId = topic.TopicId };
            foreach (var _ in topic.Partitions)
            {
                topicResponse.Partitions.Add(results[index++]);
            }
            response.Responses.Add(topicResponse);
        }
        return response;
    }

    private async Task<FetchResponse.PartitionData> FetchPartitionAsync(string topic, FetchRequest.FetchPartition request, int maxBytes, int maxWaitMs)
    {
        var partitionMax = Math.Clamp(request.PartitionMaxBytes, 1, maxBytes);
        var (result, error, _) = await Try(() => Partition(topic, request.Partition).Fetch(request.FetchOffset, partitionMax, maxWaitMs), SupportedApis.Fetch);
        var data = new FetchResponse.PartitionData { PartitionIndex = request.Partition, ErrorCode = error, AbortedTransactions = null, Records = [] };
        if (result is not null)
        {
            data.HighWatermark = result.HighWatermark;
            // No transactions: everything below the high watermark is stable (read_committed = read_uncommitted).
            data.LastStableOffset = result.HighWatermark;
            data.LogStartOffset = result.LogStartOffset;
            data.Records = result.Batches;
        }
        else if (error == KafkaErrors.OffsetOutOfRange)
        {
            var (marks, _, _) = await Try(() => Partition(topic, request.Partition).GetWatermarks(), SupportedApis.Fetch);
            data.HighWatermark = data.LastStableOffset = marks?.HighWatermark ?? -1;
            data.LogStartOffset = marks?.LogStartOffset ?? -1;
        }
        else
        {
            data.HighWatermark = data.LastStableOffset = -1;
        }
        return data;
    }

    // ---- ListOffsets: earliest (-2), latest (-1) or by timestamp, from the partition grain ----

    private async Task<ListOffsetsResponse> ListOffsetsAsync(ListOffsetsRequest request)
    {
        var response = new ListOffsetsResponse();
        foreach (var topic in request.Topics)
        {
            var partitions = await Task.WhenAll(topic.Partitions.Select(async p =>
            {
                var (offset, error, _) = await Try(() => Partition(topic.Name, p.PartitionIndex).GetOffsetForTimestamp(p.Timestamp), SupportedApis.ListOffsets);
                return new ListOffsetsResponse.ListOffsetsPartitionResponse
                {
                    PartitionIndex = p.PartitionIndex,
                    ErrorCode = error,
                    Timestamp = -1,
                    Offset = error == KafkaErrors.None ? offset : -1,
                };
            }));
            response.Topics.Add(new ListOffsetsResponse.ListOffsetsTopicResponse { Name = topic.Name, Partitions = partitions.ToList() });
        }
        return response;
    }

    // ---- CreateTopics and DeleteTopics: the topic registry ----

    private async Task<CreateTopicsResponse> CreateTopicsAsync(CreateTopicsRequest request)
    {
        var results = await Task.WhenAll(request.Topics.Select(async topic =>
        {
            var result = new CreateTopicsResponse.CreatableTopicResult { Name = topic.Name, ReplicationFactor = 1, Configs = null, ErrorMessage = null };
            // -1 asks for the broker default (Kafka's num.partitions = 1); explicit assignments give the count.
            var partitions = topic.NumPartitions > 0 ? topic.NumPartitions : topic.Assignments.Count > 0 ? topic.Assignments.Count : 1;
            TopicConfig config;
            try
            {
                config = TopicConfigFrom(topic.Configs);
            }
            catch (InvalidRequestException e)
            {
                (result.ErrorCode, result.ErrorMessage) = (KafkaErrors.InvalidConfig, e.Message);
                return result;
            }
            if (request.validateOnly)
            {
                if (!TopicName.IsValid(topic.Name))
                {
                    (result.ErrorCode, result.ErrorMessage) = (KafkaErrors.InvalidTopicException, $"Invalid topic name '{topic.Name}'.");
                }
                result.NumPartitions = partitions;
                return result;
            }
            var (created, error, message) = await Try(() => Topics.CreateTopic(topic.Name, partitions, config), SupportedApis.CreateTopics);
            (result.ErrorCode, result.ErrorMessage) = (error, message);
            result.NumPartitions = created?.PartitionCount ?? -1;
            return result;
        }));
        return new CreateTopicsResponse { Topics = results.ToList() };
    }

    /// <summary>The topic configs we keep; any other name is refused (INVALID_CONFIG) rather than silently dropped.</summary>
    private static TopicConfig TopicConfigFrom(List<CreateTopicsRequest.CreatableTopicConfig> configs)
    {
        var config = TopicConfig.Default;
        foreach (var c in configs)
        {
            if (c.Value is null)
            {
                continue;
            }
            config = c.Name switch
            {
                "max.message.bytes" => config with { MaxMessageBytes = ParseNumber<int>(c) },
                "retention.ms" => config with { RetentionMs = ParseNumber<long>(c) },
                "retention.bytes" => config with { RetentionBytes = ParseNumber<long>(c) },
                _ => throw new InvalidRequestException($"Topic config '{c.Name}' is not supported (max.message.bytes, retention.ms, retention.bytes are)."),
            };
        }
        config.Validate();
        return config;
    }

    private static T ParseNumber<T>(CreateTopicsRequest.CreatableTopicConfig c) where T : System.Numerics.INumber<T> =>
        T.TryParse(c.Value, System.Globalization.CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidRequestException($"Topic config '{c.Name}' = '{c.Value}' is not a number.");

    private async Task<DeleteTopicsResponse> DeleteTopicsAsync(DeleteTopicsRequest request, short version)
    {
        var results = await Task.WhenAll(request.TopicNames.Select(async name =>
        {
            var (_, error, message) = await Try(async () => { await Topics.DeleteTopic(name); return true; }, SupportedApis.DeleteTopics);
            return new DeleteTopicsResponse.DeletableTopicResult { Name = name, ErrorCode = error, ErrorMessage = version >= 5 ? message : null };
        }));
        return new DeleteTopicsResponse { Responses = results.ToList() };
    }

    // ---- FindCoordinator: this silo (it reaches any group grain) ----

    private FindCoordinatorResponse FindCoordinator(FindCoordinatorRequest request, short version)
    {
        var broker = Broker;
        if (version < 4)
        {
            return new FindCoordinatorResponse { NodeId = broker.NodeId, Host = broker.Host, Port = broker.Port, ErrorMessage = null };
        }
        return new FindCoordinatorResponse
        {
            Coordinators = request.CoordinatorKeys.Select(key => new FindCoordinatorResponse.Coordinator
            {
                Key = key, NodeId = broker.NodeId, Host = broker.Host, Port = broker.Port, ErrorMessage = null,
            }).ToList(),
        };
    }
}
