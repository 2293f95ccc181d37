namespace OrleansGroups.Core.Errors;

/// <summary>
/// Stable error codes, one per failure a caller can act on. Modelled on Kafka's error codes so a
/// Kafka user recognises them; the code survives serialization even where the exception type does not.
/// </summary>
public enum OrleansGroupsErrorCode
{
    /// <summary>An unexpected server error.</summary>
    Unknown = 0,
    /// <summary>The topic name breaks Kafka's naming rules.</summary>
    InvalidTopicName,
    /// <summary>The topic does not exist.</summary>
    UnknownTopic,
    /// <summary>A topic with this name already exists.</summary>
    TopicAlreadyExists,
    /// <summary>The partition does not exist in the topic.</summary>
    UnknownPartition,
    /// <summary>A request argument is invalid (partition count, sizes, ...).</summary>
    InvalidRequest,
    /// <summary>The requested offset is below the log start or past the log end.</summary>
    OffsetOutOfRange,
    /// <summary>A record or batch is larger than the topic's <c>max.message.bytes</c>.</summary>
    RecordTooLarge,
    /// <summary>A record batch failed its CRC or structural checks.</summary>
    CorruptRecord,
    /// <summary>The member is not (or no longer) a member of the group.</summary>
    UnknownMember,
    /// <summary>The member epoch is newer than the group knows: the member must rejoin.</summary>
    FencedMemberEpoch,
    /// <summary>The member epoch is older than the group's: the request was made by a zombie or raced a rebalance.</summary>
    StaleMemberEpoch,
    /// <summary>The group id is empty or invalid.</summary>
    InvalidGroupId,
    /// <summary>The group does not exist.</summary>
    GroupIdNotFound,
    /// <summary>The operation needs an empty group (no active members).</summary>
    NonEmptyGroup,
    /// <summary>Storage could not be reached; nothing was acknowledged. Retriable.</summary>
    StorageUnavailable,
    /// <summary>An idempotent producer's batch does not follow its previous one: a batch is missing in between.</summary>
    OutOfOrderSequence,
    /// <summary>A newer instance of the same idempotent producer exists: this one is fenced.</summary>
    ProducerFenced,
    /// <summary>Another member now holds this static member's instance id (<c>group.instance.id</c>): this one is fenced for good.</summary>
    FencedInstanceId,
    /// <summary>The application did not consume for longer than <c>max.poll.interval</c>: the member left its group.</summary>
    MaxPollIntervalExceeded,
    /// <summary>A producer gave up on a batch after its delivery timeout (Kafka's "message timed out"): the outcome of the last try is unknown.</summary>
    DeliveryTimedOut,
    /// <summary>
    /// This activation of a partition no longer holds its log: a newer writer took it over (Kafka's NOT_LEADER_OR_FOLLOWER).
    /// Nothing was acknowledged. Retriable: the call reaches the current writer once the cluster agrees where it lives.
    /// </summary>
    NotLeaderOrFollower,
    /// <summary>
    /// A partition's stored log is damaged or inconsistent (overlapping segments, a corrupt batch in the middle, a
    /// checkpoint that disagrees with its segment): the partition is quarantined rather than truncated, and its log says why.
    /// </summary>
    CorruptLog,
    /// <summary>
    /// The group activation that answered is not the live one (Kafka's NOT_COORDINATOR): another activation wrote the
    /// group's state since it last did. Nothing was applied; retry, and the request reaches the live group. Retriable.
    /// </summary>
    NotCoordinator,
    /// <summary>
    /// The partition already holds as many bytes waiting for storage as it may (<c>Log.MaxQueuedAppendBytes</c>): nothing
    /// was queued. Retriable after a short backoff; the producer's retries are the backpressure.
    /// </summary>
    AppendQueueFull,
    /// <summary>The group has <c>group.max.size</c> members: a new member cannot join (Kafka's GROUP_MAX_SIZE_REACHED).</summary>
    GroupMaxSizeReached,
    /// <summary>The producer's buffer (<c>buffer.memory</c>) stayed full for <c>max.block.ms</c>: the message was not accepted.</summary>
    ProducerBufferFull,
    /// <summary>A cluster-wide bound (the number of topics or groups) is reached: nothing was created.</summary>
    ResourceLimitReached,
}

/// <summary>
/// Base of every error OrleansGroups reports. Carries an <see cref="OrleansGroupsErrorCode"/> so callers can
/// branch on the failure without parsing messages.
/// </summary>
[GenerateSerializer]
public class OrleansGroupsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OrleansGroupsException(OrleansGroupsErrorCode code, string message, Exception? inner = null)
        : base(message, inner) => Code = code;

    /// <summary>What went wrong, as a stable code.</summary>
    [Id(0)]
    public OrleansGroupsErrorCode Code { get; }

    /// <summary>True when retrying the same request later may succeed.</summary>
    public virtual bool IsRetriable => Code is OrleansGroupsErrorCode.StorageUnavailable or OrleansGroupsErrorCode.NotLeaderOrFollower
        or OrleansGroupsErrorCode.NotCoordinator or OrleansGroupsErrorCode.AppendQueueFull;
}

/// <summary>The topic name breaks Kafka's rules: 1–249 characters of [a-zA-Z0-9._-], not "." or "..".</summary>
[GenerateSerializer]
public sealed class InvalidTopicNameException(string? topic, string reason)
    : OrleansGroupsException(OrleansGroupsErrorCode.InvalidTopicName, $"Invalid topic name '{topic}': {reason}.")
{
    /// <summary>The rejected name.</summary>
    [Id(0)] public string? Topic { get; } = topic;
}

/// <summary>The topic does not exist.</summary>
[GenerateSerializer]
public sealed class UnknownTopicException(string topic)
    : OrleansGroupsException(OrleansGroupsErrorCode.UnknownTopic, $"Unknown topic '{topic}'.")
{
    /// <summary>The topic asked for.</summary>
    [Id(0)] public string Topic { get; } = topic;
}

/// <summary>A topic with that name already exists.</summary>
[GenerateSerializer]
public sealed class TopicAlreadyExistsException(string topic)
    : OrleansGroupsException(OrleansGroupsErrorCode.TopicAlreadyExists, $"Topic '{topic}' already exists.")
{
    /// <summary>The topic name.</summary>
    [Id(0)] public string Topic { get; } = topic;
}

/// <summary>The partition is not in the topic.</summary>
[GenerateSerializer]
public sealed class UnknownPartitionException(string topic, int partition, int partitionCount)
    : OrleansGroupsException(OrleansGroupsErrorCode.UnknownPartition,
        $"Topic '{topic}' has no partition {partition} (it has {partitionCount}: 0..{partitionCount - 1}).")
{
    /// <summary>The topic.</summary>
    [Id(0)] public string Topic { get; } = topic;
    /// <summary>The partition asked for.</summary>
    [Id(1)] public int Partition { get; } = partition;
    /// <summary>How many partitions the topic has.</summary>
    [Id(2)] public int PartitionCount { get; } = partitionCount;
}

/// <summary>An argument is invalid; the message says which and why.</summary>
[GenerateSerializer]
public sealed class InvalidRequestException(string message)
    : OrleansGroupsException(OrleansGroupsErrorCode.InvalidRequest, message);

/// <summary>The offset is outside [log start offset, high watermark].</summary>
[GenerateSerializer]
public sealed class OffsetOutOfRangeException(string topic, int partition, long offset, long logStartOffset, long highWatermark)
    : OrleansGroupsException(OrleansGroupsErrorCode.OffsetOutOfRange,
        $"Offset {offset} is out of range for {topic}/{partition}: valid offsets are {logStartOffset}..{highWatermark}.")
{
    /// <summary>The topic.</summary>
    [Id(0)] public string Topic { get; } = topic;
    /// <summary>The partition.</summary>
    [Id(1)] public int Partition { get; } = partition;
    /// <summary>The rejected offset.</summary>
    [Id(2)] public long Offset { get; } = offset;
    /// <summary>The first offset still in the log.</summary>
    [Id(3)] public long LogStartOffset { get; } = logStartOffset;
    /// <summary>The offset the next record will get.</summary>
    [Id(4)] public long HighWatermark { get; } = highWatermark;
}

/// <summary>A record or batch exceeds <c>max.message.bytes</c>; nothing was appended.</summary>
[GenerateSerializer]
public sealed class RecordTooLargeException(int sizeInBytes, int maxBytes)
    : OrleansGroupsException(OrleansGroupsErrorCode.RecordTooLarge,
        $"Record batch of {sizeInBytes} bytes exceeds max.message.bytes = {maxBytes}; nothing was appended.")
{
    /// <summary>The size that was rejected.</summary>
    [Id(0)] public int SizeInBytes { get; } = sizeInBytes;
    /// <summary>The limit in force.</summary>
    [Id(1)] public int MaxBytes { get; } = maxBytes;
}

/// <summary>A record batch failed its CRC or structure checks.</summary>
[GenerateSerializer]
public sealed class CorruptRecordException(string message)
    : OrleansGroupsException(OrleansGroupsErrorCode.CorruptRecord, message);

/// <summary>The member is not in the group (never joined, left, or was evicted). Rejoin with epoch 0.</summary>
[GenerateSerializer]
public sealed class UnknownMemberException(string groupId, string memberId)
    : OrleansGroupsException(OrleansGroupsErrorCode.UnknownMember, $"Member '{memberId}' is not a member of group '{groupId}'; rejoin the group.")
{
    /// <summary>The group.</summary>
    [Id(0)] public string GroupId { get; } = groupId;
    /// <summary>The member id that was not found.</summary>
    [Id(1)] public string MemberId { get; } = memberId;
}

/// <summary>The member sent an epoch the group never gave it: it must rejoin.</summary>
[GenerateSerializer]
public sealed class FencedMemberEpochException(string groupId, string memberId, int sentEpoch, int currentEpoch)
    : OrleansGroupsException(OrleansGroupsErrorCode.FencedMemberEpoch,
        $"Member '{memberId}' of group '{groupId}' sent epoch {sentEpoch} but its current epoch is {currentEpoch}; it is fenced and must rejoin.")
{
    /// <summary>The group.</summary>
    [Id(0)] public string GroupId { get; } = groupId;
    /// <summary>The member.</summary>
    [Id(1)] public string MemberId { get; } = memberId;
    /// <summary>The epoch the member sent.</summary>
    [Id(2)] public int SentEpoch { get; } = sentEpoch;
    /// <summary>The epoch the group holds for the member.</summary>
    [Id(3)] public int CurrentEpoch { get; } = currentEpoch;
}

/// <summary>
/// The member's epoch is stale for this request: typically a commit for a partition the member no
/// longer owns. Nothing was written.
/// </summary>
[GenerateSerializer]
public sealed class StaleMemberEpochException(string groupId, string memberId, int sentEpoch, int currentEpoch, string detail)
    : OrleansGroupsException(OrleansGroupsErrorCode.StaleMemberEpoch,
        $"Member '{memberId}' of group '{groupId}' used stale epoch {sentEpoch} (current {currentEpoch}): {detail}; nothing was written.")
{
    /// <summary>The group.</summary>
    [Id(0)] public string GroupId { get; } = groupId;
    /// <summary>The member.</summary>
    [Id(1)] public string MemberId { get; } = memberId;
    /// <summary>The epoch the member sent.</summary>
    [Id(2)] public int SentEpoch { get; } = sentEpoch;
    /// <summary>The member's current epoch.</summary>
    [Id(3)] public int CurrentEpoch { get; } = currentEpoch;
}

/// <summary>The group id is empty or too long.</summary>
[GenerateSerializer]
public sealed class InvalidGroupIdException(string? groupId, string reason)
    : OrleansGroupsException(OrleansGroupsErrorCode.InvalidGroupId, $"Invalid group id '{(groupId is { Length: > 64 } ? groupId[..61] + "..." : groupId)}': {reason}.")
{
    /// <summary>Why the id was refused.</summary>
    [Id(0)] public string Reason { get; } = reason;
}

/// <summary>No group with that id exists.</summary>
[GenerateSerializer]
public sealed class GroupIdNotFoundException(string groupId)
    : OrleansGroupsException(OrleansGroupsErrorCode.GroupIdNotFound, $"Group '{groupId}' does not exist.")
{
    /// <summary>The group id asked for.</summary>
    [Id(0)] public string GroupId { get; } = groupId;
}

/// <summary>The operation needs the group to have no active members.</summary>
[GenerateSerializer]
public sealed class NonEmptyGroupException(string groupId, int memberCount)
    : OrleansGroupsException(OrleansGroupsErrorCode.NonEmptyGroup, $"Group '{groupId}' has {memberCount} active member(s); stop them first.")
{
    /// <summary>The group.</summary>
    [Id(0)] public string GroupId { get; } = groupId;
    /// <summary>How many members are active.</summary>
    [Id(1)] public int MemberCount { get; } = memberCount;
}

/// <summary>
/// A producer retried a batch for its whole delivery timeout (Kafka's <c>delivery.timeout.ms</c>) without an
/// acknowledgement. <see cref="Exception.InnerException"/> is the last failure (typically StorageUnavailable or a silo
/// timeout). The last try may still have landed: an idempotent producer's later batches use a new producer id.
/// </summary>
[GenerateSerializer]
public sealed class DeliveryTimeoutException(string topic, int partition, TimeSpan deliveryTimeout, Exception? lastError)
    : OrleansGroupsException(OrleansGroupsErrorCode.DeliveryTimedOut,
        $"Not delivered to {topic}/{partition} within the delivery timeout ({deliveryTimeout.TotalSeconds:0.#} s)" +
        (lastError is null ? "." : $"; last error: {lastError.Message}"), lastError);

/// <summary>Storage could not be reached; the request was not acknowledged and may be retried.</summary>
[GenerateSerializer]
public sealed class StorageUnavailableException(string message, Exception? inner = null)
    : OrleansGroupsException(OrleansGroupsErrorCode.StorageUnavailable, message, inner);

/// <summary>
/// The group activation that answered found the stored group newer than its own (an ETag mismatch): a second
/// activation of the group exists or existed, as Orleans allows during a split brain. This one applied nothing, gave no
/// assignment and is deactivating; a retry reaches the live activation (Kafka's NOT_COORDINATOR).
/// </summary>
[GenerateSerializer]
public sealed class NotCoordinatorException(string groupId, Exception? inner = null)
    : OrleansGroupsException(OrleansGroupsErrorCode.NotCoordinator,
        $"This activation of group '{groupId}' is stale (the stored group changed behind it); nothing was applied, retry.", inner)
{
    /// <summary>The group.</summary>
    [Id(0)] public string GroupId { get; } = groupId;
}

/// <summary>
/// An idempotent producer's batch skipped sequence numbers (a batch between was lost), or is an old duplicate
/// whose outcome is no longer remembered. Nothing was appended.
/// </summary>
[GenerateSerializer]
public sealed class OutOfOrderSequenceException(string topic, int partition, long producerId, int expectedSequence, int receivedSequence)
    : OrleansGroupsException(OrleansGroupsErrorCode.OutOfOrderSequence,
        $"Producer {producerId} sent sequence {receivedSequence} to {topic}/{partition}, expected {expectedSequence}; nothing was appended.")
{
    /// <summary>The topic.</summary>
    [Id(0)] public string Topic { get; } = topic;
    /// <summary>The partition.</summary>
    [Id(1)] public int Partition { get; } = partition;
    /// <summary>The producer id.</summary>
    [Id(2)] public long ProducerId { get; } = producerId;
    /// <summary>The sequence the partition expected next.</summary>
    [Id(3)] public int ExpectedSequence { get; } = expectedSequence;
    /// <summary>The batch's first sequence.</summary>
    [Id(4)] public int ReceivedSequence { get; } = receivedSequence;
}

/// <summary>A newer epoch of this producer id wrote to the partition: this producer instance is fenced.</summary>
[GenerateSerializer]
public sealed class ProducerFencedException(long producerId, short epoch, short currentEpoch)
    : OrleansGroupsException(OrleansGroupsErrorCode.ProducerFenced,
        $"Producer {producerId} epoch {epoch} is fenced by epoch {currentEpoch}; nothing was appended.")
{
    /// <summary>The producer id.</summary>
    [Id(0)] public long ProducerId { get; } = producerId;
    /// <summary>The epoch the batch carried.</summary>
    [Id(1)] public short Epoch { get; } = epoch;
    /// <summary>The newest epoch the partition has seen.</summary>
    [Id(2)] public short CurrentEpoch { get; } = currentEpoch;
}

/// <summary>
/// A newer member took over this member's static instance id (<c>group.instance.id</c>), as a restarted static
/// member does: the request was not applied, and this member must stop for good (rejoining would fence the new one).
/// </summary>
[GenerateSerializer]
public sealed class FencedInstanceIdException(string groupId, string memberId, string instanceId, string currentMemberId)
    : OrleansGroupsException(OrleansGroupsErrorCode.FencedInstanceId,
        $"Member '{memberId}' of group '{groupId}' is fenced: static instance id '{instanceId}' now belongs to member '{currentMemberId}'.")
{
    /// <summary>The group.</summary>
    [Id(0)] public string GroupId { get; } = groupId;
    /// <summary>The fenced member.</summary>
    [Id(1)] public string MemberId { get; } = memberId;
    /// <summary>The static instance id.</summary>
    [Id(2)] public string InstanceId { get; } = instanceId;
    /// <summary>The member that holds the instance id now.</summary>
    [Id(3)] public string CurrentMemberId { get; } = currentMemberId;
}

/// <summary>
/// The consumer was not polled for longer than its <c>max.poll.interval</c>, so it left the group and its partitions
/// went to others (Kafka's rule, so a stuck application does not hold partitions). Create a new consumer to go on.
/// </summary>
[GenerateSerializer]
public sealed class MaxPollIntervalExceededException(string groupId, string memberId, TimeSpan maxPollInterval)
    : OrleansGroupsException(OrleansGroupsErrorCode.MaxPollIntervalExceeded,
        $"Member '{memberId}' of group '{groupId}' was not polled for more than {maxPollInterval.TotalMilliseconds:0} ms (max.poll.interval) and left the group; create a new consumer.")
{
    /// <summary>The group.</summary>
    [Id(0)] public string GroupId { get; } = groupId;
    /// <summary>The member that left.</summary>
    [Id(1)] public string MemberId { get; } = memberId;
}

/// <summary>
/// This activation of a partition was fenced: another writer claimed the partition's log (a duplicate activation
/// during a split brain, or a topic deletion). Nothing was acknowledged; retry, and the call reaches the current writer.
/// </summary>
[GenerateSerializer]
public sealed class NotLeaderOrFollowerException(string topic, int partition, long writerEpoch, long currentEpoch)
    : OrleansGroupsException(OrleansGroupsErrorCode.NotLeaderOrFollower,
        $"This activation of {topic}/{partition} no longer writes its log (writer epoch {writerEpoch}, current {currentEpoch}); nothing was acknowledged, retry.")
{
    /// <summary>The topic.</summary>
    [Id(0)] public string Topic { get; } = topic;
    /// <summary>The partition.</summary>
    [Id(1)] public int Partition { get; } = partition;
    /// <summary>The writer epoch this activation held.</summary>
    [Id(2)] public long WriterEpoch { get; } = writerEpoch;
    /// <summary>The partition's writer epoch now (0: the log was deleted).</summary>
    [Id(3)] public long CurrentEpoch { get; } = currentEpoch;
}

/// <summary>
/// A partition's stored log is damaged or inconsistent, so the partition is quarantined: it serves nothing and appends
/// nothing until an operator repairs it, because guessing (truncating, skipping) could drop acknowledged records.
/// </summary>
[GenerateSerializer]
public sealed class CorruptLogException(string topic, int partition, string detail)
    : OrleansGroupsException(OrleansGroupsErrorCode.CorruptLog,
        $"The log of {topic}/{partition} is quarantined: {detail}. Nothing was dropped; repair the segment (see the silo log) and reactivate the partition.")
{
    /// <summary>The topic.</summary>
    [Id(0)] public string Topic { get; } = topic;
    /// <summary>The partition.</summary>
    [Id(1)] public int Partition { get; } = partition;
    /// <summary>What is wrong, with the segment and byte position.</summary>
    [Id(2)] public string Detail { get; } = detail;
}

/// <summary>
/// A partition refused a batch because the bytes already waiting for its storage append reached the bound: nothing
/// was queued or acknowledged. Retriable: the producer backs off and sends it again.
/// </summary>
[GenerateSerializer]
public sealed class AppendQueueFullException(string topic, int partition, long queuedBytes, long maxQueuedBytes)
    : OrleansGroupsException(OrleansGroupsErrorCode.AppendQueueFull,
        $"{topic}/{partition} has {queuedBytes} bytes waiting for storage (at most {maxQueuedBytes}); nothing was queued, retry after a backoff.")
{
    /// <summary>The topic.</summary>
    [Id(0)] public string Topic { get; } = topic;
    /// <summary>The partition.</summary>
    [Id(1)] public int Partition { get; } = partition;
    /// <summary>Bytes waiting when the batch came.</summary>
    [Id(2)] public long QueuedBytes { get; } = queuedBytes;
    /// <summary>The bound (<c>Log.MaxQueuedAppendBytes</c>).</summary>
    [Id(3)] public long MaxQueuedBytes { get; } = maxQueuedBytes;
}

/// <summary>The group already holds <c>group.max.size</c> members: this member did not join, and nothing changed.</summary>
[GenerateSerializer]
public sealed class GroupMaxSizeReachedException(string groupId, int maxSize)
    : OrleansGroupsException(OrleansGroupsErrorCode.GroupMaxSizeReached,
        $"Group '{groupId}' already has {maxSize} members (group.max.size); the new member did not join.")
{
    /// <summary>The group.</summary>
    [Id(0)] public string GroupId { get; } = groupId;
    /// <summary>The bound in force.</summary>
    [Id(1)] public int MaxSize { get; } = maxSize;
}

/// <summary>
/// The producer's unacknowledged bytes stayed at <c>buffer.memory</c> for <c>max.block.ms</c> (Kafka throws a
/// TimeoutException, "Failed to allocate memory within the configured max blocking time"): the message was not
/// accepted, nothing of it will be sent. Retriable: the buffer drains as the cluster acknowledges.
/// </summary>
[GenerateSerializer]
public sealed class ProducerBufferFullException(long requestedBytes, long bufferedBytes, long bufferMemory, TimeSpan maxBlock)
    : OrleansGroupsException(OrleansGroupsErrorCode.ProducerBufferFull,
        $"Failed to buffer {requestedBytes} bytes within max.block ({maxBlock.TotalMilliseconds:0} ms): {bufferedBytes} of buffer.memory = {bufferMemory} bytes are waiting for acknowledgement; the message was not accepted.")
{
    /// <summary>Bytes the rejected message needed.</summary>
    [Id(0)] public long RequestedBytes { get; } = requestedBytes;
    /// <summary>Bytes buffered when the wait ended.</summary>
    [Id(1)] public long BufferedBytes { get; } = bufferedBytes;
    /// <summary>The producer's buffer.memory.</summary>
    [Id(2)] public long BufferMemory { get; } = bufferMemory;
    /// <summary>How long the producer waited for room (max.block).</summary>
    [Id(3)] public TimeSpan MaxBlock { get; } = maxBlock;

    /// <inheritdoc />
    public override bool IsRetriable => true;
}

/// <summary>A cluster-wide bound is reached (<see cref="Resource"/>: "topics" or "groups"); nothing was created.</summary>
[GenerateSerializer]
public sealed class ResourceLimitReachedException(string resource, int limit, string option)
    : OrleansGroupsException(OrleansGroupsErrorCode.ResourceLimitReached,
        $"The cluster already has {limit} {resource} ({option}); delete some or raise the limit. Nothing was created.")
{
    /// <summary>What is bounded: "topics" or "groups".</summary>
    [Id(0)] public string Resource { get; } = resource;
    /// <summary>The bound in force.</summary>
    [Id(1)] public int Limit { get; } = limit;
}
