using OrleansGroups.Kafka.Protocol;
using OrleansGroups.Kafka.Protocol.Messages;

namespace OrleansGroups.Kafka.Tests;

/// <summary>Generated codecs against hand-computed byte vectors, and round trips across version ranges.</summary>
public sealed class CodecTests
{
    private static byte[] Encode(Action<KafkaWriter> write)
    {
        var writer = new KafkaWriter();
        write(writer);
        return writer.ToArray();
    }

    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    private static ApiVersionsResponse OneApi() => new()
    {
        ApiKeys = [new ApiVersionsResponse.ApiVersion { ApiKey = 18, MinVersion = 0, MaxVersion = 3 }],
    };

    [Fact]
    public void ApiVersionsResponseV0_IsErrorCode_Int32Count_Entries()
    {
        // error_code int16 | api_keys int32 count | (api_key, min, max) int16s
        Assert.Equal(Hex("0000 00000001 0012 0000 0003"), Encode(w => OneApi().Write(w, 0)));
    }

    [Fact]
    public void ApiVersionsResponseV3_IsCompactArray_TaggedFields_ThrottleTime()
    {
        // error_code | compact array: count+1 = 2 | entry + empty tag buffer | throttle_time_ms | empty tag buffer
        Assert.Equal(Hex("0000 02 0012 0000 0003 00 00000000 00"), Encode(w => OneApi().Write(w, 3)));
    }

    [Fact]
    public void ApiVersionsRequestV3_ReadsCompactStrings()
    {
        // client_software_name "librdkafka" (compact: length+1 = 0x0b), version "2.16.0" (0x07), empty tag buffer
        var bytes = Hex("0b 6c696272646b61666b61 07 322e31362e30 00");
        var request = ApiVersionsRequest.Read(new KafkaReader(bytes), 3);
        Assert.Equal(("librdkafka", "2.16.0"), (request.ClientSoftwareName, request.ClientSoftwareVersion));
        Assert.Equal(bytes, Encode(w => request.Write(w, 3)));
    }

    [Fact]
    public void RequestHeaderV2_KeepsAnInt16ClientId_AndReadsTags()
    {
        // api_key 18 | api_version 3 | correlation_id 7 | client_id int16 length 3 "abc" (not compact) | no tags
        var bytes = Hex("0012 0003 00000007 0003 616263 00");
        var header = RequestHeader.Read(new KafkaReader(bytes), 2);
        Assert.Equal((18, 3, 7, "abc"), (header.RequestApiKey, header.RequestApiVersion, header.CorrelationId, header.ClientId));
        Assert.Equal(bytes, Encode(w => header.Write(w, 2)));
    }

    [Fact]
    public void UnknownTaggedFields_AreSkipped()
    {
        // ApiVersionsRequest v3 with two tags the schema does not know (tag 5: 2 bytes, tag 9: 0 bytes).
        var bytes = Hex("02 61 02 62 02 05 02 ffff 09 00");
        var request = ApiVersionsRequest.Read(new KafkaReader(bytes), 3);
        Assert.Equal(("a", "b"), (request.ClientSoftwareName, request.ClientSoftwareVersion));
    }

    [Fact]
    public void KnownTaggedField_RoundTrips_AndDefaultsAreNotWritten()
    {
        var request = new FetchRequest { ClusterId = "c1", ReplicaId = -1, MaxWaitMs = 500, MinBytes = 1, MaxBytes = 1000 };
        var bytes = Encode(w => request.Write(w, 12));
        var read = FetchRequest.Read(new KafkaReader(bytes), 12);
        Assert.Equal("c1", read.ClusterId);
        Assert.Null(read.ReplicaState);

        var withoutTag = Encode(w => new FetchRequest { ReplicaId = -1 }.Write(w, 12));
        Assert.Equal(0, withoutTag[^1]); // the message ends with an empty tag buffer
    }

    [Theory]
    [InlineData(3)]
    [InlineData(8)]
    [InlineData(9)]
    public void ProduceRequest_RoundTrips(short version)
    {
        var request = new ProduceRequest
        {
            TransactionalId = null,
            Acks = -1,
            TimeoutMs = 30000,
            TopicData =
            [
                new ProduceRequest.TopicProduceData
                {
                    Name = "orders",
                    PartitionData = [new ProduceRequest.PartitionProduceData { Index = 2, Records = [1, 2, 3] }],
                },
            ],
        };
        var bytes = Encode(w => request.Write(w, version));
        var read = ProduceRequest.Read(new KafkaReader(bytes), version);
        Assert.Equal(bytes, Encode(w => read.Write(w, version)));
        Assert.Equal(("orders", 2), (read.TopicData[0].Name, read.TopicData[0].PartitionData[0].Index));
        Assert.Equal(new byte[] { 1, 2, 3 }, read.TopicData[0].PartitionData[0].Records);
        Assert.Null(read.TransactionalId);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(9)]
    [InlineData(12)]
    public void MetadataResponse_RoundTrips(short version)
    {
        var response = new MetadataResponse
        {
            Brokers = [new MetadataResponse.MetadataResponseBroker { NodeId = 7, Host = "h", Port = 9092 }],
            ClusterId = "c",
            ControllerId = 7,
            Topics =
            [
                new MetadataResponse.MetadataResponseTopic
                {
                    Name = "t",
                    Partitions = [new MetadataResponse.MetadataResponsePartition { PartitionIndex = 0, LeaderId = 7, ReplicaNodes = [7], IsrNodes = [7] }],
                },
            ],
        };
        var bytes = Encode(w => response.Write(w, version));
        var read = MetadataResponse.Read(new KafkaReader(bytes), version);
        Assert.Equal(bytes, Encode(w => read.Write(w, version)));
        Assert.Equal((7, "h", 9092), (read.Brokers[0].NodeId, read.Brokers[0].Host, read.Brokers[0].Port));
        Assert.Equal([7], read.Topics[0].Partitions[0].ReplicaNodes);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(11)]
    [InlineData(12)]
    public void FetchResponse_RoundTrips_WithNullableArrays(short version)
    {
        var response = new FetchResponse
        {
            Responses =
            [
                new FetchResponse.FetchableTopicResponse
                {
                    Topic = "t",
                    Partitions =
                    [
                        new FetchResponse.PartitionData { PartitionIndex = 1, HighWatermark = 10, AbortedTransactions = null, Records = [9, 9] },
                    ],
                },
            ],
        };
        var bytes = Encode(w => response.Write(w, version));
        var read = FetchResponse.Read(new KafkaReader(bytes), version);
        Assert.Equal(bytes, Encode(w => read.Write(w, version)));
        Assert.Null(read.Responses[0].Partitions[0].AbortedTransactions);
        Assert.Equal(new byte[] { 9, 9 }, read.Responses[0].Partitions[0].Records);
    }

    [Fact]
    public void UuidsAreBigEndian()
    {
        var id = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        Assert.Equal(Hex("00112233445566778899aabbccddeeff"), Encode(w => w.WriteUuid(id)));
        Assert.Equal(id, new KafkaReader(Hex("00112233445566778899aabbccddeeff")).ReadUuid());
    }

    [Theory]
    [InlineData(0, "00")]
    [InlineData(127, "7f")]
    [InlineData(128, "8001")]
    [InlineData(300, "ac02")]
    public void UnsignedVarInts(int value, string hex)
    {
        Assert.Equal(Hex(hex), Encode(w => w.WriteUnsignedVarInt(value)));
        Assert.Equal(value, new KafkaReader(Hex(hex)).ReadUnsignedVarInt());
    }

    [Fact]
    public void TruncatedOrHostileLengths_FailAsProtocolErrors()
    {
        // An array claiming 2^31-1 elements in a 6-byte frame, a string running past the end, a 6-byte varint.
        Assert.Throws<KafkaProtocolException>(() => ApiVersionsResponse.Read(new KafkaReader(Hex("0000 7fffffff")), 0));
        Assert.Throws<KafkaProtocolException>(() => ApiVersionsRequest.Read(new KafkaReader(Hex("10 61")), 3));
        Assert.Throws<KafkaProtocolException>(() => new KafkaReader(Hex("ffffffffff01")).ReadUnsignedVarInt());
        Assert.Throws<UnsupportedKafkaVersionException>(() => ApiVersionsRequest.Read(new KafkaReader(Array.Empty<byte>()), 4));
    }

    [Fact]
    public void NullInANonNullableField_IsRefusedOnWrite() =>
        Assert.Throws<InvalidOperationException>(() =>
            Encode(w => new MetadataResponse { Brokers = [new MetadataResponse.MetadataResponseBroker { Host = null! }] }.Write(w, 1)));
}

/// <summary>The one table from our error codes to Kafka's.</summary>
public sealed class KafkaErrorsTests
{
    [Fact]
    public void EveryErrorCode_HasAKafkaCode() =>
        Assert.All(Enum.GetValues<OrleansGroups.Core.Errors.OrleansGroupsErrorCode>(),
            code => Assert.True(OrleansGroups.Kafka.Internal.KafkaErrors.ByCode.ContainsKey(code), $"{code} has no Kafka error code"));

    [Theory]
    [InlineData(OrleansGroups.Core.Errors.OrleansGroupsErrorCode.UnknownTopic, 3)]
    [InlineData(OrleansGroups.Core.Errors.OrleansGroupsErrorCode.OffsetOutOfRange, 1)]
    [InlineData(OrleansGroups.Core.Errors.OrleansGroupsErrorCode.RecordTooLarge, 10)]
    [InlineData(OrleansGroups.Core.Errors.OrleansGroupsErrorCode.CorruptRecord, 2)]
    [InlineData(OrleansGroups.Core.Errors.OrleansGroupsErrorCode.NotLeaderOrFollower, 6)]
    [InlineData(OrleansGroups.Core.Errors.OrleansGroupsErrorCode.OutOfOrderSequence, 45)]
    [InlineData(OrleansGroups.Core.Errors.OrleansGroupsErrorCode.InvalidTopicName, 17)]
    [InlineData(OrleansGroups.Core.Errors.OrleansGroupsErrorCode.TopicAlreadyExists, 36)]
    public void KnownCodes(OrleansGroups.Core.Errors.OrleansGroupsErrorCode code, short kafka) =>
        Assert.Equal(kafka, OrleansGroups.Kafka.Internal.KafkaErrors.ByCode[code]);
}
