using System.Globalization;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using OrleansGroups.Client;
using OrleansGroups.Core.Topics;
using OrleansGroups.IntegrationTests.Deployment;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests.SplitBrain;

/// <summary>
/// Silo processes on Azurite with Azure Table clustering and fast membership that a test can freeze (SIGSTOP) until
/// the cluster declares them dead, thaw (SIGCONT: a silo declared dead then stops itself) and start again. Clients find
/// the gateways through the membership table, as <c>og --clustering azure</c> does. Disposing thaws and kills every
/// process it started, also when the test failed half way.
/// </summary>
internal sealed class PausableCluster : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly string[][] _arguments;
    private readonly ChildProcess?[] _silos;
    private readonly IDictionary<string, string?>? _environment;
    private readonly List<IHost> _clients = [];

    private PausableCluster(string connectionString, int count, IDictionary<string, string?>? environment)
    {
        _connectionString = connectionString;
        _environment = environment;
        _arguments = new string[count][];
        _silos = new ChildProcess?[count];
        SiloPorts = new int[count];
        GatewayPorts = new int[count];
        var ports = FreePorts.Get(2 * count);
        for (var i = 0; i < count; i++)
        {
            SiloPorts[i] = ports[2 * i];
            GatewayPorts[i] = ports[2 * i + 1];
            _arguments[i] = SiloHost.ClusterArguments(connectionString, ClusterId, ServiceId, SiloPorts[i], GatewayPorts[i], healthPort: 0);
        }
    }

    public string ClusterId { get; } = $"sb-{Guid.NewGuid():N}"[..12];

    public string ServiceId { get; } = $"sb-{Guid.NewGuid():N}"[..16];

    public int[] SiloPorts { get; }

    public int[] GatewayPorts { get; }

    public int Count => _silos.Length;

    /// <summary>The arguments og needs to find this cluster through the membership table.</summary>
    public string[] OgClusterArguments =>
        ["--clustering", "azure", "--connection-string", _connectionString, "--cluster-id", ClusterId, "--service-id", ServiceId];

    /// <summary>Starts <paramref name="count"/> silos (with <paramref name="environment"/>, e.g. OrleansGroups__Options__Log__* settings) and waits until all are ready.</summary>
    public static async Task<PausableCluster> StartAsync(string connectionString, int count, IDictionary<string, string?>? environment = null)
    {
        var cluster = new PausableCluster(connectionString, count, environment);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(cluster.StartSiloAsync));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts silo <paramref name="index"/> (again: a new generation on the same ports) and waits for its ready line.</summary>
    public async Task StartSiloAsync(int index)
    {
        if (_silos[index] is { } old)
        {
            old.Resume();
            await old.DisposeAsync();
        }
        var silo = ChildProcess.StartDotnet(SiloProcess.SiloDll, _arguments[index], _environment);
        _silos[index] = silo;
        try
        {
            await silo.WaitForOutputAsync(SiloHost.ReadyLine, SiloHost.ReadyTimeout);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException)
        {
            throw new TimeoutException($"silo {index} did not become ready:{Environment.NewLine}{silo.OutputText}", e);
        }
    }

    public ChildProcess Silo(int index) => _silos[index] ?? throw new InvalidOperationException($"silo {index} is not running");

    /// <summary>SIGSTOP: the silo hangs with its ports open.</summary>
    public void Pause(int index) => Silo(index).Pause();

    /// <summary>
    /// SIGCONT to a silo the cluster declared dead, then waits until it has stopped itself (Orleans ends a silo that
    /// learns it was declared dead); kills it if it has not within <paramref name="timeout"/>. Returns whether it stopped itself.
    /// </summary>
    public async Task<bool> ResumeUntilItExitsAsync(int index, TimeSpan timeout)
    {
        var silo = Silo(index);
        silo.Resume();
        try
        {
            await silo.WaitForExitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            await silo.KillAsync();
            return false;
        }
    }

    /// <summary>The status the membership table gives silo <paramref name="index"/>'s newest generation ("Active", "Dead", ...), or null.</summary>
    public Task<string?> MembershipStatusAsync(int index) => MembershipTable.StatusAsync(_connectionString, ClusterId, SiloPorts[index]);

    /// <summary>Waits until the membership table says silo <paramref name="index"/> is dead (the other silos voted it out).</summary>
    public Task WaitDeclaredDeadAsync(int index, TimeSpan timeout) =>
        Wait.UntilAsync(async () => await MembershipStatusAsync(index) == "Dead", timeout, $"the cluster declares silo {index} dead");

    /// <summary>
    /// An Orleans client that finds the gateways in the membership table, with OrleansGroups' default gateway failover
    /// (<see cref="OrleansGroupsClientExtensions.AddOrleansGroupsClient(IClientBuilder)"/>), as an application would build it.
    /// </summary>
    public async Task<IHost> ConnectAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(_connectionString));
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            client.AddOrleansGroupsClient();
        });
        var host = builder.Build();
        _clients.Add(host);
        await host.StartAsync();
        return host;
    }

    /// <summary>
    /// The silo hosting the most partition grains of <paramref name="topic"/> (asked through the management grain),
    /// so that pausing it stalls appends; null when none is active yet.
    /// </summary>
    public async Task<int?> BusiestPartitionHostAsync(IGrainFactory grains, string topic, int partitions)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var counts = new int[Count];
        for (var p = 0; p < partitions; p++)
        {
            var address = await management.GetActivationAddress(grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(topic, p))));
            var index = address is null ? -1 : Array.IndexOf(SiloPorts, address.Endpoint.Port);
            if (index >= 0)
            {
                counts[index]++;
            }
        }
        var max = counts.Max();
        return max == 0 ? null : Array.IndexOf(counts, max);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.StopQuietlyAsync();
        }
        foreach (var silo in _silos)
        {
            if (silo is not null)
            {
                silo.Resume();
                await silo.DisposeAsync();
            }
        }
    }
}

/// <summary>Reads Orleans' Azure Table membership (the cluster's own record of which silos are alive).</summary>
internal static class MembershipTable
{
    /// <summary>Orleans' Azure clustering table.</summary>
    private const string Name = "OrleansSiloInstances";

    /// <summary>The status of the newest generation of the silo on <paramref name="siloPort"/> ("Active", "Dead", ...), or null.</summary>
    public static async Task<string?> StatusAsync(string connectionString, string clusterId, int siloPort)
    {
        var table = new TableServiceClient(connectionString).GetTableClient(Name);
        var port = siloPort.ToString(CultureInfo.InvariantCulture);
        string? status = null;
        var generation = long.MinValue;
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == clusterId))
        {
            if (row.GetString("Port") == port && long.TryParse(row.GetString("Generation"), CultureInfo.InvariantCulture, out var g) && g > generation)
            {
                generation = g;
                status = row.GetString("Status");
            }
        }
        return status;
    }
}
