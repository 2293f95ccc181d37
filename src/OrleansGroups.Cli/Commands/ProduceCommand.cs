using System.CommandLine;
using System.Text;
using System.Threading.Channels;
using OrleansGroups.Client;
using OrleansGroups.Core.Errors;

namespace OrleansGroups.Cli.Commands;

/// <summary><c>og produce TOPIC</c>: one record per stdin line, sent in pipelined batches.</summary>
internal static class ProduceCommand
{
    // 1,000 short lines are a few tens of KiB: big enough to amortise a grain call, small enough that the
    // producer can spread one batch over all partitions and keep several in flight.
    private const int LinesPerBatch = 1000;

    // Batches awaiting acknowledgement; bounds memory when stdin is faster than the cluster.
    private const int MaxBatchesInFlight = 8;

    public static Command Create()
    {
        var topic = new Argument<string>("topic") { Description = "Topic to produce to" };
        var keySeparator = new Option<string?>("--key-separator")
        {
            Description = "Split each line at the first SEP into key and value; a line without SEP gets a null key. " +
                "Without this option every line is a value with a null key (spread round-robin)",
        };
        var partition = new Option<int?>("--partition")
        {
            Description = "Send every record to this partition instead of the key's (or round-robin) partition",
        };
        var command = new Command("produce",
            "Produce one record per stdin line (UTF-8). Prints \"Produced N records to TOPIC (partitions A..B)\" and exits 0 " +
            "only when every record was acknowledged; otherwise one error line on stderr and a non-zero exit code")
        {
            topic, keySeparator, partition,
        };
        ClusterConnection.AddOptionsTo(command);
        command.SetAction((parse, ct) => ClusterConnection.RunAsync(parse, ct, (cluster, token) =>
            RunAsync(cluster, parse.GetValue(topic)!, parse.GetValue(keySeparator), parse.GetValue(partition), token)));
        return command;
    }

    private static async Task<int> RunAsync(ClusterConnection cluster, string topic, string? separator, int? partition, CancellationToken cancellationToken)
    {
        if (separator is "")
        {
            throw new CliException("--key-separator must not be empty.");
        }
        // Check the topic and partition before reading any input, so a typo fails with one line and no partial write.
        var details = await cluster.DescribeTopicAsync(topic, cancellationToken);
        if (partition is { } p && (p < 0 || p >= details.Topic.PartitionCount))
        {
            throw new UnknownPartitionException(topic, p, details.Topic.PartitionCount);
        }
        // One producer for the whole input: it keeps call order per partition, so pipelined batches keep per-key order.
        var producer = cluster.Client.CreateProducer();

        var lines = Channel.CreateBounded<string>(new BoundedChannelOptions(LinesPerBatch * MaxBatchesInFlight)
        {
            SingleReader = true,
            SingleWriter = true,
        });
        _ = Task.Run(() => ReadStdinAsync(lines.Writer, cancellationToken), CancellationToken.None);

        var progress = new Progress();
        var inFlight = new Queue<Task<IReadOnlyList<DeliveryResult>>>();
        Exception? failure = null;
        var interrupted = false;
        try
        {
            // Take what is available now (up to a batch) rather than waiting for a full batch, so interactive
            // input is sent line by line while piped input still goes in full batches.
            while (failure is null && await lines.Reader.WaitToReadAsync(cancellationToken))
            {
                var batch = new List<Message>(LinesPerBatch);
                while (batch.Count < LinesPerBatch && lines.Reader.TryRead(out var line))
                {
                    batch.Add(ToMessage(line, separator));
                }
                // Not cancellable: a batch handed to the producer is always awaited to its acknowledgement.
                inFlight.Enqueue(producer.ProduceBatchAsync(topic, batch, partition, CancellationToken.None));
                progress.Sent += batch.Count;
                while (inFlight.Count >= MaxBatchesInFlight && failure is null)
                {
                    failure = await progress.AcknowledgeAsync(inFlight.Dequeue());
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            interrupted = true;
        }
        catch (CliException e)
        {
            // Reading stdin failed (the reader completes the channel with this error).
            failure = e;
        }
        while (inFlight.Count > 0)
        {
            // Every batch is awaited (and counted), even after a failure; only the first failure is reported.
            var batchFailure = await progress.AcknowledgeAsync(inFlight.Dequeue());
            failure ??= batchFailure;
        }
        await producer.FlushAsync();

        if (failure is not null)
        {
            var (message, code) = ClusterConnection.Explain(failure, cluster.Target, connected: true);
            Console.Error.WriteLine(
                $"error: {progress.Acknowledged} of {progress.Sent} records sent to {topic} were acknowledged; " +
                $"stopped reading stdin after the first failure: {message}");
            return code;
        }
        Console.Out.WriteLine($"Produced {progress.Acknowledged} records to {topic}{progress.DescribePartitions()}" +
            (interrupted ? " (interrupted: the rest of stdin was not read)" : ""));
        return interrupted ? ExitCodes.Interrupted : ExitCodes.Ok;
    }

    private static async Task ReadStdinAsync(ChannelWriter<string> lines, CancellationToken cancellationToken)
    {
        try
        {
            using var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
            while (await stdin.ReadLineAsync(cancellationToken) is { } line)
            {
                await lines.WriteAsync(line, cancellationToken);
            }
            lines.Complete();
        }
        catch (OperationCanceledException)
        {
            lines.Complete();
        }
        catch (Exception e)
        {
            lines.Complete(new CliException($"cannot read stdin: {e.Message}"));
        }
    }

    private static Message ToMessage(string line, string? separator)
    {
        if (separator is null)
        {
            return Message.FromStrings(null, line);
        }
        var at = line.IndexOf(separator, StringComparison.Ordinal);
        return at < 0
            ? Message.FromStrings(null, line)
            : Message.FromStrings(line[..at], line[(at + separator.Length)..]);
    }

    private sealed class Progress
    {
        private readonly SortedSet<int> _partitions = [];

        public long Sent { get; set; }

        public long Acknowledged { get; private set; }

        /// <summary>Awaits one batch; returns its failure instead of throwing so the other batches are still counted.</summary>
        public async Task<Exception?> AcknowledgeAsync(Task<IReadOnlyList<DeliveryResult>> batch)
        {
            try
            {
                var results = await batch;
                Acknowledged += results.Count;
                foreach (var result in results)
                {
                    _partitions.Add(result.Partition);
                }
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        }

        /// <summary>" (partitions 0..3)", " (partition 2)", " (partitions 0, 2)" or "" when nothing was produced.</summary>
        public string DescribePartitions()
        {
            if (_partitions.Count == 0)
            {
                return "";
            }
            if (_partitions.Count == 1)
            {
                return $" (partition {_partitions.Min})";
            }
            var contiguous = _partitions.Max - _partitions.Min + 1 == _partitions.Count;
            return contiguous
                ? $" (partitions {_partitions.Min}..{_partitions.Max})"
                : $" (partitions {string.Join(", ", _partitions)})";
        }
    }
}
