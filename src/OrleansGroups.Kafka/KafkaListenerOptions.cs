namespace OrleansGroups.Kafka;

/// <summary>Settings of the Kafka wire-protocol listener of a silo.</summary>
public sealed class KafkaListenerOptions
{
    /// <summary>Default largest request frame accepted, as Kafka's <c>socket.request.max.bytes</c> (100 MiB).</summary>
    public const int DefaultMaxFrameBytes = 104_857_600;

    /// <summary>TCP port Kafka clients connect to (<c>bootstrap.servers</c>). Required; Kafka's own default is 9092.</summary>
    public int Port { get; set; }

    /// <summary>
    /// Host name or address announced to clients in Metadata and FindCoordinator: the address clients can reach this
    /// silo on. Default: the silo's advertised IP address. Set it in containers, where that is not what clients see.
    /// </summary>
    public string? AdvertisedHost { get; set; }

    /// <summary>
    /// Largest request frame accepted (<see cref="DefaultMaxFrameBytes"/> by default). A larger size prefix closes the
    /// connection before anything is buffered. Keep it above the largest produce request clients send
    /// (<c>message.max.bytes</c> plus a few KiB of headers).
    /// </summary>
    public int MaxFrameBytes { get; set; } = DefaultMaxFrameBytes;
}
