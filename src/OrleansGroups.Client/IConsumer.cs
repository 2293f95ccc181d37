using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client;

/// <summary>
/// A consumer, with Confluent.Kafka's names and semantics where there is a counterpart. Subscribe to join a group
/// (the group assigns partitions), or Assign partitions yourself; then Consume, Commit, Seek, Pause/Resume, Close.
/// Implemented by <see cref="Consumer"/>.
/// </summary>
public interface IConsumer : IAsyncDisposable
{
    /// <summary>This member's id in the group.</summary>
    string MemberId { get; }

    /// <summary>Partitions this consumer reads now.</summary>
    IReadOnlyList<TopicPartition> Assignment { get; }

    /// <summary>Topics subscribed to (empty for a consumer with a manual assignment).</summary>
    IReadOnlyList<string> Subscription { get; }

    /// <summary>Assigned partitions that are paused.</summary>
    IReadOnlyList<TopicPartition> Paused { get; }

    /// <summary>Raised after partitions are assigned.</summary>
    event Action<IReadOnlyList<TopicPartition>>? PartitionsAssigned;

    /// <summary>Raised after partitions are taken away (with auto-commit, once their consumed positions are committed).</summary>
    event Action<IReadOnlyList<TopicPartition>>? PartitionsRevoked;

    /// <summary>
    /// Raised when partitions were lost without a commit: the member was fenced or evicted, or the commit of revoked
    /// partitions kept failing through its retries. The next owner repeats what was handed out since the last commit.
    /// </summary>
    event Action<IReadOnlyList<TopicPartition>>? PartitionsLost;

    /// <summary>Awaited before revoked partitions are committed and released.</summary>
    Func<IReadOnlyList<TopicPartition>, Task>? OnPartitionsRevoking { get; set; }

    /// <summary>Subscribes to one topic and joins the group.</summary>
    void Subscribe(string topic);

    /// <summary>Subscribes to topics (replacing an earlier subscription) and joins the group.</summary>
    void Subscribe(IEnumerable<string> topics);

    /// <summary>Reads exactly these partitions without joining the group.</summary>
    void Assign(IEnumerable<TopicPartitionOffset> partitions);

    /// <summary>Stops reading manually assigned partitions.</summary>
    void Unassign();

    /// <summary>Blocks until a record arrives; throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    ConsumeResult Consume(CancellationToken cancellationToken = default);

    /// <summary>Blocks for the next record, or returns null after <paramref name="timeout"/>.</summary>
    ConsumeResult? Consume(TimeSpan timeout);

    /// <summary>The next record, or null when none arrives within <paramref name="timeout"/>.</summary>
    Task<ConsumeResult?> ConsumeAsync(TimeSpan timeout, CancellationToken cancellationToken = default);

    /// <summary>Records as they arrive, until cancelled.</summary>
    IAsyncEnumerable<ConsumeResult> ConsumeAllAsync(CancellationToken cancellationToken = default);

    /// <summary>Commits the positions of what was consumed, and waits.</summary>
    void Commit();

    /// <summary>Commits explicit offsets (each the next offset to read), and waits.</summary>
    void Commit(IEnumerable<TopicPartitionOffset> offsets);

    /// <summary>Commits the positions of what was consumed.</summary>
    Task CommitAsync(CancellationToken cancellationToken = default);

    /// <summary>Commits explicit offsets (each the next offset to read).</summary>
    Task CommitAsync(IEnumerable<TopicPartitionOffset> offsets, CancellationToken cancellationToken = default);

    /// <summary>The offset of the next record consumed from a partition, or null when it is not assigned.</summary>
    long? Position(TopicPartition partition);

    /// <summary>Moves an assigned partition to an offset.</summary>
    void Seek(TopicPartitionOffset offset);

    /// <summary>Stops handing out records of these partitions until resumed.</summary>
    void Pause(IEnumerable<TopicPartition> partitions);

    /// <summary>Resumes paused partitions.</summary>
    void Resume(IEnumerable<TopicPartition> partitions);

    /// <summary>Commits (with auto-commit) and leaves the group, and waits.</summary>
    void Close();

    /// <summary>Commits (with auto-commit) and leaves the group.</summary>
    Task CloseAsync();
}
