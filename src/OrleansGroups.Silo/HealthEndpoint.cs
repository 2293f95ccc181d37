using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OrleansGroups.Hosting;
using OpenTelemetry.Metrics;

namespace OrleansGroups.Silo;

/// <summary>
/// The silo's HTTP endpoint for orchestrators and monitoring, built on ASP.NET Core health checks:
/// <c>GET /healthz</c> (liveness, checks tagged <c>live</c>) answers 200 "alive" while the process runs;
/// <c>GET /readyz</c> (readiness, checks tagged <c>ready</c>) answers 200 "ready" once the silo has joined the cluster and
/// 503 "starting" before that and 503 "stopping" from the moment shutdown starts, so traffic moves away from a draining
/// silo before it leaves; a storage problem shows as "ready (degraded: storage: ...)" (see <see cref="StorageHealthCheck"/>).
/// <c>GET /metrics</c> is the Prometheus exposition of <see cref="SiloTelemetry"/>.
/// </summary>
/// <remarks>
/// A separate, minimal Kestrel server (routing and health checks only, no logging, no configuration sources) on its own
/// port, so the silo host keeps its plain generic-host setup. Registered before Orleans: it answers liveness while the
/// silo starts (a slow storage start is not a dead process) and, since hosted services stop in reverse order, it stops
/// only after Orleans has shut down.
/// </remarks>
internal sealed class HealthEndpoint(
    SiloHostSettings settings, SiloSettings siloSettings, IHostApplicationLifetime lifetime, MeterProvider meterProvider, ILogger<HealthEndpoint> logger)
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
        builder.Services.AddRouting();
        builder.Services.AddHealthChecks()
            .Add(new HealthCheckRegistration("process", new ProcessAliveCheck(), HealthStatus.Unhealthy, [SiloHealthChecks.Live]))
            .Add(new HealthCheckRegistration("silo", new SiloLifecycleCheck(() => _state), HealthStatus.Unhealthy, [SiloHealthChecks.Ready]))
            .Add(new HealthCheckRegistration("storage", new StorageHealthCheck(siloSettings, TimeProvider.System), HealthStatus.Degraded, [SiloHealthChecks.Ready]));
        var app = builder.Build();
        app.UseRouting();
        // GET /metrics: Prometheus text exposition of the silo host's meter provider (SiloTelemetry).
        app.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider, predicate: null, path: "/metrics", configureBranchedPipeline: null, optionsName: null);
        MapProbe(app, "/healthz", SiloHealthChecks.Live);
        MapProbe(app, "/readyz", SiloHealthChecks.Ready);
        app.MapFallback(NotFoundAsync);
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

    /// <summary>GET and HEAD of <paramref name="path"/> run the checks tagged <paramref name="tag"/>: 200 when healthy or degraded, else 503.</summary>
    private static void MapProbe(WebApplication app, string path, string tag) =>
        app.MapHealthChecks(path, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(tag),
            ResponseWriter = SiloHealthChecks.WritePlainAsync,
            AllowCachingResponses = false,
        }).WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]));

    private static Task NotFoundAsync(HttpContext context)
    {
        var response = context.Response;
        response.ContentType = "text/plain; charset=utf-8";
        var known = HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method);
        response.StatusCode = known ? StatusCodes.Status404NotFound : StatusCodes.Status405MethodNotAllowed;
        return known && HttpMethods.IsGet(context.Request.Method)
            ? response.WriteAsync("not found: GET /healthz, /readyz or /metrics\n")
            : Task.CompletedTask;
    }
}
