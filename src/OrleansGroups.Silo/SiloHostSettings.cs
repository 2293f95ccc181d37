namespace OrleansGroups.Silo;

/// <summary>
/// Settings of the silo process itself (not of the cluster it joins), bound from the same "OrleansGroups" section
/// as <see cref="Hosting.SiloSettings"/>: the probe port and how long a graceful shutdown may take.
/// </summary>
internal sealed class SiloHostSettings
{
    /// <summary>Default port of the health endpoint (/healthz, /readyz).</summary>
    public const int DefaultHealthPort = 8080;

    /// <summary>Default graceful-shutdown budget in seconds.</summary>
    public const int DefaultShutdownTimeoutSeconds = 60;

    /// <summary>
    /// Port of the health endpoint; 0 disables it; null means <see cref="DefaultHealthPort"/>, and then a port already
    /// in use is logged and skipped instead of failing the start (several silos on one machine).
    /// </summary>
    public int? HealthPort { get; set; }

    /// <summary>
    /// How long SIGTERM may take to drain the silo (deactivate grains, hand group members off, leave the membership
    /// table) before the host gives up. Keep it below the orchestrator's grace period (Kubernetes
    /// terminationGracePeriodSeconds, default 30 s there; this repository's manifests use 180 s with 150 s here).
    /// </summary>
    public int ShutdownTimeoutSeconds { get; set; } = DefaultShutdownTimeoutSeconds;

    /// <summary>Port of the Kafka wire-protocol listener (preview); null (the default) leaves it off.</summary>
    public int? KafkaPort { get; set; }

    /// <summary>Host name Kafka clients are told to connect to; null means the silo's advertised IP.</summary>
    public string? KafkaAdvertisedHost { get; set; }

    /// <summary>The port the health endpoint listens on, 0 when disabled.</summary>
    public int EffectiveHealthPort => HealthPort ?? DefaultHealthPort;

    /// <summary>Every invalid setting with how to fix it; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (EffectiveHealthPort is < 0 or > 65535)
        {
            errors.Add("--health-port must be a TCP port (1-65535), or 0 to disable the health endpoint.");
        }
        if (KafkaPort is < 1 or > 65535)
        {
            errors.Add("--kafka-port must be a TCP port (1-65535); leave it out to turn the Kafka listener off.");
        }
        if (ShutdownTimeoutSeconds < 1)
        {
            errors.Add("--shutdown-timeout must be at least 1 second.");
        }
        return errors;
    }
}
