using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OrleansGroups.Client.Internal;

namespace OrleansGroups.Client;

/// <summary>Entry point of the client library: producers, consumers and admin over one Orleans client.</summary>
public sealed class OrleansGroupsClient(IGrainFactory grains)
{
    private readonly TopicMetadataCache _metadata = new(grains);

    /// <summary>Topic and group administration.</summary>
    public AdminClient Admin { get; } = new(grains);

    /// <summary>Creates a producer (share it: it batches across callers).</summary>
    public Producer CreateProducer(ProducerOptions? options = null) => new(grains, options ?? new ProducerOptions(), _metadata);

    /// <summary>Creates a consumer of a group.</summary>
    public Consumer CreateConsumer(ConsumerOptions options) => new(grains, options);
}

/// <summary>Registers the OrleansGroups client.</summary>
public static class OrleansGroupsClientExtensions
{
    /// <summary>
    /// Adds <see cref="OrleansGroupsClient"/>, <see cref="IAdminClient"/> and <see cref="AdminClient"/> to an Orleans client, with
    /// the default <see cref="GatewayFailoverOptions"/> (a hung gateway is left for another within seconds); Orleans options
    /// configured after this call win.
    /// </summary>
    public static IClientBuilder AddOrleansGroupsClient(this IClientBuilder builder)
    {
        builder.UseOrleansGroupsGatewayFailover();
        builder.Services.AddOrleansGroupsClient();
        return builder;
    }

    /// <summary>
    /// Adds <see cref="OrleansGroupsClient"/>, <see cref="IAdminClient"/> and <see cref="AdminClient"/> (one instance) to a
    /// service collection with an Orleans client or silo. Producers and consumers come from
    /// <see cref="OrleansGroupsClient.CreateProducer"/> and <see cref="OrleansGroupsClient.CreateConsumer"/>, since each has its own options.
    /// </summary>
    public static IServiceCollection AddOrleansGroupsClient(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new OrleansGroupsClient(sp.GetRequiredService<IGrainFactory>()));
        services.TryAddSingleton(sp => sp.GetRequiredService<OrleansGroupsClient>().Admin);
        services.TryAddSingleton<IAdminClient>(sp => sp.GetRequiredService<AdminClient>());
        return services;
    }
}
