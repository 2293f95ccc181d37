using Microsoft.Extensions.DependencyInjection;
using OrleansGroups.Kafka;
using OrleansGroups.Kafka.Internal;

namespace Orleans.Hosting;

/// <summary>Adds the Kafka wire-protocol listener to a silo.</summary>
public static class KafkaHostingExtensions
{
    /// <summary>
    /// Serves Kafka clients on <see cref="KafkaListenerOptions.Port"/>: their requests reach the same grains the Orleans
    /// client calls. Call it after <c>UseOrleans</c> so the listener starts once the silo runs and stops before it.
    /// </summary>
    /// <param name="services">The silo host's services.</param>
    /// <param name="configure">Sets the port and, in containers, the advertised host.</param>
    /// <returns>The same services.</returns>
    public static IServiceCollection AddKafkaListener(this IServiceCollection services, Action<KafkaListenerOptions> configure)
    {
        services.AddOptions<KafkaListenerOptions>().Configure(configure).Validate(
            o => o.Port is > 0 and <= 65535 && o.MaxFrameBytes >= 1024,
            "Kafka listener: Port must be 1-65535 and MaxFrameBytes at least 1024.");
        services.AddSingleton<KafkaRequestHandler>();
        services.AddSingleton<KafkaListener>();
        services.AddHostedService(sp => sp.GetRequiredService<KafkaListener>());
        return services;
    }
}
