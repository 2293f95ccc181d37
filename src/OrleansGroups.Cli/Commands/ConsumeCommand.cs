using System.CommandLine;
using System.Text;
using OrleansGroups.Client;
using OrleansGroups.Client.Internal;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Topics;

namespace OrleansGroups.Cli.Commands;

/// <summary>
/// <c>og consume TOPIC --group G</c>: joins the group as one member and prints what it is given; <c>--partition P
/// [--offset O]</c>: reads one partition without a group.
/// </summary>
internal static class ConsumeCommand
{
    public const int DefaultTimeoutMs = 10_000;

    // Records printed between two commits: a crash re-delivers at most this many (plus the auto-commit window).
    private const int MaxRecordsPerCommit = 500;

    // ConsumeAsync waits in slices this long, so the idle deadline and Ctrl+C are checked at least this often.
    private static readonly TimeSpan WaitSlice = TimeSpan.FromSeconds(1);

    public static Command Create()
    {
        var topic = new Argument<string>("topic") { Description = "Topic to consume" };
        var group = new Option<string?>("--group")
        {
            Description = "Consumer group to join; the group's members share the topic's partitions and its committed offsets. " +
                "Required unless --partition is given",
        };
        var partition = new Option<int?>("--partition")
        {
            Description = "Read this one partition without a group (Kafka's assign mode): no membership, no commits. " +
                "Starts at --offset",
        };
        var offset = new Option<string?>("--offset")
        {
            Description = "With --partition: where to start, an offset, 'earliest' or 'latest' (default latest, or earliest with --from-beginning)",
        };
        var maxMessages = new Option<long?>("--max-messages") { Description = "Exit after printing N records" };
        var timeoutMs = new Option<int>("--timeout-ms")
        {
            Description = "Exit after T ms without a new record; 0 waits until Ctrl+C or --max-messages",
            DefaultValueFactory = _ => DefaultTimeoutMs,
        };
        var fromBeginning = new Option<bool>("--from-beginning")
        {
            Description = "Start at the oldest record in partitions the group has never committed (default: only new records). " +
                "Committed offsets always win, as in Kafka",
        };
        var instanceId = new Option<string?>("--instance-id")
        {
            Description = "Join as a static member with this group.instance.id: restarted with the same id within the session " +
                "timeout, it gets its partitions back without a rebalance (exiting leaves only temporarily). Give each process its own id",
        };
        var sessionTimeoutMs = new Option<int?>("--session-timeout-ms")
        {
            Description = "Silence after which the group evicts this member and moves its partitions on (Kafka's session.timeout.ms; " +
                "default 45000, the group clamps it to its limits). Keep it above the client's 10 s call timeout unless the cluster is local",
        };
        var json = new Option<bool>("--json")
        {
            Description = "One JSON object per record: {\"topic\",\"partition\",\"offset\",\"key\",\"value\",\"timestamp\"} " +
                "(key and value as UTF-8 text, key null when absent, timestamp in Unix milliseconds). Default: the value only",
        };
        var command = new Command("consume",
            "Join a consumer group as one member and print its records to stdout as they arrive, committing what was printed " +
            "(or, with --partition, read one partition without a group). Exits after --max-messages records or --timeout-ms without records, leaving the group; " +
            "prints \"Consumed N records\" on stderr")
        {
            topic, group, partition, offset, maxMessages, timeoutMs, fromBeginning, instanceId, sessionTimeoutMs, json,
        };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, (cluster, token) => RunAsync(
            cluster, parse.GetValue(topic)!, parse.GetValue(group), parse.GetValue(partition), parse.GetValue(offset),
            parse.GetValue(maxMessages), parse.GetValue(timeoutMs), parse.GetValue(fromBeginning), parse.GetValue(instanceId),
            parse.GetValue(sessionTimeoutMs), parse.GetValue(json), token)));
        return command;
    }

    private static async Task<int> RunAsync(ClusterConnection cluster, string topic, string? groupId, int? partition, string? offset,
        long? maxMessages, int timeoutMs, bool fromBeginning, string? instanceId, int? sessionTimeoutMs, bool json, CancellationToken cancellationToken)
    {
        if (partition is null && string.IsNullOrWhiteSpace(groupId))
        {
            throw new CliException("Give --group G to join a group, or --partition P to read one partition without a group.");
        }
        if (partition is not null && groupId is not null)
        {
            throw new CliException("--partition reads without a group; drop --group (or drop --partition to join the group).");
        }
        if (partition is null && offset is not null)
        {
            throw new CliException("--offset needs --partition; a group starts at its committed offsets.");
        }
        if (partition is not null && instanceId is not null)
        {
            throw new CliException("--instance-id names a group member; --partition reads without a group.");
        }
        if (partition is < 0)
        {
            throw new CliException("--partition must be 0 or more.");
        }
        var start = offset?.Trim().ToLowerInvariant() switch
        {
            null => fromBeginning ? Offset.Beginning : Offset.End,
            "earliest" or "beginning" => Offset.Beginning,
            "latest" or "end" => Offset.End,
            var text when long.TryParse(text, out var value) && value >= 0 => value,
            _ => throw new CliException($"--offset '{offset}' is not an offset (0 or more), 'earliest' or 'latest'."),
        };
        if (maxMessages is < 1)
        {
            throw new CliException("--max-messages must be at least 1.");
        }
        if (timeoutMs < 0)
        {
            throw new CliException("--timeout-ms must be 0 (wait forever) or positive.");
        }
        if (sessionTimeoutMs is < 1)
        {
            throw new CliException("--session-timeout-ms must be positive.");
        }
        // Fail on a missing topic now: a subscription to it would only ever wait.
        var details = await cluster.DescribeTopicAsync(topic, cancellationToken);
        if (partition is { } p && p >= details.Topic.PartitionCount)
        {
            throw new UnknownPartitionException(topic, p, details.Topic.PartitionCount);
        }
        if (partition is not null && start > details.Partitions[partition.Value].LogEndOffset)
        {
            var bounds = details.Partitions[partition.Value];
            throw new OffsetOutOfRangeException(topic, partition.Value, start, bounds.LogStartOffset, bounds.LogEndOffset);
        }

        // Assign mode still needs a group id for the consumer's identity; it never joins or commits to it.
        var options = new ConsumerOptions(groupId ?? $"og-console-{Guid.NewGuid():N}")
        {
            EnableAutoCommit = partition is null,
            ClientId = "og-consume",
            AutoOffsetReset = fromBeginning ? AutoOffsetReset.Earliest : AutoOffsetReset.Latest,
            InstanceId = string.IsNullOrWhiteSpace(instanceId) ? null : instanceId,
        };
        if (sessionTimeoutMs is { } session)
        {
            options = options with { SessionTimeout = TimeSpan.FromMilliseconds(session) };
        }
        var consumer = cluster.Client.CreateConsumer(options);
        var idleTimeout = timeoutMs == 0 ? (TimeSpan?)null : TimeSpan.FromMilliseconds(timeoutMs);
        // Buffered: one write per record through Console.Out would dominate the cost of consuming.
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        long consumed = 0;
        try
        {
            if (partition is { } assigned)
            {
                consumer.Assign([new TopicPartitionOffset(new TopicPartition(topic, assigned), start)]);
            }
            else
            {
                consumer.Subscribe(topic);
            }
            var idleSince = DateTimeOffset.UtcNow;
            while (maxMessages is null || consumed < maxMessages)
            {
                var wait = WaitSlice;
                if (idleTimeout is { } limit)
                {
                    var left = limit - (DateTimeOffset.UtcNow - idleSince);
                    if (left <= TimeSpan.Zero)
                    {
                        break;
                    }
                    wait = left < wait ? left : wait;
                }
                ConsumeResult? record;
                try
                {
                    record = await consumer.ConsumeAsync(wait, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break; // Ctrl+C: the normal way to stop an open-ended consume; commit and leave below.
                }
                if (record is null)
                {
                    continue;
                }
                // Print what is already fetched without waiting, then commit it as one batch.
                var inBatch = 0;
                while (record is not null)
                {
                    Print(output, record, json);
                    consumed++;
                    inBatch++;
                    if (inBatch >= MaxRecordsPerCommit || consumed == maxMessages)
                    {
                        break;
                    }
                    record = await consumer.ConsumeAsync(TimeSpan.Zero, CancellationToken.None);
                }
                await output.FlushAsync(CancellationToken.None);
                if (partition is null)
                {
                    await CommitPrintedAsync(consumer);
                }
                idleSince = DateTimeOffset.UtcNow;
            }
            await output.FlushAsync(CancellationToken.None);
            if (partition is null)
            {
                await CommitPrintedAsync(consumer);
            }
            // Leaving (rather than timing out) hands the partitions to the other members at once. Bounded below the
            // process's grace period after Ctrl+C/SIGTERM: a silo that died under the call would otherwise hold it for the
            // client's 10 s response timeout; unanswered, the group evicts us after the session timeout instead.
            try
            {
                await consumer.CloseAsync().WaitAsync(CloseTimeout, CancellationToken.None);
            }
            catch (TimeoutException)
            {
            }
        }
        catch (Exception e)
        {
            await output.FlushAsync(CancellationToken.None);
            await LeaveQuietlyAsync(consumer);
            // One line: the failure, and how far we got (everything printed before the last commit is committed).
            var (message, code) = ClusterConnection.Explain(e, cluster.Target, connected: true);
            Console.Error.WriteLine($"error: {message} (after printing {consumed} records)");
            return code;
        }
        Console.Error.WriteLine($"Consumed {consumed} records");
        return ExitCodes.Ok;
    }

    private static void Print(TextWriter output, ConsumeResult record, bool json)
    {
        if (!json)
        {
            output.WriteLine(record.ValueAsString);
            return;
        }
        JsonLine.Write(output, w =>
        {
            w.WriteStartObject();
            w.WriteString("topic", record.Topic);
            w.WriteNumber("partition", record.Partition);
            w.WriteNumber("offset", record.Offset);
            w.WriteString("key", record.KeyAsString);
            w.WriteString("value", record.ValueAsString);
            w.WriteNumber("timestamp", record.Timestamp.ToUnixTimeMilliseconds());
            w.WriteEndObject();
        });
    }

    private static async Task CommitPrintedAsync(Consumer consumer)
    {
        try
        {
            await consumer.CommitAsync(CancellationToken.None);
        }
        catch (OrleansGroupsException e) when (e is StaleMemberEpochException or UnknownMemberException or FencedMemberEpochException)
        {
            // A rebalance moved a partition meanwhile; the consumer committed it itself before releasing it.
        }
        catch (Exception e) when (TransientFailures.Is(e))
        {
            // A silo died under the commit, or storage blinked. In a cluster the consumer carries on through the other
            // silos, and the next commit covers these records too; only if this process died before that would the group
            // hand them out again, which at-least-once delivery allows. Exiting here would turn one lost silo into a lost consumer.
        }
    }

    /// <summary>How long leaving may take at exit (the process gets 10 s after Ctrl+C/SIGTERM).</summary>
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(7);

    /// <summary>Leaves if the group answers soon; after a failure it may not, and it evicts us after the session timeout anyway.</summary>
    private static async Task LeaveQuietlyAsync(Consumer consumer)
    {
        try
        {
            await consumer.CloseAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception)
        {
            // Already failing: the error being reported matters more.
        }
    }
}
