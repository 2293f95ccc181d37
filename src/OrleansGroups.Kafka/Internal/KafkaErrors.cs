using OrleansGroups.Core.Errors;

namespace OrleansGroups.Kafka.Internal;

/// <summary>Kafka's error codes (Kafka's <c>Errors</c> class) that the listener answers, and the one table from ours to theirs.</summary>
internal static class KafkaErrors
{
    public const short UnknownServerError = -1;
    public const short None = 0;
    public const short OffsetOutOfRange = 1;
    public const short CorruptMessage = 2;
    public const short UnknownTopicOrPartition = 3;
    public const short NotLeaderOrFollower = 6;
    public const short RequestTimedOut = 7;
    public const short MessageTooLarge = 10;
    public const short NotCoordinator = 16;
    public const short InvalidTopicException = 17;
    public const short InvalidGroupId = 24;
    public const short UnknownMemberId = 25;
    public const short UnsupportedVersion = 35;
    public const short TopicAlreadyExists = 36;
    public const short InvalidPartitions = 37;
    public const short InvalidReplicationFactor = 38;
    public const short InvalidConfig = 40;
    public const short InvalidRequest = 42;
    public const short PolicyViolation = 44;
    public const short OutOfOrderSequenceNumber = 45;
    public const short InvalidProducerEpoch = 47;
    public const short KafkaStorageError = 56;
    public const short NonEmptyGroup = 68;
    public const short GroupIdNotFound = 69;
    public const short GroupMaxSizeReached = 81;
    public const short FencedInstanceId = 82;
    public const short FencedMemberEpoch = 110;
    public const short StaleMemberEpoch = 113;

    /// <summary>
    /// Our typed errors as Kafka error codes. Retriable ones map to codes Kafka clients retry (storage and queue
    /// trouble to KAFKA_STORAGE_ERROR / REQUEST_TIMED_OUT: nothing was written, the same batch may be sent again).
    /// </summary>
    public static readonly IReadOnlyDictionary<OrleansGroupsErrorCode, short> ByCode = new Dictionary<OrleansGroupsErrorCode, short>
    {
        [OrleansGroupsErrorCode.Unknown] = UnknownServerError,
        [OrleansGroupsErrorCode.InvalidTopicName] = InvalidTopicException,
        [OrleansGroupsErrorCode.UnknownTopic] = UnknownTopicOrPartition,
        [OrleansGroupsErrorCode.TopicAlreadyExists] = TopicAlreadyExists,
        [OrleansGroupsErrorCode.UnknownPartition] = UnknownTopicOrPartition,
        [OrleansGroupsErrorCode.InvalidRequest] = InvalidRequest,
        [OrleansGroupsErrorCode.OffsetOutOfRange] = OffsetOutOfRange,
        [OrleansGroupsErrorCode.RecordTooLarge] = MessageTooLarge,
        [OrleansGroupsErrorCode.CorruptRecord] = CorruptMessage,
        [OrleansGroupsErrorCode.UnknownMember] = UnknownMemberId,
        [OrleansGroupsErrorCode.FencedMemberEpoch] = FencedMemberEpoch,
        [OrleansGroupsErrorCode.StaleMemberEpoch] = StaleMemberEpoch,
        [OrleansGroupsErrorCode.InvalidGroupId] = InvalidGroupId,
        [OrleansGroupsErrorCode.GroupIdNotFound] = GroupIdNotFound,
        [OrleansGroupsErrorCode.NonEmptyGroup] = NonEmptyGroup,
        [OrleansGroupsErrorCode.StorageUnavailable] = KafkaStorageError,
        [OrleansGroupsErrorCode.OutOfOrderSequence] = OutOfOrderSequenceNumber,
        [OrleansGroupsErrorCode.ProducerFenced] = InvalidProducerEpoch,
        [OrleansGroupsErrorCode.FencedInstanceId] = FencedInstanceId,
        [OrleansGroupsErrorCode.MaxPollIntervalExceeded] = UnknownMemberId,
        [OrleansGroupsErrorCode.DeliveryTimedOut] = RequestTimedOut,
        [OrleansGroupsErrorCode.NotLeaderOrFollower] = NotLeaderOrFollower,
        [OrleansGroupsErrorCode.CorruptLog] = KafkaStorageError,
        [OrleansGroupsErrorCode.NotCoordinator] = NotCoordinator,
        [OrleansGroupsErrorCode.AppendQueueFull] = RequestTimedOut,
        [OrleansGroupsErrorCode.GroupMaxSizeReached] = GroupMaxSizeReached,
        [OrleansGroupsErrorCode.ProducerBufferFull] = RequestTimedOut,
        [OrleansGroupsErrorCode.ResourceLimitReached] = PolicyViolation,
    };

    /// <summary>The Kafka code for a failed grain call: ours through the table, a timeout as REQUEST_TIMED_OUT, the rest UNKNOWN_SERVER_ERROR.</summary>
    public static short For(Exception exception) => exception switch
    {
        OrleansGroupsException e => ByCode.GetValueOrDefault(e.Code, UnknownServerError),
        TimeoutException => RequestTimedOut,
        _ => UnknownServerError,
    };

    /// <summary>True when the error is ours (expected, answered without a log line).</summary>
    public static bool IsExpected(Exception exception) => exception is OrleansGroupsException or TimeoutException;
}
