using OrleansGroups.Client;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>
/// The two delivery contracts the README documents, each with a consumer that dies mid-work: at-least-once (commit
/// after processing: a crash repeats the unfinished record, loses none) and at-most-once (commit before processing:
/// a crash loses the unfinished record, repeats none).
/// </summary>
public abstract class DeliverySemanticsTests(ClusterFixture fixture) : ClusterTestBase(fixture)
{
    private const int Records = 10;
    private const int CrashAt = 5;

    private async Task<TopicPartition> TopicAsync()
    {
        var topic = NewName("semantics");
        await Admin.CreateTopicAsync(topic, 1);
        await using var producer = Fixture.Groups.CreateProducer();
        await producer.ProduceBatchAsync(topic, [.. Enumerable.Range(0, Records).Select(i => Message.FromStrings(null, $"r{i}"))], 0);
        return new TopicPartition(topic, 0);
    }

    private Consumer ManualCommitConsumer(string group, TopicPartition partition)
    {
        var consumer = Fixture.Groups.CreateConsumer(ClusterFixture.FastConsumer(group) with { EnableAutoCommit = false });
        consumer.Subscribe(partition.Topic);
        return consumer;
    }

    private static async Task<ConsumeResult> NextAsync(Consumer consumer) =>
        await consumer.ConsumeAsync(Deadline) ?? throw new TimeoutException("no record");

    private async Task<List<long>> DrainAsync(string group, TopicPartition partition)
    {
        var consumer = ManualCommitConsumer(group, partition);
        Consumers.Add(consumer);
        // The dead member's partition comes free after its session timeout; read to the end, then a little longer
        // so any repeat would show.
        var offsets = new List<long>();
        while (offsets.LastOrDefault(-1) < Records - 1)
        {
            offsets.Add((await NextAsync(consumer)).Offset);
        }
        while (await consumer.ConsumeAsync(TimeSpan.FromMilliseconds(500)) is { } extra)
        {
            offsets.Add(extra.Offset);
        }
        return offsets;
    }

    [Fact]
    public async Task AtLeastOnce_CommitAfterProcessing_ACrashRepeatsTheUnfinishedRecord_AndLosesNone()
    {
        var partition = await TopicAsync();
        var group = NewName("alo");
        var processed = new List<long>();
        var doomed = ManualCommitConsumer(group, partition);
        for (var i = 0; i < CrashAt; i++)
        {
            var record = await NextAsync(doomed);
            processed.Add(record.Offset);
            await doomed.CommitAsync([new TopicPartitionOffset(record.TopicPartition, record.Offset + 1)]);
        }
        // Received, not processed, not committed: then the process dies.
        Assert.Equal(CrashAt, (await NextAsync(doomed)).Offset);
        await doomed.AbandonAsync();

        processed.AddRange(await DrainAsync(group, partition));

        Assert.Equal(Enumerable.Range(0, Records).Select(i => (long)i), processed);
    }

    [Fact]
    public async Task AtMostOnce_CommitBeforeProcessing_ACrashLosesTheUnfinishedRecord_AndRepeatsNone()
    {
        var partition = await TopicAsync();
        var group = NewName("amo");
        var processed = new List<long>();
        var doomed = ManualCommitConsumer(group, partition);
        for (var i = 0; i <= CrashAt; i++)
        {
            var record = await NextAsync(doomed);
            await doomed.CommitAsync([new TopicPartitionOffset(record.TopicPartition, record.Offset + 1)]);
            if (i < CrashAt)
            {
                processed.Add(record.Offset);
            }
        }
        // Record 5 is committed but the process dies before processing it.
        await doomed.AbandonAsync();

        processed.AddRange(await DrainAsync(group, partition));

        Assert.Equal(Enumerable.Range(0, Records).Where(i => i != CrashAt).Select(i => (long)i), processed);
    }
}

[Collection(MemoryClusterCollection.Name), Trait("Category", "Cluster")]
public sealed class MemoryDeliverySemanticsTests(MemoryClusterFixture fixture) : DeliverySemanticsTests(fixture);

[Collection(AzuriteClusterCollection.Name), Trait("Category", "Azurite")]
public sealed class AzuriteDeliverySemanticsTests(AzuriteClusterFixture fixture) : DeliverySemanticsTests(fixture);
