using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime;

namespace OrleansGroups.Kafka.Internal;

/// <summary>
/// A minimal Kestrel server (connection middleware only, no HTTP) on the Kafka port. Each connection runs a
/// <see cref="KafkaConnection"/>; a connection that breaks the protocol is closed alone.
/// </summary>
internal sealed class KafkaListener(
    IOptions<KafkaListenerOptions> options,
    KafkaRequestHandler handler,
    ILocalSiloDetails silo,
    IOptions<ClusterOptions> cluster,
    ILogger<KafkaListener> logger) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var endpoint = silo.SiloAddress.Endpoint;
        var broker = new BrokerIdentity(
            BrokerIdentity.NodeIdFor(endpoint),
            string.IsNullOrWhiteSpace(o.AdvertisedHost) ? endpoint.Address.ToString() : o.AdvertisedHost,
            o.Port,
            cluster.Value.ServiceId);
        handler.Broker = broker;

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        // A frame is consumed only once whole: the transport must buffer the largest frame allowed, not its 1 MiB default.
        builder.WebHost.UseSockets(s => s.MaxReadBufferSize = o.MaxFrameBytes + 4L);
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBufferSize = o.MaxFrameBytes + 4L;
            k.Listen(IPAddress.Any, o.Port, listen =>
                listen.Run(connection => new KafkaConnection(connection, handler, o.MaxFrameBytes, logger).RunAsync()));
        });
        var app = builder.Build();
        await app.StartAsync(cancellationToken);
        _app = app;
        Log.Listening(logger, o.Port, broker.NodeId, broker.Host);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            await app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            await app.DisposeAsync();
        }
    }
}
