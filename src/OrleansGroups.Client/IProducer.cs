using OrleansGroups.Core.Topics;

namespace OrleansGroups.Client;

/// <summary>
/// Produces messages to topics, with Confluent.Kafka's <c>IProducer</c> names where there is a counterpart
/// (<see cref="ProduceAsync(string, Message, CancellationToken)"/>, <see cref="Produce(string, Message, Action{DeliveryReport}?)"/>
/// with a delivery handler, <see cref="Flush(TimeSpan)"/>, <see cref="Flush(CancellationToken)"/>). Keys and values are
/// bytes (no serializers). Idempotent by default; batches per partition with <see cref="ProducerOptions.Linger"/> and
/// <see cref="ProducerOptions.BatchMaxBytes"/>. Thread-safe: share one per process.
/// </summary>
public interface IProducer : IAsyncDisposable
{
    /// <summary>
    /// Produces one message to the partition its key hashes to (round-robin without a key) and completes once it is
    /// durable, with its partition, offset and timestamp. Fails with the typed error (UnknownTopic, RecordTooLarge, …)
    /// or after <see cref="ProducerOptions.DeliveryTimeout"/> of retries.
    /// </summary>
    Task<DeliveryResult> ProduceAsync(string topic, Message message, CancellationToken cancellationToken = default);

    /// <summary>Produces one message to an explicit partition; otherwise as <see cref="ProduceAsync(string, Message, CancellationToken)"/>.</summary>
    Task<DeliveryResult> ProduceAsync(TopicPartition partition, Message message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queues one message and returns at once (Confluent.Kafka's <c>Produce</c>): <paramref name="deliveryHandler"/>, when
    /// given, is called once with the outcome (on a thread-pool thread, or at once on this thread when the call fails before queueing), before <see cref="Flush(TimeSpan)"/> counts the
    /// message as done. It should not throw: nothing would observe the exception.
    /// </summary>
    void Produce(string topic, Message message, Action<DeliveryReport>? deliveryHandler = null);

    /// <summary>Queues one message for an explicit partition; otherwise as <see cref="Produce(string, Message, Action{DeliveryReport}?)"/>.</summary>
    void Produce(TopicPartition partition, Message message, Action<DeliveryReport>? deliveryHandler = null);

    /// <summary>
    /// Produces many messages in one call (no Confluent counterpart; cheaper per message than one call each): each goes
    /// to its key's partition, or to <paramref name="partition"/> when given. Results are in the order of <paramref name="messages"/>.
    /// </summary>
    Task<IReadOnlyList<DeliveryResult>> ProduceBatchAsync(
        string topic, IReadOnlyList<Message> messages, int? partition = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sends lingering batches at once and blocks until no message is in flight (acknowledged or failed, delivery
    /// handlers called) or <paramref name="timeout"/> passes. Returns how many messages are still in flight (0: all done).
    /// </summary>
    int Flush(TimeSpan timeout);

    /// <summary>
    /// Sends lingering batches at once and blocks until no message is in flight. Throws
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> is cancelled first.
    /// </summary>
    void Flush(CancellationToken cancellationToken = default);

    /// <summary>
    /// <see cref="Flush(CancellationToken)"/> without blocking a thread. Messages produced while it waits are waited for
    /// too, as in librdkafka.
    /// </summary>
    Task FlushAsync(CancellationToken cancellationToken = default);
}
