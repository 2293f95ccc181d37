using Microsoft.Extensions.Logging;

namespace OrleansGroups.Silo;

/// <summary>The silo host's log messages.</summary>
internal static partial class Log
{
    // Worded without "ready" or "in use" on purpose: scripts and tests wait for the silo's ready line by substring.
    [LoggerMessage(1, LogLevel.Warning, "Health endpoint disabled: another process holds the default port {Port}. Pass --health-port to choose a port, or 0 to turn the endpoint off.")]
    public static partial void HealthPortUnavailable(ILogger logger, int port);
}
