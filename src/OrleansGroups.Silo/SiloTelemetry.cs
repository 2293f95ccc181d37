using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using OrleansGroups.Client.Diagnostics;
using OrleansGroups.Diagnostics;

namespace OrleansGroups.Silo;

/// <summary>
/// OpenTelemetry metrics of the silo: the library's meter (<see cref="OrleansGroupsMetrics.MeterName"/>) and Orleans'
/// own ("Microsoft.Orleans"), exported to every sink that is configured:
/// <list type="bullet">
/// <item>Prometheus: <c>GET /metrics</c> on the health port (whenever that port is on);</item>
/// <item>OTLP: when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter reads the standard OTEL_* variables);</item>
/// <item>Azure Monitor: when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set.</item>
/// </list>
/// Traces of the library's activity source (<see cref="OrleansGroupsTracing.SourceName"/>: the <c>process</c> spans of
/// grain members and the <c>send</c>/<c>receive</c> spans of clients inside the silo) go to OTLP and Azure Monitor when
/// they are configured. With neither, no tracer listens, so no span is built and no trace header is written.
/// </summary>
internal static class SiloTelemetry
{
    /// <summary>Orleans' meter: grain calls, activations, messaging, membership.</summary>
    public const string OrleansMeterName = "Microsoft.Orleans";

    /// <summary>The standard variable of the Application Insights connection string.</summary>
    public const string ApplicationInsightsVariable = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>The standard variable of the OTLP endpoint.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Registers the meter provider; returns the sinks in use, for the ready line.</summary>
    public static IReadOnlyList<string> AddSiloTelemetry(this IServiceCollection services, IConfiguration configuration, bool prometheus)
    {
        var sinks = new List<string>();
        var otlp = !string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]);
        var applicationInsights = configuration[ApplicationInsightsVariable];
        var builder = services.AddOpenTelemetry();
        builder
            // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES still apply on top of this default.
            .ConfigureResource(resource => resource.AddService("orleansgroups-silo"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(OrleansGroupsMetrics.MeterName, OrleansMeterName);
                if (prometheus)
                {
                    // No response cache: a scrape sees the values of that moment (scrapes are seconds apart anyway).
                    metrics.AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                    sinks.Add("prometheus");
                }
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                    sinks.Add("otlp");
                }
                if (!string.IsNullOrWhiteSpace(applicationInsights))
                {
                    metrics.AddAzureMonitorMetricExporter(o => o.ConnectionString = applicationInsights);
                    sinks.Add("azure monitor");
                }
            });
        if (otlp || !string.IsNullOrWhiteSpace(applicationInsights))
        {
            builder.WithTracing(tracing =>
            {
                tracing.AddSource(OrleansGroupsTracing.SourceName);
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
                if (!string.IsNullOrWhiteSpace(applicationInsights))
                {
                    tracing.AddAzureMonitorTraceExporter(o => o.ConnectionString = applicationInsights);
                }
            });
        }
        return sinks;
    }
}
