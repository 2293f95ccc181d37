using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting.Kubernetes;
using OrleansGroups.Hosting;

namespace OrleansGroups.Silo;

/// <summary>Builds and runs the silo from configuration, failing fast with one clear line when it cannot start.</summary>
internal static class SiloRunner
{
    /// <summary>How long the start-up storage check waits with a connection string (Azurite, development).</summary>
    private static readonly TimeSpan ConnectionStringProbeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>With managed identity the first call also fetches a token, which can take several seconds.</summary>
    private static readonly TimeSpan ManagedIdentityProbeTimeout = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(HostApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection("OrleansGroups");
        SiloSettings settings;
        SiloHostSettings hostSettings;
        try
        {
            settings = section.Get<SiloSettings>() ?? new SiloSettings();
            hostSettings = section.Get<SiloHostSettings>() ?? new SiloHostSettings();
        }
        catch (InvalidOperationException e)
        {
            return Fail($"invalid setting: {e.Message}");
        }

        // 1. On Kubernetes (POD_NAME set by the manifest), the pod decides the address and the ids.
        var podName = Environment.GetEnvironmentVariable(KubernetesHostingOptions.PodNameEnvironmentVariable);
        var kubernetes = !string.IsNullOrWhiteSpace(podName);
        if (kubernetes && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST")))
        {
            return Fail($"{KubernetesHostingOptions.PodNameEnvironmentVariable} is set, so the silo expects to run in a Kubernetes pod, " +
                "but KUBERNETES_SERVICE_HOST is not set. Unset POD_NAME outside Kubernetes.");
        }
        if (kubernetes && AdoptPodSettings(section, settings) is { } conflict)
        {
            return Fail(conflict);
        }

        // 2. Validate everything, then check that storage answers, before Orleans starts.
        var errors = settings.Validate().Concat(hostSettings.Validate()).ToList();
        if (errors.Count > 0)
        {
            return Fail(string.Join(" ", errors));
        }
        if (hostSettings.HealthPort is int healthPort and > 0 && !PortIsFree(healthPort))
        {
            return Fail($"the health endpoint cannot listen on port {healthPort}: it is in use. Choose another --health-port, or 0 to disable it.");
        }
        if (hostSettings.KafkaPort is int kafkaPort && !PortIsFree(kafkaPort))
        {
            return Fail($"the Kafka listener cannot listen on port {kafkaPort}: it is in use. Choose another --kafka-port.");
        }
        if (settings.Storage == StorageKind.Azure || settings.Clustering == ClusteringKind.Azure)
        {
            var identity = settings.UsesManagedIdentity;
            var problem = await settings.ProbeStorageAsync(identity ? ManagedIdentityProbeTimeout : ConnectionStringProbeTimeout);
            if (problem is not null)
            {
                return Fail(problem + (identity
                    ? ". Check the service URIs and that the managed identity (AZURE_CLIENT_ID) holds the Storage Blob and Table Data Contributor roles."
                    : ". Start Azurite (scripts/azurite.sh start), pass --connection-string, or use --storage memory."));
            }
        }

        // 3. The host: health endpoint first (it answers liveness while Orleans starts and outlives its shutdown),
        // then Orleans. SIGTERM and Ctrl+C stop the host, which stops the silo gracefully within the budget.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(hostSettings.ShutdownTimeoutSeconds));
        builder.Services.AddSingleton(hostSettings);
        builder.Services.AddSingleton(settings);
        var telemetry = builder.Services.AddSiloTelemetry(builder.Configuration, prometheus: hostSettings.EffectiveHealthPort != 0);
        builder.Services.AddSingleton<HealthEndpoint>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HealthEndpoint>());
        builder.UseOrleans(silo =>
        {
            settings.Apply(silo);
            if (kubernetes)
            {
                // Silo name = pod name, advertised address = pod IP, and a watch that evicts the silos of deleted pods.
                silo.UseKubernetesHosting();
            }
        });
        if (hostSettings.KafkaPort is int port)
        {
            // After UseOrleans: the listener starts once the silo runs and stops before it.
            builder.Services.AddKafkaListener(o =>
            {
                o.Port = port;
                o.AdvertisedHost = hostSettings.KafkaAdvertisedHost;
            });
        }
        using var host = builder.Build();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = new Stopwatch();
        lifetime.ApplicationStarted.Register(() => Console.Out.WriteLine(ReadyLine(host.Services, settings, kubernetes, telemetry)));
        lifetime.ApplicationStopping.Register(() =>
        {
            stopping.Start();
            Console.Out.WriteLine("OrleansGroups silo stopping: deactivating grains and leaving the cluster " +
                $"(at most {hostSettings.ShutdownTimeoutSeconds} s)");
        });
        try
        {
            await host.RunAsync();
            Console.Out.WriteLine(stopping.Elapsed < TimeSpan.FromSeconds(hostSettings.ShutdownTimeoutSeconds)
                ? $"OrleansGroups silo stopped gracefully in {stopping.Elapsed.TotalSeconds:0.0} s"
                : $"OrleansGroups silo stopped: draining took longer than the shutdown timeout ({hostSettings.ShutdownTimeoutSeconds} s) and was cut short");
            return 0;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or OrleansException or AggregateException
            or OperationCanceledException or k8s.Exceptions.KubeConfigException)
        {
            return Fail($"the silo stopped: {e.Message}");
        }
    }

    /// <summary>
    /// Kubernetes hosting sets the cluster and service ids from ORLEANS_CLUSTER_ID / ORLEANS_SERVICE_ID (the
    /// manifest fills them from the pod's orleans/* labels): adopt them so every part of the silo agrees, and refuse
    /// an explicit setting that says otherwise. The advertised address defaults to the pod IP.
    /// </summary>
    private static string? AdoptPodSettings(IConfigurationSection section, SiloSettings settings)
    {
        if (section["AdvertisedIp"] is null)
        {
            settings.AdvertisedIp = SiloSettings.AutoAdvertisedIp;
        }
        foreach (var (variable, key, apply) in new (string, string, Action<string>)[]
        {
            (KubernetesHostingOptions.ClusterIdEnvironmentVariable, "ClusterId", v => settings.ClusterId = v),
            (KubernetesHostingOptions.ServiceIdEnvironmentVariable, "ServiceId", v => settings.ServiceId = v),
        })
        {
            var fromPod = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrWhiteSpace(fromPod))
            {
                continue;
            }
            if (section[key] is { } configured && configured != fromPod)
            {
                return $"OrleansGroups {key} '{configured}' differs from {variable} '{fromPod}' (the pod's label): set only one.";
            }
            apply(fromPod);
        }
        return null;
    }

    private static string ReadyLine(IServiceProvider services, SiloSettings settings, bool kubernetes, IReadOnlyList<string> telemetry)
    {
        // The addresses the silo really uses: with an "auto" advertised address they are only known now.
        var details = services.GetRequiredService<ILocalSiloDetails>();
        var cluster = services.GetRequiredService<IOptions<ClusterOptions>>().Value;
        var gateway = details.GatewayAddress?.Endpoint.ToString() ?? "none";
        var health = services.GetRequiredService<HealthEndpoint>().ListeningPort is { } port
            ? port.ToString(System.Globalization.CultureInfo.InvariantCulture) : "off";
        return $"OrleansGroups silo ready: cluster '{cluster.ClusterId}', silo {details.SiloAddress.Endpoint}, " +
            $"gateway {gateway}, storage {settings.Storage.ToString().ToLowerInvariant()}, " +
            $"clustering {settings.Clustering.ToString().ToLowerInvariant()}, " +
            (settings.Storage == StorageKind.Azure || settings.Clustering == ClusteringKind.Azure
                ? $"credentials {(settings.UsesManagedIdentity ? "managed identity" : "connection string")}, " : "") +
            $"health port {health}{(kubernetes ? ", kubernetes hosting" : "")}" +
            (services.GetRequiredService<SiloHostSettings>().KafkaPort is { } kafka ? $", kafka port {kafka}" : "") +
            (settings.TlsCertificateDescription is { } tls ? $", tls {tls}" : "") +
            $", metrics {Sinks(telemetry, health != "off")}";
    }

    private static string Sinks(IReadOnlyList<string> telemetry, bool httpOn)
    {
        var sinks = telemetry.Where(s => httpOn || s != "prometheus").ToList();
        return sinks.Count > 0 ? string.Join(" + ", sinks) : "off";
    }

    private static bool PortIsFree(int port)
    {
        try
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Any, port));
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }
}
