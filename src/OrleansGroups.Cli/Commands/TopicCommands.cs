using System.CommandLine;

namespace OrleansGroups.Cli.Commands;

/// <summary><c>og topic create | list | describe</c>.</summary>
internal static class TopicCommands
{
    public static Command Create() => new("topic", "Create, list and describe topics")
    {
        CreateTopic(),
        ListTopics(),
        DescribeTopic(),
    };

    private static Command CreateTopic()
    {
        var name = new Argument<string>("name") { Description = "Topic name: 1-249 characters of a-z A-Z 0-9 . _ -" };
        var partitions = new Option<int>("--partitions")
        {
            Description = "Number of partitions (the most consumers of one group that can work in parallel)",
            Required = true,
        };
        var command = new Command("create", "Create a topic") { name, partitions };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, async (cluster, _) =>
        {
            var topic = await cluster.Client.Admin.CreateTopicAsync(parse.GetValue(name)!, parse.GetValue(partitions));
            Console.Out.WriteLine($"Created topic {topic.Name} with {topic.PartitionCount} partitions");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ListTopics()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array: [{\"name\",\"partitions\"}]" };
        var command = new Command("list", "List topics with their partition counts (a table: TOPIC PARTITIONS)") { json };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, async (cluster, _) =>
        {
            var topics = (await cluster.Client.Admin.ListTopicsAsync()).OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
            if (parse.GetValue(json))
            {
                JsonLine.Write(Console.Out, w =>
                {
                    w.WriteStartArray();
                    foreach (var topic in topics)
                    {
                        w.WriteStartObject();
                        w.WriteString("name", topic.Name);
                        w.WriteNumber("partitions", topic.PartitionCount);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
                return ExitCodes.Ok;
            }
            var table = new TableWriter("TOPIC", "PARTITIONS>");
            foreach (var topic in topics)
            {
                table.AddRow(topic.Name, topic.PartitionCount);
            }
            table.WriteTo(Console.Out);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command DescribeTopic()
    {
        var name = new Argument<string>("name") { Description = "Topic name" };
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON object: {\"name\", \"partitionCount\", \"createdAt\" (ISO 8601), " +
                "\"maxMessageBytes\", \"retentionMs\", \"retentionBytes\", " +
                "\"partitions\": [{\"partition\", \"logStartOffset\", \"endOffset\", \"records\"}]}",
        };
        var command = new Command("describe",
            "Show a topic's settings and, per partition, the log start offset, the end offset (offset of the next record) " +
            "and the records in between")
        {
            name, json,
        };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, async (cluster, _) =>
        {
            var details = await cluster.Client.Admin.DescribeTopicAsync(parse.GetValue(name)!);
            var topic = details.Topic;
            if (parse.GetValue(json))
            {
                JsonLine.Write(Console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("name", topic.Name);
                    w.WriteNumber("partitionCount", topic.PartitionCount);
                    w.WriteString("createdAt", topic.CreatedAt);
                    w.WriteNumber("maxMessageBytes", topic.Config.MaxMessageBytes);
                    w.WriteNumber("retentionMs", topic.Config.RetentionMs);
                    w.WriteNumber("retentionBytes", topic.Config.RetentionBytes);
                    w.WriteStartArray("partitions");
                    foreach (var p in details.Partitions)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("partition", p.Partition);
                        w.WriteNumber("logStartOffset", p.LogStartOffset);
                        w.WriteNumber("endOffset", p.LogEndOffset);
                        w.WriteNumber("records", p.LogEndOffset - p.LogStartOffset);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                });
                return ExitCodes.Ok;
            }
            Console.Out.WriteLine($"Topic: {topic.Name}  Partitions: {topic.PartitionCount}  Created: {topic.CreatedAt:u}");
            Console.Out.WriteLine(
                $"Config: max.message.bytes={topic.Config.MaxMessageBytes} retention.ms={topic.Config.RetentionMs} " +
                $"retention.bytes={topic.Config.RetentionBytes}");
            var table = new TableWriter("PARTITION>", "LOG-START-OFFSET>", "END-OFFSET>", "RECORDS>");
            foreach (var p in details.Partitions)
            {
                table.AddRow(p.Partition, p.LogStartOffset, p.LogEndOffset, p.LogEndOffset - p.LogStartOffset);
            }
            table.WriteTo(Console.Out);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
