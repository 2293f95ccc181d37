using OrleansGroups.Core.Errors;

namespace OrleansGroups.Core.Topics;

/// <summary>Per-topic settings, named after their Kafka equivalents.</summary>
[GenerateSerializer, Immutable, Alias("og.TopicConfig")]
public sealed record TopicConfig
{
    /// <summary>Default <see cref="MaxMessageBytes"/>: 1 MiB.</summary>
    public const int DefaultMaxMessageBytes = 1_048_576;

    /// <summary>Retention value meaning "keep forever" / "no size limit".</summary>
    public const long Unlimited = -1;

    /// <summary>The defaults: 1 MiB batches, keep everything forever.</summary>
    public static TopicConfig Default { get; } = new();

    /// <summary>
    /// Largest record batch accepted, in encoded bytes (<c>max.message.bytes</c>). Default
    /// <see cref="DefaultMaxMessageBytes"/>. Raise it only with care: a fetch returns at least one whole batch.
    /// </summary>
    [Id(0)] public int MaxMessageBytes { get; init; } = DefaultMaxMessageBytes;

    /// <summary>How long records are kept, in milliseconds (<c>retention.ms</c>); -1 keeps them forever (the default).</summary>
    [Id(1)] public long RetentionMs { get; init; } = Unlimited;

    /// <summary>Size a partition may reach before old segments are deleted (<c>retention.bytes</c>); -1 means no limit (the default).</summary>
    [Id(2)] public long RetentionBytes { get; init; } = Unlimited;

    /// <summary>Throws <see cref="InvalidRequestException"/> naming the first setting out of range.</summary>
    /// <exception cref="InvalidRequestException">A setting is out of range.</exception>
    public void Validate()
    {
        if (MaxMessageBytes <= 0)
            throw new InvalidRequestException($"max.message.bytes must be positive, got {MaxMessageBytes}.");
        if (RetentionMs < Unlimited)
            throw new InvalidRequestException($"retention.ms must be -1 (forever) or >= 0, got {RetentionMs}.");
        if (RetentionBytes < Unlimited)
            throw new InvalidRequestException($"retention.bytes must be -1 (unlimited) or >= 0, got {RetentionBytes}.");
    }
}
