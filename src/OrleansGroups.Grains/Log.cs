using Microsoft.Extensions.Logging;

namespace OrleansGroups;

/// <summary>Log messages of the OrleansGroups silo.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Append to {Partition} failed; the log will be re-read before the next append")]
    public static partial void AppendFailed(ILogger logger, string partition, Exception exception);

    [LoggerMessage(2, LogLevel.Warning, "Partition {Partition}: expected a segment at offset {Expected}, found {Found}")]
    public static partial void SegmentGap(ILogger logger, string partition, long expected, long found);

    [LoggerMessage(3, LogLevel.Warning, "Partition {Partition}: segment {Segment} has an unacknowledged tail after byte {Valid} of {Length}; it is ignored and a new segment starts")]
    public static partial void TornTail(ILogger logger, string partition, long segment, int valid, int length);

    [LoggerMessage(4, LogLevel.Debug, "Partition {Partition} recovered: offsets {LogStart}..{HighWatermark} in {Segments} segment(s)")]
    public static partial void Recovered(ILogger logger, string partition, long logStart, long highWatermark, int segments);

    [LoggerMessage(5, LogLevel.Information, "Group {GroupId}: evicted {MemberIds}")]
    public static partial void MembersEvicted(ILogger logger, string groupId, string memberIds);

    [LoggerMessage(6, LogLevel.Warning, "Group {GroupId}: could not persist state; the activation is dropped so the next one reloads it")]
    public static partial void GroupWriteFailed(ILogger logger, string groupId, Exception exception);
}
