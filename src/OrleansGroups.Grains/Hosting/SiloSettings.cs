using System.Net;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;

namespace OrleansGroups.Hosting;

/// <summary>How cluster members find each other.</summary>
public enum ClusteringKind
{
    /// <summary>Silos on one machine; the first (primary) silo's port is the rendezvous.</summary>
    Localhost,
    /// <summary>An Azure Storage table (works with Azurite), for multi-silo clusters anywhere.</summary>
    Azure,
}

/// <summary>
/// Everything a ready-made OrleansGroups silo needs: the silo host, <c>og demo</c> and the tests build silos
/// from this one description so they never drift apart. Bound from the "OrleansGroups" configuration section.
/// </summary>
public sealed class SiloSettings
{
    private TokenCredential? _credential;
    private SiloTls.Certificates? _tls;

    /// <summary>Default gateway port (clients connect here).</summary>
    public const int DefaultGatewayPort = 30000;

    /// <summary>Default silo-to-silo port.</summary>
    public const int DefaultSiloPort = 11111;

    /// <summary>memory or azure (default azure: durable).</summary>
    public StorageKind Storage { get; set; } = StorageKind.Azure;

    /// <summary>The <see cref="AdvertisedIp"/> value that lets the silo pick its own address at start.</summary>
    public const string AutoAdvertisedIp = "auto";

    /// <summary>
    /// Azure Storage connection string. Null (the default) means Azurite on its default ports, unless
    /// <see cref="BlobServiceUri"/> or <see cref="TableServiceUri"/> is set; empty means "no connection string":
    /// the service URIs with <c>DefaultAzureCredential</c> (managed identity). See <see cref="EffectiveConnectionString"/>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Blob service URI (e.g. https://account.blob.core.windows.net) for managed identity; used when no connection string is set.</summary>
    public Uri? BlobServiceUri { get; set; }

    /// <summary>Table service URI (e.g. https://account.table.core.windows.net) for managed identity clustering; used when no connection string is set.</summary>
    public Uri? TableServiceUri { get; set; }

    /// <summary>
    /// The connection string in force: <see cref="ConnectionString"/> when it has text; null (use the service URIs with
    /// <c>DefaultAzureCredential</c>) when it is empty or when a service URI is set; otherwise the Azurite development one.
    /// </summary>
    public string? EffectiveConnectionString =>
        !string.IsNullOrWhiteSpace(ConnectionString) ? ConnectionString
        : ConnectionString is not null || BlobServiceUri is not null || TableServiceUri is not null ? null
        : AzureStorageSettings.AzuriteConnectionString;

    /// <summary>True when Azure Storage is reached with service URIs and <c>DefaultAzureCredential</c> instead of a connection string.</summary>
    public bool UsesManagedIdentity => EffectiveConnectionString is null;

    /// <summary>localhost or azure (default localhost).</summary>
    public ClusteringKind Clustering { get; set; } = ClusteringKind.Localhost;

    /// <summary>Cluster id (default "dev"): silos with the same id form one cluster.</summary>
    public string ClusterId { get; set; } = "dev";

    /// <summary>Service id (default "orleansgroups"): keys all stored state, so keep it stable across deployments.</summary>
    public string ServiceId { get; set; } = "orleansgroups";

    /// <summary>Silo-to-silo port (default 11111).</summary>
    public int SiloPort { get; set; } = DefaultSiloPort;

    /// <summary>Gateway port for clients (default 30000).</summary>
    public int GatewayPort { get; set; } = DefaultGatewayPort;

    /// <summary>Localhost clustering: the primary silo's port (default: this silo's port, i.e. this silo is primary).</summary>
    public int? PrimarySiloPort { get; set; }

    /// <summary>
    /// Address other silos and clients use to reach this silo (default 127.0.0.1). <c>auto</c> (Azure and containers):
    /// the silo picks its own non-loopback address at start (the pod IP on Kubernetes); needs Azure clustering.
    /// </summary>
    public string AdvertisedIp { get; set; } = "127.0.0.1";

    /// <summary>True when <see cref="AdvertisedIp"/> is <c>auto</c>.</summary>
    public bool HasAutoAdvertisedIp => string.Equals(AdvertisedIp, AutoAdvertisedIp, StringComparison.OrdinalIgnoreCase);

    /// <summary>Detect dead silos in about a second instead of 10–14 s (for local clusters and tests).</summary>
    public bool FastMembership { get; set; }

    /// <summary>
    /// Path of a PKCS#12 (PFX) file with the silo's TLS certificate and private key (default none: no TLS). With it,
    /// the silo port and the gateway port speak only TLS; silos trust peers whose certificate has the same subject and
    /// chains to one in this file, and clients must trust it too (og <c>--tls-ca</c>).
    /// </summary>
    public string? TlsCertificate { get; set; }

    /// <summary>Password of <see cref="TlsCertificate"/> (default none); prefer the environment variable to the command line.</summary>
    public string? TlsCertificatePassword { get; set; }

    /// <summary>True when <see cref="TlsCertificate"/> is set.</summary>
    public bool UsesTls => !string.IsNullOrWhiteSpace(TlsCertificate);

    /// <summary>The TLS certificate's subject and thumbprint (for the ready line), or null without TLS.</summary>
    public string? TlsCertificateDescription => UsesTls ? Core.Security.CertificateTrust.Describe(TlsCertificates.Own) : null;

    // Read once: the file is checked by Validate and used by Apply.
    private SiloTls.Certificates TlsCertificates => _tls ??= SiloTls.Load(TlsCertificate!, TlsCertificatePassword);

    /// <summary>The OrleansGroups options (log, groups).</summary>
    public OrleansGroupsOptions Options { get; set; } = new();

    /// <summary>Reports every invalid setting with how to fix it; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (SiloPort is < 1 or > 65535 || GatewayPort is < 1 or > 65535)
        {
            errors.Add("--silo-port and --gateway-port must be TCP ports (1-65535).");
        }
        if (SiloPort == GatewayPort)
        {
            errors.Add("--silo-port and --gateway-port must differ.");
        }
        if (string.IsNullOrWhiteSpace(ClusterId) || string.IsNullOrWhiteSpace(ServiceId))
        {
            errors.Add("--cluster-id and --service-id must not be empty.");
        }
        if (HasAutoAdvertisedIp)
        {
            if (Clustering == ClusteringKind.Localhost)
            {
                errors.Add("--advertised-ip auto needs --clustering azure: localhost clustering needs a fixed address.");
            }
        }
        else if (!IPAddress.TryParse(AdvertisedIp, out _))
        {
            errors.Add($"--advertised-ip '{AdvertisedIp}' is not an IP address (or 'auto').");
        }
        var identity = UsesManagedIdentity;
        var noBlobService = identity && Storage == StorageKind.Azure && BlobServiceUri is null;
        if (noBlobService)
        {
            errors.Add("Azure storage without a connection string needs --blob-service-uri (managed identity), or pass --connection-string.");
        }
        if (identity && Clustering == ClusteringKind.Azure && TableServiceUri is null)
        {
            errors.Add("Azure clustering without a connection string needs --table-service-uri (managed identity), or pass --connection-string.");
        }
        foreach (var (name, uri) in new[] { ("--blob-service-uri", BlobServiceUri), ("--table-service-uri", TableServiceUri) })
        {
            if (uri is not null && (!uri.IsAbsoluteUri || uri.Scheme is not ("https" or "http")))
            {
                errors.Add($"{name} '{uri}' must be an absolute https URI, e.g. https://account.blob.core.windows.net.");
            }
        }
        if (UsesTls)
        {
            try
            {
                _ = TlsCertificates;
            }
            catch (InvalidDataException e)
            {
                errors.Add(e.Message + ".");
            }
        }
        else if (!string.IsNullOrEmpty(TlsCertificatePassword))
        {
            errors.Add("--tls-certificate-password needs --tls-certificate (the PFX file it opens).");
        }
        var validation = new OrleansGroupsOptionsValidator().Validate(null, EffectiveOptions());
        if (validation.Failed)
        {
            // The options validator words the missing blob service in options terms; the line above already said it.
            errors.AddRange(validation.Failures.Where(f => !(noBlobService && f.StartsWith("Azure storage needs", StringComparison.Ordinal))));
        }
        return errors;
    }

    /// <summary>The OrleansGroups options with this description's storage settings applied.</summary>
    public OrleansGroupsOptions EffectiveOptions()
    {
        Options.Storage = Storage;
        Options.Azure.ConnectionString = EffectiveConnectionString;
        Options.Azure.BlobServiceUri ??= BlobServiceUri;
        Options.Azure.TableServiceUri ??= TableServiceUri;
        // Managed identity: the queue endpoint of Azure Queue notifications sits next to the blob endpoint.
        if (Options.Azure.QueueServiceUri is null && Options.Azure.BlobServiceUri is { } blobs && blobs.Host.Contains(".blob.", StringComparison.Ordinal))
        {
            Options.Azure.QueueServiceUri = new UriBuilder(blobs) { Host = blobs.Host.Replace(".blob.", ".queue.", StringComparison.Ordinal) }.Uri;
        }
        return Options;
    }

    /// <summary>Configures clustering, endpoints and OrleansGroups on a silo.</summary>
    public void Apply(ISiloBuilder silo)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = ClusterId;
            o.ServiceId = ServiceId;
        });
        switch (Clustering)
        {
            case ClusteringKind.Localhost:
                silo.UseLocalhostClustering(SiloPort, GatewayPort,
                    new IPEndPoint(IPAddress.Parse(AdvertisedIp), PrimarySiloPort ?? SiloPort), ServiceId, ClusterId);
                break;
            case ClusteringKind.Azure:
                var tables = CreateTableServiceClient();
                silo.UseAzureStorageClustering(o => o.TableServiceClient = tables);
                if (HasAutoAdvertisedIp)
                {
                    // No advertised address: Orleans picks a non-loopback one at start (Kubernetes hosting sets the pod IP).
                    silo.Configure<EndpointOptions>(o =>
                    {
                        o.SiloPort = SiloPort;
                        o.GatewayPort = GatewayPort;
                        o.SiloListeningEndpoint = new IPEndPoint(IPAddress.Any, SiloPort);
                        o.GatewayListeningEndpoint = new IPEndPoint(IPAddress.Any, GatewayPort);
                    });
                }
                else
                {
                    silo.ConfigureEndpoints(IPAddress.Parse(AdvertisedIp), SiloPort, GatewayPort, listenOnAnyHostAddress: true);
                }
                break;
        }
        if (FastMembership)
        {
            // Verified settings: a killed silo is declared dead in about a second.
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(1);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
                o.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(10);
            });
        }
        if (UsesTls)
        {
            SiloTls.Configure(silo, TlsCertificates);
        }
        var options = EffectiveOptions();
        silo.AddOrleansGroups(o =>
        {
            o.Storage = options.Storage;
            o.Azure = options.Azure;
            o.Log = options.Log;
            o.Groups = options.Groups;
            o.Consumers = options.Consumers;
            o.AddReminderService = options.AddReminderService;
        });
    }

    /// <summary>The gateway endpoint clients use (0.0.0.0 with an <c>auto</c> advertised address: the silo picks it at start).</summary>
    public IPEndPoint GatewayEndpoint => new(HasAutoAdvertisedIp ? IPAddress.Any : IPAddress.Parse(AdvertisedIp), GatewayPort);

    /// <summary>The table client of Azure clustering: from the connection string, or the table URI with <c>DefaultAzureCredential</c>.</summary>
    public TableServiceClient CreateTableServiceClient() =>
        EffectiveConnectionString is { } connectionString
            ? new TableServiceClient(connectionString)
            : new TableServiceClient(TableServiceUri ?? throw new InvalidOperationException("Set a connection string or a table service URI."),
                Credential);

    /// <summary>
    /// Checks that the storage this silo needs answers within <paramref name="timeout"/>: the blob service for Azure
    /// storage, the table service for Azure clustering. Returns null when it does, else one line saying what failed.
    /// </summary>
    public async Task<string?> ProbeStorageAsync(TimeSpan timeout)
    {
        if (Storage == StorageKind.Azure && await StorageProbe.CheckAsync(EffectiveOptions().Azure, timeout) is { } blobProblem)
        {
            return blobProblem;
        }
        if (Clustering != ClusteringKind.Azure)
        {
            return null;
        }
        TableServiceClient tables;
        try
        {
            tables = CreateTableServiceClient();
        }
        catch (Exception e)
        {
            return $"invalid storage settings: {e.Message}";
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            // Listing one table needs only data-plane read rights (Storage Table Data Contributor).
            await foreach (var _ in tables.QueryAsync(maxPerPage: 1, cancellationToken: cts.Token).AsPages(pageSizeHint: 1))
            {
                break;
            }
            return null;
        }
        catch (Exception e)
        {
            var reason = e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0.#} s" : e.Message.Split('\n', 2)[0].Trim();
            return $"Azure Storage is unreachable at {tables.Uri}: {reason}";
        }
    }

    // One credential for the clustering client of this silo, created on first use. AZURE_CLIENT_ID selects a
    // user-assigned managed identity.
    private TokenCredential Credential => _credential ??= new DefaultAzureCredential();
}
