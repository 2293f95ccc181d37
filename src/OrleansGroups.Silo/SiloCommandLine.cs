namespace OrleansGroups.Silo;

/// <summary>
/// The silo's command-line contract. Each option maps to a key of the "OrleansGroups" configuration section,
/// so the same setting can come from appsettings.json or an environment variable (OrleansGroups__Storage=memory).
/// </summary>
internal static class SiloCommandLine
{
    private static readonly (string Option, string Key, string Help)[] Options =
    [
        ("--storage", "Storage", "memory | azure (default azure: durable, on Azurite unless --connection-string says otherwise)"),
        ("--connection-string", "ConnectionString", "Azure Storage connection string (default: Azurite on 127.0.0.1:10000-10002 unless a service URI is set; \"\" = none: use the service URIs)"),
        ("--blob-service-uri", "BlobServiceUri", "blob service URI for managed identity (DefaultAzureCredential; AZURE_CLIENT_ID picks a user-assigned identity), used without a connection string"),
        ("--table-service-uri", "TableServiceUri", "table service URI for managed identity, used by --clustering azure without a connection string"),
        ("--clustering", "Clustering", "localhost | azure (default localhost; azure uses a storage table)"),
        ("--cluster-id", "ClusterId", "cluster id (default dev)"),
        ("--service-id", "ServiceId", "service id, keys all stored state (default orleansgroups)"),
        ("--silo-port", "SiloPort", "silo-to-silo port (default 11111)"),
        ("--gateway-port", "GatewayPort", "client gateway port (default 30000)"),
        ("--primary-silo-port", "PrimarySiloPort", "localhost clustering: the first silo's port (default: this silo's)"),
        ("--advertised-ip", "AdvertisedIp", "address announced to other silos and clients (default 127.0.0.1; on Kubernetes the pod IP); auto = pick a non-loopback one (containers)"),
        ("--fast-membership", "FastMembership", "true | false: detect dead silos in ~1 s (local clusters, tests)"),
        ("--health-port", "HealthPort", "HTTP port of GET /healthz (liveness), /readyz (readiness) and /metrics (Prometheus) (default 8080; 0 disables)"),
        ("--tls-certificate", "TlsCertificate", "PKCS#12 (PFX) file with the silo's certificate and key: TLS on the silo and gateway ports (default off)"),
        ("--tls-certificate-password", "TlsCertificatePassword", "password of the --tls-certificate file (prefer the environment variable OrleansGroups__TlsCertificatePassword)"),
        ("--kafka-port", "KafkaPort", "TCP port of the Kafka wire-protocol listener for Kafka clients (preview; default off)"),
        ("--kafka-advertised-host", "KafkaAdvertisedHost", "host Kafka clients are told to connect to (default: the advertised IP; set it in containers)"),
        ("--shutdown-timeout", "ShutdownTimeoutSeconds", "seconds SIGTERM may take to drain the silo before the host gives up (default 60)"),
    ];

    public sealed record Result(Dictionary<string, string?> Settings, int? ExitCode);

    public static Result Parse(string[] args)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h" or "-?")
            {
                Console.Out.WriteLine(Usage());
                return new(settings, 0);
            }
            var equals = arg.IndexOf('=');
            var name = equals > 0 ? arg[..equals] : arg;
            var option = Options.FirstOrDefault(o => o.Option == name);
            if (option.Option is null)
            {
                return Fail($"unknown option '{arg}'");
            }
            string? value;
            if (equals > 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (option.Option == "--fast-membership" && (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal)))
            {
                value = "true";
            }
            else if (i + 1 < args.Length)
            {
                value = args[++i];
            }
            else
            {
                return Fail($"option '{name}' needs a value");
            }
            settings[$"OrleansGroups:{option.Key}"] = value;
        }
        return new(settings, null);
    }

    public static string Usage() =>
        "Usage: OrleansGroups.Silo [options]\n\nOptions:\n" +
        string.Join('\n', Options.Select(o => $"  {o.Option,-27} {o.Help}")) +
        "\n\nEvery option is also a setting: appsettings.json section \"OrleansGroups\" or environment variable OrleansGroups__<Name>." +
        "\nSIGTERM or Ctrl+C stops the silo gracefully (exit code 0). With POD_NAME set (Kubernetes), the silo uses Orleans' Kubernetes hosting.";

    private static Result Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}. Run with --help for the options.");
        return new(new Dictionary<string, string?>(), 2);
    }
}
