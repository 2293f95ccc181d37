using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using OrleansGroups.Client;
using OrleansGroups.Hosting;

namespace OrleansGroups.Bench;

/// <summary>
/// One silo in this process (built from <see cref="SiloSettings"/> exactly as the silo host builds it, plus a timed
/// log store) and an Orleans client connected to its gateway over loopback TCP, as a separate host.
/// </summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    private BenchCluster(IHost silo, IHost client, Timers timers, StorageKind storage)
    {
        Silo = silo;
        Client = client;
        Timers = timers;
        Storage = storage;
    }

    public IHost Silo { get; }

    public IHost Client { get; }

    public Timers Timers { get; }

    public StorageKind Storage { get; }

    /// <summary>The client's grain factory (calls cross TCP and are serialized), with timed partition grains.</summary>
    public IGrainFactory ClientGrains => TimingProxy.GrainFactory(Client.Services.GetRequiredService<IGrainFactory>(), Timers.ClientAppend);

    /// <summary>The silo's own grain factory (no network hop; arguments are still copied), with timed partition grains.</summary>
    public IGrainFactory SiloGrains => TimingProxy.GrainFactory(Silo.Services.GetRequiredService<IGrainFactory>(), Timers.ClientAppend);

    public AdminClient Admin => Client.Services.GetRequiredService<OrleansGroupsClient>().Admin;

    /// <param name="configure">Changes to the silo's OrleansGroups options (null: the silo host's defaults).</param>
    public static async Task<BenchCluster> StartAsync(StorageKind storage, string? connectionString, Action<OrleansGroupsOptions>? configure = null)
    {
        var ports = FreeLoopbackPorts(2);
        var settings = new SiloSettings
        {
            Storage = storage,
            ConnectionString = connectionString,
            Clustering = ClusteringKind.Localhost,
            ClusterId = "bench",
            ServiceId = $"bench-{Guid.NewGuid():N}"[..14],
            SiloPort = ports[0],
            GatewayPort = ports[1],
        };
        configure?.Invoke(settings.Options);
        var errors = settings.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", errors));
        }

        var timers = new Timers();
        var siloBuilder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        Quiet(siloBuilder.Logging);
        siloBuilder.UseOrleans(silo =>
        {
            settings.Apply(silo);
            TimingProxy.DecorateLogStore(silo.Services, timers.StorageAppend);
        });
        var silo = siloBuilder.Build();
        await silo.StartAsync();

        var clientBuilder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        Quiet(clientBuilder.Logging);
        clientBuilder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(settings.GatewayPort, settings.ServiceId, settings.ClusterId);
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(60));
        });
        clientBuilder.Services.AddOrleansGroupsClient();
        var client = clientBuilder.Build();
        await client.StartAsync();
        return new BenchCluster(silo, client, timers, storage);
    }

    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await Client.StopAsync(deadline.Token);
        Client.Dispose();
        await Silo.StopAsync(deadline.Token);
        Silo.Dispose();
    }

    private static void Quiet(ILoggingBuilder logging)
    {
        logging.AddSimpleConsole(o => o.SingleLine = true);
        logging.SetMinimumLevel(LogLevel.Error);
    }

    private static int[] FreeLoopbackPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }
}
