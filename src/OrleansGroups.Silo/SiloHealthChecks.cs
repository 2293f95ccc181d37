using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OrleansGroups.Hosting;

namespace OrleansGroups.Silo;

/// <summary>The health checks behind <c>/healthz</c> (tag <see cref="Live"/>) and <c>/readyz</c> (tag <see cref="Ready"/>).</summary>
internal static class SiloHealthChecks
{
    /// <summary>Tag of the liveness checks: is the process able to answer at all.</summary>
    public const string Live = "live";

    /// <summary>Tag of the readiness checks: should traffic come to this silo.</summary>
    public const string Ready = "ready";

    /// <summary>
    /// Writes the one-word bodies probes and scripts read: "alive", "ready", else the first unhealthy check's
    /// description ("starting", "stopping"); a degraded check (storage) is named after the word, the status stays 200.
    /// </summary>
    public static Task WritePlainAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        var failing = report.Entries.Values.FirstOrDefault(e => e.Status == HealthStatus.Unhealthy);
        var body = report.Status switch
        {
            HealthStatus.Unhealthy => failing.Description ?? "unhealthy",
            _ when report.Entries.Values.All(e => e.Tags.Contains(Live)) => "alive",
            HealthStatus.Healthy => "ready",
            _ => "ready (degraded: " + string.Join("; ", report.Entries.Where(e => e.Value.Status == HealthStatus.Degraded)
                .Select(e => $"{e.Key}: {e.Value.Description}")) + ")",
        };
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.WriteAsync(body + "\n");
    }
}

/// <summary>Liveness: the process runs and its HTTP server answers. Nothing else: a slow start is not a dead process.</summary>
internal sealed class ProcessAliveCheck : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy("alive"));
}

/// <summary>
/// Readiness of the silo itself: healthy once the host started (Orleans joined the cluster), unhealthy before that
/// ("starting") and from the moment shutdown begins ("stopping"), so traffic moves away before the silo leaves.
/// </summary>
internal sealed class SiloLifecycleCheck(Func<string> state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = state();
        return Task.FromResult(now == "ready" ? HealthCheckResult.Healthy(now) : HealthCheckResult.Unhealthy(now));
    }
}

/// <summary>
/// Readiness detail: does Azure Storage answer (the same probe the silo runs before it starts). A failure reports the
/// silo <see cref="HealthStatus.Degraded"/>, which keeps <c>/readyz</c> at 200 and names the problem in the body.
/// </summary>
/// <remarks>
/// Not unhealthy on purpose: every silo shares the storage account, so an outage would mark every silo unready at once
/// and the orchestrator would take the whole service out of rotation, turning a storage blip (which grains already
/// answer with a retriable StorageUnavailable, see the outage tests) into a full outage. Results are cached for
/// <see cref="CacheFor"/> so frequent probes cost at most one storage request per window.
/// </remarks>
internal sealed class StorageHealthCheck(SiloSettings settings, TimeProvider time) : IHealthCheck
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (DateTimeOffset At, HealthCheckResult Result)? _last;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (settings.Storage != StorageKind.Azure && settings.Clustering != ClusteringKind.Azure)
        {
            return HealthCheckResult.Healthy("memory");
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_last is { } last && time.GetUtcNow() - last.At < CacheFor)
            {
                return last.Result;
            }
            var problem = await settings.ProbeStorageAsync(ProbeTimeout);
            var result = problem is null ? HealthCheckResult.Healthy("azure storage answers") : HealthCheckResult.Degraded(problem);
            _last = (time.GetUtcNow(), result);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }
}
