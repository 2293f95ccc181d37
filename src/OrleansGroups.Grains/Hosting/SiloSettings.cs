using System.Net;
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
    /// <summary>Default gateway port (clients connect here).</summary>
    public const int DefaultGatewayPort = 30000;

    /// <summary>Default silo-to-silo port.</summary>
    public const int DefaultSiloPort = 11111;

    /// <summary>memory or azure (default azure: durable).</summary>
    public StorageKind Storage { get; set; } = StorageKind.Azure;

    /// <summary>Azure Storage connection string (default: Azurite on its default ports).</summary>
    public string? ConnectionString { get; set; } = AzureStorageSettings.AzuriteConnectionString;

    /// <summary>Blob service URI for managed identity; used when no connection string is set.</summary>
    public Uri? BlobServiceUri { get; set; }

    /// <summary>Table service URI for managed identity clustering; used when no connection string is set.</summary>
    public Uri? TableServiceUri { get; set; }

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

    /// <summary>Address other silos and clients use to reach this silo (default 127.0.0.1).</summary>
    public string AdvertisedIp { get; set; } = "127.0.0.1";

    /// <summary>Detect dead silos in about a second instead of 10–14 s (for local clusters and tests).</summary>
    public bool FastMembership { get; set; }

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
        if (!IPAddress.TryParse(AdvertisedIp, out _))
        {
            errors.Add($"--advertised-ip '{AdvertisedIp}' is not an IP address.");
        }
        var needsAzure = Storage == StorageKind.Azure || Clustering == ClusteringKind.Azure;
        if (needsAzure && string.IsNullOrWhiteSpace(ConnectionString) && BlobServiceUri is null)
        {
            errors.Add("Azure storage or clustering needs --connection-string, or BlobServiceUri/TableServiceUri for managed identity.");
        }
        if (Clustering == ClusteringKind.Azure && string.IsNullOrWhiteSpace(ConnectionString) && TableServiceUri is null)
        {
            errors.Add("Azure clustering needs --connection-string or TableServiceUri.");
        }
        var validation = new OrleansGroupsOptionsValidator().Validate(null, EffectiveOptions());
        if (validation.Failed)
        {
            errors.AddRange(validation.Failures);
        }
        return errors;
    }

    /// <summary>The OrleansGroups options with this description's storage settings applied.</summary>
    public OrleansGroupsOptions EffectiveOptions()
    {
        Options.Storage = Storage;
        Options.Azure.ConnectionString = ConnectionString;
        Options.Azure.BlobServiceUri ??= BlobServiceUri;
        Options.Azure.TableServiceUri ??= TableServiceUri;
        return Options;
    }

    /// <summary>Configures clustering, endpoints and OrleansGroups on a silo.</summary>
    public void Apply(ISiloBuilder silo)
    {
        var address = IPAddress.Parse(AdvertisedIp);
        silo.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = ClusterId;
            o.ServiceId = ServiceId;
        });
        switch (Clustering)
        {
            case ClusteringKind.Localhost:
                silo.UseLocalhostClustering(SiloPort, GatewayPort,
                    new IPEndPoint(address, PrimarySiloPort ?? SiloPort), ServiceId, ClusterId);
                break;
            case ClusteringKind.Azure:
                var tables = !string.IsNullOrWhiteSpace(ConnectionString)
                    ? new TableServiceClient(ConnectionString)
                    : new TableServiceClient(TableServiceUri, new DefaultAzureCredential());
                silo.UseAzureStorageClustering(o => o.TableServiceClient = tables);
                silo.ConfigureEndpoints(address, SiloPort, GatewayPort, listenOnAnyHostAddress: true);
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
        var options = EffectiveOptions();
        silo.AddOrleansGroups(o =>
        {
            o.Storage = options.Storage;
            o.Azure = options.Azure;
            o.Log = options.Log;
            o.Groups = options.Groups;
        });
    }

    /// <summary>The gateway endpoint clients use.</summary>
    public IPEndPoint GatewayEndpoint => new(IPAddress.Parse(AdvertisedIp), GatewayPort);
}
