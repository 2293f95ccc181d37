using Microsoft.Extensions.Logging;

namespace OrleansGroups;

/// <summary>Log messages of the OrleansGroups silo.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning, "Append to {Partition} failed; the log will be re-read before the next append")]
    public static partial void AppendFailed(ILogger logger, string partition, Exception exception);

    [LoggerMessage(2, LogLevel.Warning, "Partition {Partition}: removed an empty segment at offset {Stray} inside the log (a fenced writer's, never written to)")]
    public static partial void StraySegmentRemoved(ILogger logger, string partition, long stray);

    [LoggerMessage(3, LogLevel.Warning, "Partition {Partition}: segment {Segment} has an unacknowledged tail after byte {Valid} of {Length}; it is ignored and a new segment starts")]
    public static partial void TornTail(ILogger logger, string partition, long segment, int valid, int length);

    [LoggerMessage(4, LogLevel.Debug, "Partition {Partition} recovered: offsets {LogStart}..{HighWatermark} in {Segments} segment(s), {ScannedBytes} bytes scanned")]
    public static partial void Recovered(ILogger logger, string partition, long logStart, long highWatermark, int segments, long scannedBytes);

    [LoggerMessage(7, LogLevel.Information, "Partition {Partition}: deleted segment {Segment} ({Reason}); log start offset is now {LogStart}")]
    public static partial void SegmentDeleted(ILogger logger, string partition, long segment, string reason, long logStart);

    [LoggerMessage(17, LogLevel.Warning, "Partition {Partition}: writer epoch {Epoch} was fenced (the partition's epoch is now {Current}); this activation appends nothing more")]
    public static partial void WriterFenced(ILogger logger, string partition, long epoch, long current);

    [LoggerMessage(18, LogLevel.Error, "Partition {Partition} is quarantined: {Detail}")]
    public static partial void Quarantined(ILogger logger, string partition, string detail);

    [LoggerMessage(19, LogLevel.Information, "Partition {Partition}: writer epoch {Epoch} claimed")]
    public static partial void WriterClaimed(ILogger logger, string partition, long epoch);

    [LoggerMessage(8, LogLevel.Warning, "Partition {Partition}: the index checkpoint of segment {Segment} is unusable ({Reason}); rescanning the segment")]
    public static partial void BadCheckpoint(ILogger logger, string partition, long segment, string reason);

    [LoggerMessage(5, LogLevel.Information, "Group {GroupId}: evicted {MemberIds}")]
    public static partial void MembersEvicted(ILogger logger, string groupId, string memberIds);

    [LoggerMessage(6, LogLevel.Warning, "Group {GroupId}: could not persist state; the activation is dropped so the next one reloads it")]
    public static partial void GroupWriteFailed(ILogger logger, string groupId, Exception exception);

    [LoggerMessage(9, LogLevel.Information, "Group {GroupId}: deleted")]
    public static partial void GroupDeleted(ILogger logger, string groupId);

    [LoggerMessage(10, LogLevel.Information, "Group {GroupId}: {Count} committed offset(s) expired (offsets.retention)")]
    public static partial void OffsetsExpired(ILogger logger, string groupId, int count);

    [LoggerMessage(11, LogLevel.Debug, "Consumer session {Session}: no notifications for {Partition} (it falls back to fetching on a timer)")]
    public static partial void SubscribeFailed(ILogger logger, string session, string partition, Exception exception);

    [LoggerMessage(12, LogLevel.Debug, "Consumer session {Session}: prefetch of {Partition} failed; retrying on the next notification or timer")]
    public static partial void PrefetchFailed(ILogger logger, string session, string partition, Exception exception);

    [LoggerMessage(13, LogLevel.Debug, "Partition {Partition}: could not publish its appended notification")]
    public static partial void NotifyFailed(ILogger logger, string partition, Exception exception);

    [LoggerMessage(14, LogLevel.Warning, "Grain member {Membership}: its consumer failed; starting over as a new member")]
    public static partial void GrainMemberRestarted(ILogger logger, string membership, Exception exception);

    [LoggerMessage(15, LogLevel.Warning, "Grain member {Membership}: the member failed on {Partition} at offset {Offset}; delivering again after a backoff")]
    public static partial void GrainMemberHandlerFailed(ILogger logger, string membership, string partition, long offset, Exception exception);

    [LoggerMessage(16, LogLevel.Information, "Grain member {Membership}: commit of {Partition} refused; the partition's next owner delivers from the last commit")]
    public static partial void GrainMemberCommitFailed(ILogger logger, string membership, string partition, Exception exception);

    [LoggerMessage(20, LogLevel.Warning, "Grain member {Membership}: commit of {Partition} failed for now; retrying before anything else of it is released")]
    public static partial void GrainMemberCommitRetried(ILogger logger, string membership, string partition, Exception exception);

    [LoggerMessage(40, LogLevel.Warning, "Could not activate the registered consumer groups for metrics; groups without members are reported once something touches them")]
    public static partial void GroupMetricsSweepFailed(ILogger logger, Exception exception);
}
