using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using OrleansGroups.Client;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

/// <summary>A real silo process started from the built OrleansGroups.Silo, with its client connection.</summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private SiloProcess(ChildProcess process, int siloPort, int gatewayPort, string serviceId, string[] args,
        IDictionary<string, string?>? environment = null)
    {
        Environment = environment;
        Process = process;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        ServiceId = serviceId;
        Arguments = args;
    }

    public ChildProcess Process { get; private set; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public string ServiceId { get; }

    public string[] Arguments { get; }

    /// <summary>Environment overrides of the silo process (OrleansGroups__* settings), if any.</summary>
    public IDictionary<string, string?>? Environment { get; }

    public static string SiloDll => RepositoryPaths.ProjectOutput("OrleansGroups.Silo", "OrleansGroups.Silo");

    /// <summary>Starts a silo on free ports and waits for its "ready" line.</summary>
    /// <param name="connectionString">Azure Storage, or null for memory storage.</param>
    /// <param name="serviceId">The service id; a fresh one by default.</param>
    /// <param name="extraArgs">More silo options (e.g. <c>--tls-certificate</c>).</param>
    /// <param name="environment">Environment overrides, e.g. settings as OrleansGroups__* variables.</param>
    public static async Task<SiloProcess> StartAsync(string? connectionString, string? serviceId = null, string[]? extraArgs = null,
        IDictionary<string, string?>? environment = null)
    {
        var ports = FreePorts.Get(2);
        serviceId ??= $"it-{Guid.NewGuid():N}"[..16];
        string[] args =
        [
            "--storage", connectionString is null ? "memory" : "azure",
            "--silo-port", ports[0].ToString(), "--gateway-port", ports[1].ToString(),
            "--service-id", serviceId,
            .. connectionString is null ? Array.Empty<string>() : ["--connection-string", connectionString],
            .. extraArgs ?? [],
        ];
        var silo = new SiloProcess(ChildProcess.StartDotnet(SiloDll, args, environment), ports[0], ports[1], serviceId, args, environment);
        await silo.WaitReadyAsync();
        return silo;
    }

    /// <summary>SIGKILL: no graceful shutdown, no flush, exactly like a crashed machine.</summary>
    public Task KillAsync() => Process.KillAsync();

    /// <summary>Starts the same silo again (same ports, service and storage).</summary>
    public async Task RestartAsync()
    {
        await Process.DisposeAsync();
        Process = ChildProcess.StartDotnet(SiloDll, Arguments, Environment);
        await WaitReadyAsync();
    }

    /// <summary>Connects an Orleans client to this silo's gateway.</summary>
    /// <param name="responseTimeout">How long a call may wait for its response (default 30 s); crash tests use a few seconds.</param>
    /// <param name="tls">TLS settings for a silo started with <c>--tls-certificate</c>; null connects without TLS.</param>
    public async Task<IHost> ConnectAsync(TimeSpan? responseTimeout = null, ClientTlsOptions? tls = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(GatewayPort, ServiceId, "dev");
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = responseTimeout ?? TimeSpan.FromSeconds(30));
            if (tls is not null)
            {
                client.UseOrleansGroupsTls(tls);
            }
        });
        builder.Services.AddOrleansGroupsClient();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public async ValueTask DisposeAsync() => await Process.DisposeAsync();

    private async Task WaitReadyAsync()
    {
        try
        {
            await Process.WaitForOutputAsync("OrleansGroups silo ready", TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"The silo did not become ready:{System.Environment.NewLine}{Process.OutputText}", e);
        }
    }
}
