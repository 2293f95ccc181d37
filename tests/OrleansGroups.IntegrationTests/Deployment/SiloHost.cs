using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using OrleansGroups.Client;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests.Deployment;

/// <summary>
/// Silo processes started with explicit arguments, as deployments and scripts/cluster.sh start them, and
/// clients that know a list of gateways.
/// </summary>
internal static class SiloHost
{
    public const string ReadyLine = "OrleansGroups silo ready";
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The arguments scripts/cluster.sh gives silo <paramref name="index"/> of a local cluster.</summary>
    public static string[] ClusterArguments(string connectionString, string clusterId, string serviceId, int siloPort, int gatewayPort, int healthPort) =>
    [
        "--storage", "azure", "--clustering", "azure", "--connection-string", connectionString, "--fast-membership",
        "--cluster-id", clusterId, "--service-id", serviceId, "--advertised-ip", "127.0.0.1",
        "--silo-port", siloPort.ToString(), "--gateway-port", gatewayPort.ToString(), "--health-port", healthPort.ToString(),
    ];

    /// <summary>Starts the built silo with <paramref name="args"/> and waits for its ready line.</summary>
    public static async Task<ChildProcess> StartAsync(IEnumerable<string> args)
    {
        var process = ChildProcess.StartDotnet(SiloProcess.SiloDll, args);
        try
        {
            await process.WaitForOutputAsync(ReadyLine, ReadyTimeout);
            return process;
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>An Orleans client with OrleansGroups that connects to exactly these gateways.</summary>
    public static async Task<IHost> ConnectAsync(string clusterId, string serviceId, TimeSpan responseTimeout, params int[] gatewayPorts)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(gatewayPorts.Select(p => new IPEndPoint(IPAddress.Loopback, p)).ToArray());
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = responseTimeout);
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
        });
        builder.Services.AddOrleansGroupsClient();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>
    /// An Orleans client with OrleansGroups that finds the gateways in the Azure membership table, with the client
    /// library's gateway failover. Unlike a static list, the table drops a gateway whose silo hangs once the cluster
    /// declares it dead, and the client closes its connection to it: with a static list, grains whose calls were routed
    /// through a hung gateway's still-open connection keep timing out for as long as it hangs.
    /// </summary>
    public static async Task<IHost> ConnectThroughTableAsync(string connectionString, string clusterId, string serviceId, TimeSpan responseTimeout)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.UseAzureStorageClustering(o => o.TableServiceClient = new Azure.Data.Tables.TableServiceClient(connectionString));
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            client.AddOrleansGroupsClient();
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = responseTimeout);
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public static OrleansGroupsClient Groups(this IHost client) => client.Services.GetRequiredService<OrleansGroupsClient>();

    /// <summary>Stops a client whose gateway may be gone, without waiting for calls that can no longer finish.</summary>
    public static async Task StopQuietlyAsync(this IHost client)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await client.StopAsync(cts.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or OrleansException or AggregateException or TimeoutException)
        {
            // The gateway died under it; nothing to drain.
        }
        client.Dispose();
    }

    /// <summary>GET http://127.0.0.1:{port}{path}: the status code and body.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> GetAsync(int port, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var response = await http.GetAsync($"http://127.0.0.1:{port}{path}");
        return (response.StatusCode, (await response.Content.ReadAsStringAsync()).Trim());
    }
}
