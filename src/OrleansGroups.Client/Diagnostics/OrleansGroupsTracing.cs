using System.Diagnostics;
using System.Text;
using OrleansGroups.Core.Log;

namespace OrleansGroups.Client.Diagnostics;

/// <summary>
/// Traces of produce and consume, named and tagged as the OpenTelemetry messaging conventions say:
/// <list type="bullet">
/// <item><c>send {topic}</c> (kind Producer): one produce call, from the call until the partition acknowledged it. The
/// producer puts the span's W3C context into each record as the <c>traceparent</c> (and <c>tracestate</c>) header,
/// unless the record already carries a <c>traceparent</c>;</item>
/// <item><c>receive {topic}</c> (kind Consumer): a consume call that returned a record, parented by the caller's
/// activity and linked to the record's creation context;</item>
/// <item><c>process {topic}</c> (kind Consumer): a grain member's handler of a batch of records, or the caller's
/// handling of one record from <see cref="Consumer.ConsumeAllAsync"/>; linked to each record's creation context, and
/// for a single record without an ambient activity also its child, so the trace continues across the log.</item>
/// </list>
/// Nothing is built, and no header is added, while nobody listens to <see cref="SourceName"/>. Add the source to an
/// OpenTelemetry tracer: <c>tracing.AddSource(OrleansGroupsTracing.SourceName)</c>.
/// </summary>
public static class OrleansGroupsTracing
{
    /// <summary>The name of the activity source: "OrleansGroups".</summary>
    public const string SourceName = "OrleansGroups";

    /// <summary>The header that carries the W3C trace parent of the record's <c>send</c> span.</summary>
    public const string TraceParentHeader = "traceparent";

    /// <summary>The header that carries the W3C trace state, when the span has one.</summary>
    public const string TraceStateHeader = "tracestate";

    /// <summary>The value of <c>messaging.system</c>.</summary>
    public const string MessagingSystem = "orleansgroups";

    internal static readonly ActivitySource Source = new(SourceName, typeof(OrleansGroupsTracing).Assembly.GetName().Version?.ToString());

    /// <summary>Starts a <c>send</c> span, or returns null when nobody listens or samples it.</summary>
    internal static Activity? StartSend(string topic, int? partition, IReadOnlyList<Message> messages)
    {
        if (!Source.HasListeners())
        {
            return null;
        }
        var activity = Source.StartActivity($"send {topic}", ActivityKind.Producer);
        if (activity is { IsAllDataRequested: true })
        {
            SetCommon(activity, topic, "send", "send");
            if (partition is { } p)
            {
                activity.SetTag("messaging.destination.partition.id", p.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            if (messages.Count != 1)
            {
                activity.SetTag("messaging.batch.message_count", messages.Count);
            }
            else if (messages[0].Key is { } key && Utf8(key) is { } text)
            {
                activity.SetTag("messaging.kafka.message.key", text);
            }
        }
        return activity;
    }

    /// <summary>The message with the span's context in its headers (unchanged without a span or with a traceparent already).</summary>
    internal static Message Inject(Activity? activity, Message message)
    {
        if (activity is null || (message.Headers?.Any(h => h.Key == TraceParentHeader) ?? false))
        {
            return message;
        }
        var headers = new List<RecordHeader>((message.Headers?.Count ?? 0) + 2);
        if (message.Headers is not null)
        {
            headers.AddRange(message.Headers);
        }
        headers.Add(new RecordHeader(TraceParentHeader, Encoding.ASCII.GetBytes(TraceParent(activity))));
        if (!string.IsNullOrEmpty(activity.TraceStateString))
        {
            headers.Add(new RecordHeader(TraceStateHeader, Encoding.ASCII.GetBytes(activity.TraceStateString)));
        }
        return message with { Headers = headers };
    }

    /// <summary>Injects into every message of a batch (the same array when nothing changes).</summary>
    internal static IReadOnlyList<Message> Inject(Activity? activity, IReadOnlyList<Message> messages)
    {
        if (activity is null)
        {
            return messages;
        }
        var injected = new Message[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            injected[i] = Inject(activity, messages[i]);
        }
        return injected;
    }

    /// <summary>Ends a <c>send</c> span with where the messages landed.</summary>
    internal static void Sent(Activity? activity, IReadOnlyList<DeliveryResult> delivered)
    {
        if (activity is null)
        {
            return;
        }
        if (activity.IsAllDataRequested && delivered.Count == 1)
        {
            activity.SetTag("messaging.destination.partition.id", delivered[0].Partition.ToString(System.Globalization.CultureInfo.InvariantCulture));
            activity.SetTag("messaging.kafka.offset", delivered[0].Offset);
        }
        activity.Dispose();
    }

    /// <summary>Ends a <c>send</c> (or <c>process</c>) span that failed.</summary>
    internal static void Failed(Activity? activity, Exception error)
    {
        if (activity is null)
        {
            return;
        }
        activity.SetStatus(ActivityStatusCode.Error, error.Message);
        activity.SetTag("error.type", error.GetType().FullName);
        activity.Dispose();
    }

    /// <summary>Records a <c>receive</c> span for a consume call that started at <paramref name="started"/> and returned a record.</summary>
    internal static void Received(ConsumeResult record, string? groupId, DateTimeOffset started)
    {
        if (!Source.HasListeners())
        {
            return;
        }
        var links = Extract(record.Headers) is { } creation ? new[] { new ActivityLink(creation) } : null;
        using var activity = Source.StartActivity($"receive {record.Topic}", ActivityKind.Consumer, default(ActivityContext), null, links, started);
        if (activity is { IsAllDataRequested: true })
        {
            SetCommon(activity, record.Topic, "receive", "receive");
            SetRecord(activity, record.Partition, record.Offset, record.Key, groupId);
        }
    }

    /// <summary>Starts a <c>process</c> span for one record, or returns null when nobody listens.</summary>
    internal static Activity? StartProcess(ConsumeResult record, string? groupId) =>
        Source.HasListeners() ? StartProcess(record.Topic, record.Partition, groupId, [record]) : null;

    /// <summary>
    /// Starts a <c>process</c> span for records of one partition, or returns null when nobody listens. Linked to every
    /// record's creation context; a single record's context is also its parent when no activity is current.
    /// </summary>
    internal static Activity? StartProcess(string topic, int partition, string? groupId, IReadOnlyList<ConsumeResult> records)
    {
        if (!Source.HasListeners() || records.Count == 0)
        {
            return null;
        }
        var links = new List<ActivityLink>(records.Count);
        foreach (var record in records)
        {
            if (Extract(record.Headers) is { } creation)
            {
                links.Add(new ActivityLink(creation));
            }
        }
        var parent = records.Count == 1 && Activity.Current is null && links.Count == 1 ? links[0].Context : default;
        var activity = Source.StartActivity($"process {topic}", ActivityKind.Consumer, parent, null, links);
        if (activity is { IsAllDataRequested: true })
        {
            SetCommon(activity, topic, "process", "process");
            if (records.Count == 1)
            {
                SetRecord(activity, partition, records[0].Offset, records[0].Key, groupId);
            }
            else
            {
                SetRecord(activity, partition, null, null, groupId);
                activity.SetTag("messaging.batch.message_count", records.Count);
            }
        }
        return activity;
    }

    /// <summary>The creation context in a record's headers, or null when it has none (or a malformed one).</summary>
    public static ActivityContext? Extract(IReadOnlyList<RecordHeader>? headers)
    {
        if (headers is null)
        {
            return null;
        }
        string? parent = null;
        string? state = null;
        foreach (var header in headers)
        {
            if (header.Value is null)
            {
                continue;
            }
            if (header.Key == TraceParentHeader)
            {
                parent = Encoding.ASCII.GetString(header.Value);
            }
            else if (header.Key == TraceStateHeader)
            {
                state = Encoding.ASCII.GetString(header.Value);
            }
        }
        return parent is not null && ActivityContext.TryParse(parent, state, isRemote: true, out var context) ? context : null;
    }

    private static string TraceParent(Activity activity) =>
        $"00-{activity.TraceId.ToHexString()}-{activity.SpanId.ToHexString()}-{((activity.ActivityTraceFlags & ActivityTraceFlags.Recorded) != 0 ? "01" : "00")}";

    private static void SetCommon(Activity activity, string topic, string operation, string operationType)
    {
        activity.SetTag("messaging.system", MessagingSystem);
        activity.SetTag("messaging.operation.name", operation);
        activity.SetTag("messaging.operation.type", operationType);
        activity.SetTag("messaging.destination.name", topic);
    }

    private static void SetRecord(Activity activity, int partition, long? offset, byte[]? key, string? groupId)
    {
        activity.SetTag("messaging.destination.partition.id", partition.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (offset is { } o)
        {
            activity.SetTag("messaging.kafka.offset", o);
        }
        if (key is not null && Utf8(key) is { } text)
        {
            activity.SetTag("messaging.kafka.message.key", text);
        }
        if (groupId is not null)
        {
            activity.SetTag("messaging.consumer.group.name", groupId);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string? Utf8(byte[] key)
    {
        try
        {
            return StrictUtf8.GetString(key);
        }
        catch (DecoderFallbackException)
        {
            // The conventions set the key only when it is text.
            return null;
        }
    }
}
