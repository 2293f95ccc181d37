using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.Kafka.Protocol;
using OrleansGroups.Kafka.Protocol.Messages;

namespace OrleansGroups.Kafka.Internal;

/// <summary>
/// Decodes one request frame, answers it through the grains the Orleans client calls (topic registry, partitions,
/// producer ids), and encodes the response frame. Holds no state of its own: every fact comes from a grain.
/// </summary>
internal sealed partial class KafkaRequestHandler(IGrainFactory grains, ILogger<KafkaRequestHandler> logger)
{
    /// <summary>This silo as a broker; set when the listener starts.</summary>
    public BrokerIdentity Broker { get; set; } = new(0, "127.0.0.1", 9092, "orleansgroups");

    private ITopicRegistryGrain Topics => grains.GetGrain<ITopicRegistryGrain>(GrainKeys.TopicRegistry);

    private IPartitionGrain Partition(string topic, int partition) =>
        grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(topic, partition)));

    /// <summary>
    /// The response frame (size prefix included), or null when the request wants none (Produce with acks=0).
    /// Throws <see cref="KafkaProtocolException"/> for a frame that must close the connection: malformed, an unknown
    /// API key, or an unsupported version of any API but ApiVersions.
    /// </summary>
    public async Task<ReadOnlyMemory<byte>?> HandleAsync(byte[] frame, CancellationToken cancellationToken)
    {
        // 1. The fixed part of every request header: api key, api version, correlation id.
        var apiKey = BinaryPrimitives.ReadInt16BigEndian(frame);
        var version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2));
        var correlationId = BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(4));
        var api = Array.Find(SupportedApis.All, a => a.ApiKey == apiKey);
        if (api.ApiKey != apiKey || (api.ApiKey == 0 && apiKey != 0))
        {
            throw new KafkaProtocolException($"unknown API key {apiKey}");
        }

        // 2. An ApiVersions version we do not know: answer in v0 form with our ranges (the client picks from them).
        if (version < api.Lowest || version > api.Highest)
        {
            if (apiKey != SupportedApis.ApiVersions)
            {
                throw new KafkaProtocolException($"API {apiKey} version {version} is not supported ({api.Lowest}-{api.Highest})");
            }
            var unsupported = ApiVersions();
            unsupported.ErrorCode = KafkaErrors.UnsupportedVersion;
            return Frame(correlationId, flexibleHeader: false, w => unsupported.Write(w, 0));
        }

        // 3. The whole header (v2 with tagged fields for flexible versions, v1 otherwise), then the body.
        var flexible = version >= FirstFlexibleVersion(apiKey);
        var reader = new KafkaReader(frame);
        RequestHeader.Read(reader, flexible ? (short)2 : (short)1);
        var response = await DispatchAsync(apiKey, version, reader, cancellationToken);
        if (response is null)
        {
            return null;
        }
        // ApiVersions answers with header v0 whatever its version, so a client can read it before it knows our versions.
        return Frame(correlationId, flexible && apiKey != SupportedApis.ApiVersions, response);
    }

    private static short FirstFlexibleVersion(short apiKey) => apiKey switch
    {
        SupportedApis.ApiVersions => ApiVersionsRequest.FirstFlexibleVersion,
        SupportedApis.Metadata => MetadataRequest.FirstFlexibleVersion,
        SupportedApis.Produce => ProduceRequest.FirstFlexibleVersion,
        SupportedApis.Fetch => FetchRequest.FirstFlexibleVersion,
        SupportedApis.ListOffsets => ListOffsetsRequest.FirstFlexibleVersion,
        SupportedApis.InitProducerId => InitProducerIdRequest.FirstFlexibleVersion,
        SupportedApis.CreateTopics => CreateTopicsRequest.FirstFlexibleVersion,
        SupportedApis.DeleteTopics => DeleteTopicsRequest.FirstFlexibleVersion,
        SupportedApis.FindCoordinator => FindCoordinatorRequest.FirstFlexibleVersion,
        _ => short.MaxValue,
    };

    private async Task<Action<KafkaWriter>?> DispatchAsync(short apiKey, short version, KafkaReader reader, CancellationToken cancellationToken)
    {
        switch (apiKey)
        {
            case SupportedApis.ApiVersions:
                ApiVersionsRequest.Read(reader, version);
                var versions = ApiVersions();
                return w => versions.Write(w, version);
            case SupportedApis.Metadata:
                var metadata = await MetadataAsync(MetadataRequest.Read(reader, version), version);
                return w => metadata.Write(w, version);
            case SupportedApis.Produce:
                var produceRequest = ProduceRequest.Read(reader, version);
                var produce = await ProduceAsync(produceRequest);
                return produceRequest.Acks == 0 ? null : w => produce.Write(w, version);
            case SupportedApis.InitProducerId:
                var init = await InitProducerIdAsync(InitProducerIdRequest.Read(reader, version));
                return w => init.Write(w, version);
            case SupportedApis.Fetch:
                var fetch = await FetchAsync(FetchRequest.Read(reader, version), cancellationToken);
                return w => fetch.Write(w, version);
            case SupportedApis.ListOffsets:
                var offsets = await ListOffsetsAsync(ListOffsetsRequest.Read(reader, version));
                return w => offsets.Write(w, version);
            case SupportedApis.CreateTopics:
                var created = await CreateTopicsAsync(CreateTopicsRequest.Read(reader, version));
                return w => created.Write(w, version);
            case SupportedApis.DeleteTopics:
                var deleted = await DeleteTopicsAsync(DeleteTopicsRequest.Read(reader, version), version);
                return w => deleted.Write(w, version);
            case SupportedApis.FindCoordinator:
                var coordinator = FindCoordinator(FindCoordinatorRequest.Read(reader, version), version);
                return w => coordinator.Write(w, version);
            default:
                throw new KafkaProtocolException($"unknown API key {apiKey}");
        }
    }

    /// <summary>size int32 | correlation id | (response header v1: empty tag buffer) | body.</summary>
    private static ReadOnlyMemory<byte> Frame(int correlationId, bool flexibleHeader, Action<KafkaWriter> body)
    {
        var writer = new KafkaWriter();
        writer.WriteInt32(0);
        new ResponseHeader { CorrelationId = correlationId }.Write(writer, flexibleHeader ? (short)1 : (short)0);
        body(writer);
        writer.PatchInt32(0, writer.Length - 4);
        return writer.WrittenMemory;
    }

    /// <summary>Runs a grain call for one partition or topic, turning its failure into a Kafka error code.</summary>
    private async Task<(T? Value, short Error, string? Message)> Try<T>(Func<Task<T>> call, short apiKey)
    {
        try
        {
            return (await call(), KafkaErrors.None, null);
        }
        catch (Exception e)
        {
            var code = KafkaErrors.For(e);
            if (!KafkaErrors.IsExpected(e))
            {
                Log.UnexpectedError(logger, e, apiKey, 0, code);
            }
            return (default, code, e.Message);
        }
    }

    private static ApiVersionsResponse ApiVersions() => new()
    {
        ApiKeys = SupportedApis.All
            .Select(a => new ApiVersionsResponse.ApiVersion { ApiKey = a.ApiKey, MinVersion = a.Lowest, MaxVersion = a.Highest })
            .ToList(),
    };
}
