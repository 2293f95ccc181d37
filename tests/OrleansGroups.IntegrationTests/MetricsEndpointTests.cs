using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using OrleansGroups.Client;
using OrleansGroups.Core.Topics;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

/// <summary>
/// <c>GET /metrics</c> of a real silo process, read as Prometheus reads it: the consumer group lag computed on the silo
/// from committed and end offsets, also once the group has no live member, and the appended-records counter.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed partial class MetricsEndpointTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Metrics_ExposeConsumerGroupLag_PerGroupTopicAndPartition()
    {
        var healthPort = FreePorts.GetOne();
        await using var silo = await SiloProcess.StartAsync(null, extraArgs: ["--health-port", healthPort.ToString(CultureInfo.InvariantCulture)],
            environment: new Dictionary<string, string?> { ["OrleansGroups__Options__Groups__MetricsInterval"] = "00:00:00.200" });
        var client = await silo.ConnectAsync();
        try
        {
            var groups = client.Services.GetRequiredService<OrleansGroupsClient>();
            await groups.Admin.CreateTopicAsync("metered", 2);
            var producer = groups.CreateProducer();
            await producer.ProduceBatchAsync("metered", Enumerable.Range(0, 10).Select(i => Message.FromStrings(null, $"a{i}")).ToList(), 0);
            await producer.ProduceBatchAsync("metered", Enumerable.Range(0, 3).Select(i => Message.FromStrings(null, $"b{i}")).ToList(), 1);

            // A member commits 4 of partition 0's 10 records and all of partition 1's, then leaves: nobody consumes now.
            var consumer = groups.CreateConsumer(new ConsumerOptions("billing") { AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false });
            consumer.Subscribe("metered");
            await Wait.UntilAsync(() => consumer.Assignment.Count == 2, Deadline, "the member owns both partitions");
            await consumer.CommitAsync([new(new TopicPartition("metered", 0), 4), new(new TopicPartition("metered", 1), 3)]);
            await consumer.CloseAsync();

            var scrape = "";
            await Wait.UntilAsync(async () =>
            {
                scrape = (await GetAsync(healthPort, "/metrics")).Body;
                return Lag(scrape, "billing", "metered", "0") == 6 && Lag(scrape, "billing", "metered", "1") == 0;
            }, Deadline, "lag 6 on partition 0 and 0 on partition 1 in /metrics");

            Assert.Contains(Samples(scrape), s => s.Name == "orleansgroups_log_appended_records_total"
                && s.Labels.GetValueOrDefault("messaging_destination_name") == "metered" && s.Value == 13);
            Assert.Contains(Samples(scrape), s => s.Name == "orleansgroups_consumer_group_members" && s.Labels.GetValueOrDefault("group") == "billing" && s.Value == 0);
            // Orleans' own meter is exported too.
            Assert.Contains(Samples(scrape), s => s.Name.StartsWith("orleans_", StringComparison.Ordinal));
        }
        finally
        {
            await client.StopAsync();
            client.Dispose();
        }
    }

    /// <summary>The value of orleansgroups_consumer_group_lag{group,topic,partition}, or null when the scrape has no such series.</summary>
    private static double? Lag(string scrape, string group, string topic, string partition) => Samples(scrape)
        .Where(s => s.Name == "orleansgroups_consumer_group_lag" && s.Labels.GetValueOrDefault("group") == group
            && s.Labels.GetValueOrDefault("topic") == topic && s.Labels.GetValueOrDefault("partition") == partition)
        .Select(s => (double?)s.Value).SingleOrDefault();

    /// <summary>The samples of a Prometheus text exposition: name, labels, value.</summary>
    private static IEnumerable<(string Name, Dictionary<string, string> Labels, double Value)> Samples(string scrape)
    {
        foreach (var line in scrape.Split('\n'))
        {
            var match = SampleLine().Match(line);
            if (!match.Success)
            {
                continue;
            }
            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups[1].Value, m => Regex.Unescape(m.Groups[2].Value));
            yield return (match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture));
        }
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"[,]?""")]
    private static partial Regex LabelPair();

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(int port, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var response = await http.GetAsync($"http://127.0.0.1:{port}{path}");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
