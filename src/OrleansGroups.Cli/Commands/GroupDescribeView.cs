using OrleansGroups.Client;

namespace OrleansGroups.Cli.Commands;

/// <summary>
/// The human views of <c>og group describe</c>, laid out as Kafka's <c>kafka-consumer-groups.sh --describe</c>: the
/// offsets table by default, the group's state with <c>--state</c>, its members with <c>--members</c>.
/// </summary>
internal static class GroupDescribeView
{
    /// <summary>The columns of Kafka's offsets view, in its order.</summary>
    public static readonly string[] OffsetColumns =
        ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"];

    /// <summary>
    /// One row per partition the group committed or owns: the committed offset, end offset and lag, and the owning
    /// member's id and client id; "-" where unknown (no commit yet, no owner). HOST is always "-": members do not
    /// report their address to the group.
    /// </summary>
    public static void WriteOffsets(TextWriter output, GroupDetails details)
    {
        var group = details.Group;
        if (group.Members.Count == 0)
        {
            // Kafka says this too, above the table.
            output.WriteLine($"Consumer group '{group.GroupId}' has no active members.");
            output.WriteLine();
        }
        var clients = group.Members.ToDictionary(m => m.MemberId, m => m.ClientId, StringComparer.Ordinal);
        var table = new TableWriter("GROUP", "TOPIC", "PARTITION>", "CURRENT-OFFSET>", "LOG-END-OFFSET>", "LAG>", "CONSUMER-ID", "HOST", "CLIENT-ID");
        foreach (var p in details.Partitions.OrderBy(p => p.TopicPartition.Topic, StringComparer.Ordinal).ThenBy(p => p.TopicPartition.Partition))
        {
            table.AddRow(group.GroupId, p.TopicPartition.Topic, p.TopicPartition.Partition, p.CommittedOffset, p.LogEndOffset, p.Lag,
                p.Owner, null, p.Owner is { } owner ? clients.GetValueOrDefault(owner) : null);
        }
        table.WriteTo(output);
    }

    /// <summary>The group line: state, epochs, assignor, member count.</summary>
    public static void WriteState(TextWriter output, GroupDetails details)
    {
        var group = details.Group;
        output.WriteLine(
            $"Group: {group.GroupId}  State: {group.State}  Group epoch: {group.GroupEpoch}  " +
            $"Assignment epoch: {group.AssignmentEpoch}  Assignor: {group.Assignor}  Members: {group.Members.Count}");
    }

    /// <summary>Members with their epochs, states and assignments.</summary>
    public static void WriteMembers(TextWriter output, GroupDetails details)
    {
        var group = details.Group;
        var members = new TableWriter("MEMBER", "CLIENT", "EPOCH>", "STATE", "ASSIGNED", "PENDING-REVOCATION");
        foreach (var member in group.Members.OrderBy(m => m.ClientId, StringComparer.Ordinal).ThenBy(m => m.MemberId, StringComparer.Ordinal))
        {
            members.AddRow(member.MemberId, member.InstanceId is null ? member.ClientId : $"{member.ClientId} ({member.InstanceId})",
                member.MemberEpoch, member.State, GroupCommands.Partitions(member.AssignedPartitions),
                GroupCommands.Partitions(member.PartitionsPendingRevocation));
        }
        if (members.RowCount == 0)
        {
            output.WriteLine("No active members.");
        }
        else
        {
            members.WriteTo(output);
        }
    }

    /// <summary>The views asked for, separated by blank lines: state, members, then offsets (offsets alone by default).</summary>
    public static void Write(TextWriter output, GroupDetails details, bool state, bool members, bool offsets)
    {
        var sections = new List<Action>();
        if (state)
        {
            sections.Add(() => WriteState(output, details));
        }
        if (members)
        {
            sections.Add(() => WriteMembers(output, details));
        }
        if (offsets || sections.Count == 0)
        {
            sections.Add(() => WriteOffsets(output, details));
        }
        for (var i = 0; i < sections.Count; i++)
        {
            if (i > 0)
            {
                output.WriteLine();
            }
            sections[i]();
        }
    }

    /// <summary>
    /// Shows the group every <paramref name="interval"/> until cancelled (Ctrl+C) or after <paramref name="iterations"/>
    /// refreshes (0: no limit). On a terminal each refresh redraws in place under a header line; otherwise (a pipe, a
    /// file) the views are printed again one after another, separated by a blank line, or as one JSON line each.
    /// </summary>
    public static async Task<int> WatchAsync(
        Func<CancellationToken, Task<GroupDetails>> describe, Action<TextWriter, GroupDetails> render, TextWriter output,
        bool inPlace, TimeSpan interval, int iterations, CancellationToken cancellationToken)
    {
        try
        {
            for (var i = 1; iterations == 0 || i <= iterations; i++)
            {
                var details = await describe(cancellationToken);
                var frame = new StringWriter();
                render(frame, details);
                if (inPlace)
                {
                    // Home, each line cleared to its end, then the rest of the screen cleared: no flicker, no scrolling.
                    var text = $"Every {interval.TotalSeconds:0.###}s: og group describe {details.Group.GroupId}    {DateTimeOffset.Now:HH:mm:ss}  (Ctrl+C to stop)"
                        + Environment.NewLine + Environment.NewLine + frame;
                    output.Write((i == 1 ? "\u001b[2J" : "") + "\u001b[H"
                        + text.Replace(Environment.NewLine, "\u001b[K" + Environment.NewLine, StringComparison.Ordinal) + "\u001b[J");
                }
                else
                {
                    if (i > 1 && !IsJson(frame))
                    {
                        output.WriteLine();
                    }
                    output.Write(frame.ToString());
                }
                await output.FlushAsync(cancellationToken);
                if (iterations != 0 && i == iterations)
                {
                    break;
                }
                await Task.Delay(interval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Ctrl+C is how a watch ends.
        }
        return ExitCodes.Ok;
    }

    private static bool IsJson(StringWriter frame) => frame.ToString().StartsWith('{');
}
