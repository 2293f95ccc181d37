using System.CommandLine;
using OrleansGroups.Client;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Cli.Commands;

/// <summary><c>og group list | describe | delete | reset-offsets</c>.</summary>
internal static partial class GroupCommands
{
    public static Command Create() => new("group", "List, describe, delete consumer groups and reset their offsets")
    {
        ListGroups(),
        DescribeGroup(),
        DeleteGroup(),
        ResetOffsets(),
    };

    private static Command ListGroups()
    {
        var json = new Option<bool>("--json") { Description = "Print a JSON array: [{\"groupId\",\"state\",\"members\"}]" };
        var command = new Command("list", "List consumer groups with their state and member count (a table: GROUP STATE MEMBERS)") { json };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, async (cluster, _) =>
        {
            var groups = (await cluster.Client.Admin.ListGroupsAsync()).OrderBy(g => g.GroupId, StringComparer.Ordinal).ToList();
            if (parse.GetValue(json))
            {
                JsonLine.Write(Console.Out, w =>
                {
                    w.WriteStartArray();
                    foreach (var group in groups)
                    {
                        w.WriteStartObject();
                        w.WriteString("groupId", group.GroupId);
                        w.WriteString("state", group.State.ToString());
                        w.WriteNumber("members", group.MemberCount);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                });
                return ExitCodes.Ok;
            }
            var table = new TableWriter("GROUP", "STATE", "MEMBERS>");
            foreach (var group in groups)
            {
                table.AddRow(group.GroupId, group.State, group.MemberCount);
            }
            table.WriteTo(Console.Out);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command DescribeGroup()
    {
        var groupId = new Argument<string>("group") { Description = "Group id" };
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON object: {\"groupId\", \"state\", \"groupEpoch\", \"assignmentEpoch\", \"assignor\", " +
                "\"members\": [{\"memberId\", \"clientId\", \"instanceId\", \"memberEpoch\", \"state\", \"assignment\": [\"topic/partition\", ...], " +
                "\"pendingRevocation\": [...]}], " +
                "\"partitions\": [{\"topic\", \"partition\", \"committedOffset\", \"logEndOffset\", \"lag\", \"owner\"}]} " +
                "(committedOffset and lag are null before the group's first commit; owner is a member id or null)",
        };
        var state = new Option<bool>("--state") { Description = "Show the group's state, epochs, assignor and member count" };
        var members = new Option<bool>("--members") { Description = "Show the members with their epochs, states and assignments" };
        var offsets = new Option<bool>("--offsets")
        {
            Description = "Show the offsets table (the default view; give it with --state or --members to see it too)",
        };
        var watch = new Option<bool>("--watch") { Description = "Refresh until Ctrl+C: in place on a terminal, repeated views otherwise" };
        var interval = new Option<int>("--interval-ms") { Description = "With --watch: time between refreshes", DefaultValueFactory = _ => 2000 };
        var iterations = new Option<int>("--iterations") { Description = "With --watch: stop after this many refreshes (0: until Ctrl+C)" };
        var command = new Command("describe",
            "Show where a group stands per partition, as kafka-consumer-groups --describe: GROUP TOPIC PARTITION " +
            "CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID (\"-\" where unknown); --state and --members " +
            "show the group's epochs and its members")
        {
            groupId, json, state, members, offsets, watch, interval, iterations,
        };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, async (cluster, cancellationToken) =>
        {
            var group = parse.GetValue(groupId)!;
            if (parse.GetValue(interval) < 1 || parse.GetValue(iterations) < 0)
            {
                throw new CliException("--interval-ms must be 1 or more and --iterations 0 or more");
            }
            Action<TextWriter, GroupDetails> render = parse.GetValue(json)
                ? (output, details) => JsonLine.Write(output, w => WriteJson(w, details))
                : (output, details) => GroupDescribeView.Write(output, details, parse.GetValue(state), parse.GetValue(members), parse.GetValue(offsets));
            if (!parse.GetValue(watch))
            {
                render(Console.Out, await cluster.Client.Admin.DescribeGroupAsync(group));
                return ExitCodes.Ok;
            }
            return await GroupDescribeView.WatchAsync(_ => cluster.Client.Admin.DescribeGroupAsync(group), render, Console.Out,
                inPlace: !parse.GetValue(json) && !Console.IsOutputRedirected, TimeSpan.FromMilliseconds(parse.GetValue(interval)),
                parse.GetValue(iterations), cancellationToken);
        }));
        return command;
    }

    private static void WriteJson(System.Text.Json.Utf8JsonWriter w, GroupDetails details)
    {
        var group = details.Group;
        w.WriteStartObject();
        w.WriteString("groupId", group.GroupId);
        w.WriteString("state", group.State.ToString());
        w.WriteNumber("groupEpoch", group.GroupEpoch);
        w.WriteNumber("assignmentEpoch", group.AssignmentEpoch);
        w.WriteString("assignor", group.Assignor);
        w.WriteStartArray("members");
        foreach (var member in group.Members)
        {
            w.WriteStartObject();
            w.WriteString("memberId", member.MemberId);
            w.WriteString("clientId", member.ClientId);
            w.WriteString("instanceId", member.InstanceId);
            w.WriteNumber("memberEpoch", member.MemberEpoch);
            w.WriteString("state", member.State.ToString());
            WriteStrings(w, "assignment", member.AssignedPartitions.Order().Select(p => p.ToString()));
            WriteStrings(w, "pendingRevocation", member.PartitionsPendingRevocation.Order().Select(p => p.ToString()));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("partitions");
        foreach (var p in details.Partitions)
        {
            w.WriteStartObject();
            w.WriteString("topic", p.TopicPartition.Topic);
            w.WriteNumber("partition", p.TopicPartition.Partition);
            WriteNullable(w, "committedOffset", p.CommittedOffset);
            w.WriteNumber("logEndOffset", p.LogEndOffset);
            WriteNullable(w, "lag", p.Lag);
            w.WriteString("owner", p.Owner);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteStrings(System.Text.Json.Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }
        w.WriteEndArray();
    }

    private static void WriteNullable(System.Text.Json.Utf8JsonWriter w, string name, long? value)
    {
        if (value is { } number)
        {
            w.WriteNumber(name, number);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    /// <summary>"orders/0,1 payments/3": compact per topic, "-" when empty.</summary>
    internal static string Partitions(IEnumerable<TopicPartition> partitions)
    {
        var text = string.Join(" ", partitions.Order().GroupBy(p => p.Topic)
            .Select(g => $"{g.Key}/{string.Join(",", g.Select(p => p.Partition))}"));
        return text.Length == 0 ? "-" : text;
    }
}
