using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace OrleansGroups.Silo;

/// <summary>
/// The silo's HTTP probe endpoint for orchestrators (Kubernetes, Azure Container Apps, Docker):
/// <c>GET /healthz</c> (liveness) answers 200 while the process runs; <c>GET /readyz</c> (readiness) answers 200
/// once the silo has joined the cluster and 503 before that and from the moment shutdown starts, so traffic moves
/// away from a draining silo before it leaves.
/// </summary>
/// <remarks>
/// A separate, minimal Kestrel server (no routing, no logging, no configuration sources) on its own port, so the
/// silo host keeps its plain generic-host setup. Registered before Orleans: it answers liveness while the silo
/// starts (a slow storage start is not a dead process) and, since hosted services stop in reverse order, it stops
/// only after Orleans has shut down.
/// </remarks>
internal sealed class HealthEndpoint(SiloHostSettings settings, IHostApplicationLifetime lifetime, MeterProvider meterProvider, ILogger<HealthEndpoint> logger)
    : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;
    private volatile string _state = "starting";

    /// <summary>The port the endpoint listens on; null when disabled or when the default port was taken.</summary>
    public int? ListeningPort { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => _state = "ready");
        lifetime.ApplicationStopping.Register(() => _state = "stopping");
        var port = settings.EffectiveHealthPort;
        if (port == 0)
        {
            return;
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(o => o.Listen(IPAddress.Any, port));
        var app = builder.Build();
        // GET /metrics: Prometheus text exposition of the silo host's meter provider (SiloTelemetry).
        app.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider, predicate: null, path: "/metrics", configureBranchedPipeline: null, optionsName: null);
        app.Run(HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken);
            _app = app;
            ListeningPort = port;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            await app.DisposeAsync();
            if (settings.HealthPort is not null)
            {
                // Asked for explicitly: a silo whose probes cannot answer would be restarted forever; say why now.
                throw new IOException($"the health endpoint cannot listen on port {port} ({e.Message}); choose another --health-port, or 0 to disable it", e);
            }

            // The default port is taken (e.g. several silos on one machine): run without probes rather than not at all.
            Log.HealthPortUnavailable(logger, port);
        }
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

    private Task HandleAsync(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "text/plain; charset=utf-8";
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return Task.CompletedTask;
        }

        var state = _state;
        (response.StatusCode, var body) = context.Request.Path.Value switch
        {
            "/healthz" => (StatusCodes.Status200OK, "alive"),
            "/readyz" => (state == "ready" ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, state),
            _ => (StatusCodes.Status404NotFound, "not found: GET /healthz, /readyz or /metrics"),
        };
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.WriteAsync(body + "\n");
    }
}
