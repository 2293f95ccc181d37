using System.CommandLine;
using System.Globalization;
using OrleansGroups.Client;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Cli.Commands;

/// <summary><c>og topic create | delete | list | describe | add-partitions | offsets</c>.</summary>
internal static class TopicCommands
{
    public static Command Create() => new("topic", "Create, delete, list and describe topics")
    {
        CreateTopic(),
        DeleteTopic(),
        ListTopics(),
        DescribeTopic(),
        AddPartitions(),
        ListOffsets(),
    };

    private static Command CreateTopic()
    {
        var name = new Argument<string>("name") { Description = "Topic name: 1-249 characters of a-z A-Z 0-9 . _ -" };
        var partitions = new Option<int>("--partitions")
        {
            Description = "Number of partitions (the most consumers of one group that can work in parallel)",
            Required = true,
        };
        var config = new Option<string[]>("--config")
        {
            Description = "Topic setting as KEY=VALUE, repeatable: max.message.bytes, retention.ms, retention.bytes (-1: unlimited)",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("create", "Create a topic") { name, partitions, config };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, async (cluster, _) =>
        {
            var settings = ParseConfig(parse.GetValue(config) ?? []);
            var topic = await cluster.Client.Admin.CreateTopicAsync(parse.GetValue(name)!, parse.GetValue(partitions), settings);
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

    private static Command DeleteTopic()
    {
        var name = new Argument<string>("name") { Description = "Topic name" };
        var command = new Command("delete",
            "Delete a topic and all its records. Producers and consumers of it get UnknownTopic; a topic created again with the name starts empty")
        {
            name,
        };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, async (cluster, _) =>
        {
            var topic = parse.GetValue(name)!;
            await cluster.Client.Admin.DeleteTopicAsync(topic);
            Console.Out.WriteLine($"Deleted topic {topic}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command AddPartitions()
    {
        var name = new Argument<string>("name") { Description = "Topic name" };
        var partitions = new Option<int>("--partitions") { Description = "The new total partition count (larger than now)", Required = true };
        var command = new Command("add-partitions",
            "Raise a topic's partition count (never lowers it, as in Kafka). Keys map to partitions by count, so keyed records of a key may land elsewhere afterwards")
        {
            name, partitions,
        };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, async (cluster, _) =>
        {
            var topic = await cluster.Client.Admin.CreatePartitionsAsync(parse.GetValue(name)!, parse.GetValue(partitions));
            Console.Out.WriteLine($"Topic {topic.Name} now has {topic.PartitionCount} partitions");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ListOffsets()
    {
        var name = new Argument<string>("name") { Description = "Topic name" };
        var at = new Option<string>("--time")
        {
            Description = "earliest, latest, unix milliseconds, or an ISO 8601 date-time: per partition, the first offset at or after it",
            DefaultValueFactory = _ => "latest",
        };
        var json = new Option<bool>("--json") { Description = "Print a JSON array: [{\"partition\",\"offset\"}]" };
        var command = new Command("offsets", "Kafka's ListOffsets: the offset of each partition at a point in time") { name, at, json };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, async (cluster, _) =>
        {
            var timestamp = ParseTime(parse.GetValue(at)!);
            var offsets = await cluster.Client.Admin.ListOffsetsAsync(parse.GetValue(name)!, timestamp);
            if (parse.GetValue(json))
            {
                JsonLine.Write(Console.Out, w =>
                {
                    w.WriteStartArray();
                    foreach (var offset in offsets)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("partition", offset.Partition);
                        w.WriteNumber("offset", offset.Offset);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
                return ExitCodes.Ok;
            }
            var table = new TableWriter("PARTITION>", "OFFSET>");
            foreach (var offset in offsets)
            {
                table.AddRow(offset.Partition, offset.Offset);
            }
            table.WriteTo(Console.Out);
            return ExitCodes.Ok;
        }));
        return command;
    }

    internal static long ParseTime(string value) => value.ToLowerInvariant() switch
    {
        "earliest" => AdminClient.Earliest,
        "latest" => AdminClient.Latest,
        _ when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) => ms,
        _ when DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) => time.ToUnixTimeMilliseconds(),
        _ => throw new CliException($"--time '{value}' is not earliest, latest, unix milliseconds or an ISO 8601 date-time"),
    };

    private static TopicConfig ParseConfig(IEnumerable<string> settings)
    {
        var config = TopicConfig.Default;
        foreach (var setting in settings)
        {
            var parts = setting.Split('=', 2);
            if (parts.Length != 2 || !long.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            {
                throw new CliException($"--config '{setting}' is not KEY=NUMBER");
            }
            config = parts[0] switch
            {
                "max.message.bytes" when number is > 0 and <= int.MaxValue => config with { MaxMessageBytes = (int)number },
                "retention.ms" => config with { RetentionMs = number },
                "retention.bytes" => config with { RetentionBytes = number },
                _ => throw new CliException($"--config '{parts[0]}' is not a supported setting (max.message.bytes, retention.ms, retention.bytes) or its value is out of range"),
            };
        }
        return config;
    }
}
