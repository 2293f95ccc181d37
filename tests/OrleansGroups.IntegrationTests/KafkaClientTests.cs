using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using OrleansGroups.TestKit;
using OurPartitioner = OrleansGroups.Core.Log.Partitioner;

namespace OrleansGroups.IntegrationTests;

/// <summary>A memory-storage silo process with its Kafka listener on a free port.</summary>
public sealed class KafkaSiloFixture : IAsyncLifetime
{
    public SiloProcess Silo { get; private set; } = null!;

    public int KafkaPort { get; private set; }

    public string BootstrapServers => $"127.0.0.1:{KafkaPort}";

    public async Task InitializeAsync()
    {
        KafkaPort = FreePorts.Get(1)[0];
        Silo = await SiloProcess.StartAsync(connectionString: null, extraArgs: ["--kafka-port", KafkaPort.ToString(), "--health-port", "0"]);
    }

    public async Task DisposeAsync() => await Silo.DisposeAsync();
}

/// <summary>Confluent.Kafka (librdkafka 2.16), unchanged, against the silo's Kafka listener.</summary>
[Trait("Category", "EndToEnd")]
public sealed class KafkaClientTests(KafkaSiloFixture fixture) : IClassFixture<KafkaSiloFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ConfluentKafka_CreatesTopic_ProducesKeyedWithHeaders_AndAnAssignedConsumerReadsItBack()
    {
        var topic = $"kafka-{Guid.NewGuid():N}"[..20];
        const int partitions = 3;

        // 1. The admin client creates the topic (CreateTopics), then sees it in Metadata.
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = fixture.BootstrapServers }).Build())
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }]);
            var metadata = admin.GetMetadata(topic, Timeout);
            Assert.Equal(partitions, Assert.Single(metadata.Topics).Partitions.Count);
            Assert.Single(metadata.Brokers);
        }

        // 2. An idempotent producer (InitProducerId, sequenced v2 batches) with Java's murmur2 partitioner.
        var sent = new List<DeliveryResult<string, string>>();
        var producerConfig = new ProducerConfig
        {
            BootstrapServers = fixture.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            Partitioner = Partitioner.Murmur2Random,
            LingerMs = 5,
        };
        using (var producer = new ProducerBuilder<string, string>(producerConfig).Build())
        {
            for (var i = 0; i < 30; i++)
            {
                var headers = new Headers { { "n", Encoding.UTF8.GetBytes(i.ToString()) }, { "source", Encoding.UTF8.GetBytes("confluent") } };
                sent.Add(await producer.ProduceAsync(topic, new Message<string, string> { Key = $"key-{i % 7}", Value = $"value-{i}", Headers = headers }));
            }
            producer.Flush(Timeout);
        }
        Assert.All(sent, d => Assert.Equal(PersistenceStatus.Persisted, d.Status));

        // 3. Each key landed where our own Partitioner puts it (murmur2, as Java's producer does).
        foreach (var d in sent)
        {
            Assert.Equal(OurPartitioner.ForKey(Encoding.UTF8.GetBytes(d.Message.Key), partitions), d.Partition.Value);
        }
        // Offsets per partition are 0..n-1, in send order.
        foreach (var group in sent.GroupBy(d => d.Partition.Value))
        {
            Assert.Equal(Enumerable.Range(0, group.Count()).Select(i => (long)i), group.Select(d => d.Offset.Value));
        }

        // 4. A consumer without a group (Assign) reads everything back: keys, values, headers, offsets (ListOffsets, Fetch).
        var consumerConfig = new ConsumerConfig
        {
            BootstrapServers = fixture.BootstrapServers,
            GroupId = "unused-assign-only",
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
        };
        var received = new List<ConsumeResult<string, string>>();
        using (var consumer = new ConsumerBuilder<string, string>(consumerConfig).Build())
        {
            consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
            var deadline = DateTime.UtcNow + Timeout;
            while (received.Count < sent.Count && DateTime.UtcNow < deadline)
            {
                if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { IsPartitionEOF: false } result)
                {
                    received.Add(result);
                }
            }
            consumer.Close();
        }
        Assert.Equal(
            sent.Select(d => (d.Partition.Value, d.Offset.Value, d.Message.Key, d.Message.Value)).Order(),
            received.Select(r => (r.Partition.Value, r.Offset.Value, r.Message.Key, r.Message.Value)).Order());
        foreach (var r in received)
        {
            var n = r.Message.Value["value-".Length..];
            Assert.Equal([("n", n), ("source", "confluent")], r.Message.Headers.Select(h => (h.Key, Encoding.UTF8.GetString(h.GetValueBytes()))));
        }

        // 5. The native CLI reads what Confluent.Kafka produced, partition by partition.
        var og = RepositoryPaths.ProjectOutput("OrleansGroups.Cli", "og");
        foreach (var group in sent.GroupBy(d => d.Partition.Value))
        {
            var consumed = await ChildProcess.RunAsync(ChildProcess.DotnetHost,
                [og, "consume", topic, "--partition", group.Key.ToString(), "--from-beginning", "--max-messages", group.Count().ToString(),
                    "--gateway", $"127.0.0.1:{fixture.Silo.GatewayPort}", "--service-id", fixture.Silo.ServiceId],
                null, TimeSpan.FromSeconds(60));
            Assert.True(consumed.ExitCode == 0, consumed.StandardError);
            Assert.Equal(group.Select(d => d.Message.Value), consumed.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
    }

    [Fact]
    public async Task UnknownApiKey_ClosesThatConnectionOnly()
    {
        using var bad = new System.Net.Sockets.TcpClient();
        await bad.ConnectAsync("127.0.0.1", fixture.KafkaPort);
        var stream = bad.GetStream();
        // size 10 | api key 999 | version 0 | correlation id 1 | client id null
        await stream.WriteAsync(Convert.FromHexString("0000000a03e70000000000 01ffff".Replace(" ", "")));
        var buffer = new byte[16];
        Assert.Equal(0, await stream.ReadAsync(buffer).AsTask().WaitAsync(Timeout));

        // The listener still serves everyone else.
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = fixture.BootstrapServers }).Build();
        Assert.Single(admin.GetMetadata(Timeout).Brokers);
    }

    [Fact]
    public async Task ApiVersions_OfAnUnknownVersion_IsAnsweredInV0FormWithOurRanges()
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync("127.0.0.1", fixture.KafkaPort);
        var stream = client.GetStream();
        // size 12 | api key 18 | version 99 | correlation id 7 | client id "" (int16 0) | tag buffer 0 (v2 header)
        await stream.WriteAsync(Convert.FromHexString("0000000b 0012 0063 00000007 0000 00".Replace(" ", "")));
        var size = new byte[4];
        await stream.ReadExactlyAsync(size).AsTask().WaitAsync(Timeout);
        var body = new byte[System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(size)];
        await stream.ReadExactlyAsync(body);
        // correlation id 7 (header v0) | error 35 UNSUPPORTED_VERSION | int32 count of ranges, ApiVersions among them
        Assert.Equal(7, System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(body));
        Assert.Equal(35, System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(4)));
        var count = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(6));
        var ranges = Enumerable.Range(0, count).Select(i => body.AsSpan(10 + i * 6, 6).ToArray()).ToList();
        Assert.Contains(ranges, r => Convert.ToHexString(r) == "001200000003");
    }
}
