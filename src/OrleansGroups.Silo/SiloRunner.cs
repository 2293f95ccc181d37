using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OrleansGroups.Hosting;

namespace OrleansGroups.Silo;

/// <summary>Builds and runs the silo from configuration, failing fast with one clear line when it cannot start.</summary>
internal static class SiloRunner
{
    public static async Task<int> RunAsync(HostApplicationBuilder builder)
    {
        SiloSettings settings;
        try
        {
            settings = builder.Configuration.GetSection("OrleansGroups").Get<SiloSettings>() ?? new SiloSettings();
        }
        catch (InvalidOperationException e)
        {
            return Fail($"invalid setting: {e.Message}");
        }
        var errors = settings.Validate();
        if (errors.Count > 0)
        {
            return Fail(string.Join(" ", errors));
        }
        if (settings.Storage == StorageKind.Azure || settings.Clustering == ClusteringKind.Azure)
        {
            var problem = await StorageProbe.CheckAsync(settings.EffectiveOptions().Azure, TimeSpan.FromSeconds(5));
            if (problem is not null)
            {
                return Fail($"{problem}. Start Azurite (scripts/azurite.sh start), pass --connection-string, or use --storage memory.");
            }
        }

        builder.UseOrleans(settings.Apply);
        using var host = builder.Build();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStarted.Register(() => Console.Out.WriteLine(
            $"OrleansGroups silo ready: cluster '{settings.ClusterId}', silo {settings.AdvertisedIp}:{settings.SiloPort}, " +
            $"gateway {settings.GatewayEndpoint}, storage {settings.Storage.ToString().ToLowerInvariant()}, " +
            $"clustering {settings.Clustering.ToString().ToLowerInvariant()}"));
        try
        {
            await host.RunAsync();
            return 0;
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or OrleansException)
        {
            return Fail($"the silo stopped: {e.Message}");
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 1;
    }
}
