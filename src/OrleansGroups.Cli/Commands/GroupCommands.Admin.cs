using System.CommandLine;
using System.Globalization;
using OrleansGroups.Core.Offsets;

namespace OrleansGroups.Cli.Commands;

/// <summary><c>og group delete</c> and <c>og group reset-offsets</c>: Kafka's rules, so both need a group without members.</summary>
internal static partial class GroupCommands
{
    private static Command DeleteGroup()
    {
        var groupId = new Argument<string>("group") { Description = "Group id" };
        var command = new Command("delete",
            "Delete a consumer group and its committed offsets. Only a group without active members can be deleted " +
            "(stop its consumers, or wait for their session timeout); prints \"Deleted group G\"")
        {
            groupId,
        };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, async (cluster, _) =>
        {
            var group = parse.GetValue(groupId)!;
            await cluster.Client.Admin.DeleteGroupAsync(group);
            Console.Out.WriteLine($"Deleted group {group}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command ResetOffsets()
    {
        var groupId = new Argument<string>("group") { Description = "Group id (a group that does not exist yet is created with these offsets)" };
        var topic = new Option<string>("--topic")
        {
            Description = "Topic to reset: TOPIC for all its partitions, or TOPIC:0,2 for some",
            Required = true,
        };
        var toEarliest = new Option<bool>("--to-earliest") { Description = "Reset to the oldest offset still in each partition" };
        var toLatest = new Option<bool>("--to-latest") { Description = "Reset to the end of each partition (skip everything written so far)" };
        var toOffset = new Option<long?>("--to-offset") { Description = "Reset to offset N (clamped to each partition's log start and end)" };
        var toDatetime = new Option<string?>("--to-datetime")
        {
            Description = "Reset to the first record written at or after an ISO 8601 time, e.g. 2025-01-31T12:00:00Z " +
                "(a time without an offset is UTC); the end of the partition when there is none",
        };
        var shiftBy = new Option<long?>("--shift-by")
        {
            Description = "Move the committed offset by N (negative: back), clamped to the partition's log start and end; " +
                "every partition needs a committed offset",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show the new offsets without committing them" };
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON object: {\"groupId\", \"topic\", \"dryRun\", \"partitions\": [{\"partition\", \"old\", \"new\"}]} " +
                "(old is null where the group had no committed offset)",
        };
        var command = new Command("reset-offsets",
            "Reset a consumer group's committed offsets in a topic, as Kafka's kafka-consumer-groups --reset-offsets. " +
            "The group must have no active members. Give exactly one of --to-earliest, --to-latest, --to-offset, " +
            "--to-datetime, --shift-by. Prints a table PARTITION OLD NEW (OLD is - where nothing was committed)")
        {
            groupId, topic, toEarliest, toLatest, toOffset, toDatetime, shiftBy, dryRun, json,
        };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction(async (parse, ct) =>
        {
            OffsetResetSpec spec;
            (string Topic, IReadOnlyList<int>? Partitions) target;
            try
            {
                spec = ParseResetSpec(parse.GetValue(toEarliest), parse.GetValue(toLatest), parse.GetValue(toOffset),
                    parse.GetValue(toDatetime), parse.GetValue(shiftBy));
                target = ParseTopicPartitions(parse.GetValue(topic)!);
            }
            catch (CliException e)
            {
                // Argument mistakes are reported before connecting: no cluster is needed to find them.
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return ExitCodes.Failed;
            }
            return await ClusterConnection.RunAsync(parse, ct, async (cluster, _) =>
            {
                var group = parse.GetValue(groupId)!;
                var isDryRun = parse.GetValue(dryRun);
                var results = await cluster.Client.Admin.ResetOffsetsAsync(group, target.Topic, spec, isDryRun, target.Partitions);
                if (parse.GetValue(json))
                {
                    JsonLine.Write(Console.Out, w => WriteResetJson(w, group, target.Topic, isDryRun, results));
                }
                else
                {
                    var table = new TableWriter("PARTITION>", "OLD>", "NEW>");
                    foreach (var result in results)
                    {
                        table.AddRow(result.Partition.Partition, result.PreviousOffset, result.NewOffset);
                    }
                    table.WriteTo(Console.Out);
                }
                Console.Error.WriteLine(isDryRun
                    ? $"Dry run ({spec}): nothing was committed"
                    : $"Reset {results.Count} partition(s) of {target.Topic} for group {group} ({spec})");
                return ExitCodes.Ok;
            });
        });
        return command;
    }

    /// <summary>Exactly one reset scenario, as Kafka requires.</summary>
    internal static OffsetResetSpec ParseResetSpec(bool toEarliest, bool toLatest, long? toOffset, string? toDatetime, long? shiftBy)
    {
        var chosen = new List<OffsetResetSpec>();
        if (toEarliest)
        {
            chosen.Add(OffsetResetSpec.ToEarliest());
        }
        if (toLatest)
        {
            chosen.Add(OffsetResetSpec.ToLatest());
        }
        if (toOffset is { } offset)
        {
            if (offset < 0)
            {
                throw new CliException($"--to-offset must be 0 or more, got {offset}.");
            }
            chosen.Add(OffsetResetSpec.ToOffset(offset));
        }
        if (toDatetime is not null)
        {
            if (!DateTimeOffset.TryParse(toDatetime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            {
                throw new CliException($"--to-datetime '{toDatetime}' is not an ISO 8601 time such as 2025-01-31T12:00:00Z.");
            }
            chosen.Add(OffsetResetSpec.ToDatetime(time));
        }
        if (shiftBy is { } shift)
        {
            chosen.Add(OffsetResetSpec.ShiftBy(shift));
        }
        return chosen.Count == 1
            ? chosen[0]
            : throw new CliException(
                $"give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by (got {chosen.Count}).");
    }

    /// <summary>"orders" (all partitions) or "orders:0,2" (Kafka's --topic syntax).</summary>
    internal static (string Topic, IReadOnlyList<int>? Partitions) ParseTopicPartitions(string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon < 0)
        {
            return (value, null);
        }
        var partitions = new List<int>();
        foreach (var part in value[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var partition))
            {
                throw new CliException($"--topic '{value}': '{part}' is not a partition number (use TOPIC or TOPIC:0,1,2).");
            }
            partitions.Add(partition);
        }
        return (value[..colon], partitions);
    }

    private static void WriteResetJson(System.Text.Json.Utf8JsonWriter w, string group, string topic, bool dryRun, IReadOnlyList<OffsetResetResult> results)
    {
        w.WriteStartObject();
        w.WriteString("groupId", group);
        w.WriteString("topic", topic);
        w.WriteBoolean("dryRun", dryRun);
        w.WriteStartArray("partitions");
        foreach (var result in results)
        {
            w.WriteStartObject();
            w.WriteNumber("partition", result.Partition.Partition);
            WriteNullable(w, "old", result.PreviousOffset);
            w.WriteNumber("new", result.NewOffset);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
