using Orleans.Configuration;
using Orleans.Hosting;

namespace OrleansGroups.Client;

/// <summary>
/// How an Orleans client of OrleansGroups leaves a gateway that stopped answering (a silo that hangs: paused, swapping,
/// stuck in a long GC) for another one. Immutable; the defaults are in each property's remarks.
/// </summary>
/// <remarks>
/// A hung silo still completes TCP connections (the kernel accepts them into its backlog), so a client only learns it
/// is gone from timeouts. Orleans' own defaults make that slow: a connection attempt may take 5 s, a call 30 s, and the
/// list of gateways is read again once a minute. Worked example with the defaults below and the silos'
/// <c>--fast-membership</c> (a hung silo is declared dead about 9 s after it stops): a new client that first tries the
/// hung gateway gives up on it after 2 s and uses another; a call already waiting on the hung gateway fails after
/// 15 s and is retried by the producer or consumer; the dead silo leaves the client's gateway list at most 5 s after
/// it was declared dead.
/// </remarks>
public sealed record GatewayFailoverOptions
{
    /// <summary>Default of <see cref="GatewayListRefreshPeriod"/>: 5 s (Orleans: 1 min).</summary>
    public static readonly TimeSpan DefaultGatewayListRefreshPeriod = TimeSpan.FromSeconds(5);

    /// <summary>Default of <see cref="OpenConnectionTimeout"/>: 2 s (Orleans: 5 s).</summary>
    public static readonly TimeSpan DefaultOpenConnectionTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Default of <see cref="ResponseTimeout"/>: 15 s (Orleans: 30 s).</summary>
    public static readonly TimeSpan DefaultResponseTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often the client reads the list of live gateways (Orleans' <see cref="GatewayOptions.GatewayListRefreshPeriod"/>);
    /// also how long a gateway that failed a connection attempt is skipped.
    /// </summary>
    /// <remarks>
    /// Default 5 s. With Azure Table clustering every client reads the membership table this often; tuning rule: a
    /// few seconds up to a few hundred clients, longer beyond (one table query per client per period).
    /// </remarks>
    public TimeSpan GatewayListRefreshPeriod { get; init; } = DefaultGatewayListRefreshPeriod;

    /// <summary>How long opening a gateway connection (TCP and Orleans' handshake) may take (Orleans' <see cref="ConnectionOptions.OpenConnectionTimeout"/>).</summary>
    /// <remarks>Default 2 s: a handshake takes milliseconds within a region; raise it for a client far from its silos (TLS, other continents).</remarks>
    public TimeSpan OpenConnectionTimeout { get; init; } = DefaultOpenConnectionTimeout;

    /// <summary>How long a call waits for its answer before it fails with a (retriable) <see cref="TimeoutException"/> (Orleans' <see cref="MessagingOptions.ResponseTimeout"/>).</summary>
    /// <remarks>
    /// Default 15 s. Must stay above the longest wait a call asks for: a fetch's long poll (the silos clamp it to
    /// <c>Log.MaxFetchWait</c>, 10 s) and a slow storage append. Shorter means faster ride-through of a hung gateway.
    /// </remarks>
    public TimeSpan ResponseTimeout { get; init; } = DefaultResponseTimeout;

    /// <summary>Every setting that cannot work; empty when the options are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (GatewayListRefreshPeriod <= TimeSpan.Zero)
        {
            errors.Add($"GatewayListRefreshPeriod is {GatewayListRefreshPeriod}; it must be positive (default {DefaultGatewayListRefreshPeriod.TotalSeconds:0} s).");
        }
        if (OpenConnectionTimeout <= TimeSpan.Zero)
        {
            errors.Add($"OpenConnectionTimeout is {OpenConnectionTimeout}; it must be positive (default {DefaultOpenConnectionTimeout.TotalSeconds:0} s).");
        }
        if (ResponseTimeout <= TimeSpan.Zero)
        {
            errors.Add($"ResponseTimeout is {ResponseTimeout}; it must be positive (default {DefaultResponseTimeout.TotalSeconds:0} s).");
        }
        return errors;
    }
}

/// <summary>Gateway failover for Orleans clients of OrleansGroups.</summary>
public static class OrleansGroupsGatewayFailoverExtensions
{
    /// <summary>
    /// Sets the client's gateway list refresh, connection open timeout and response timeout so that it reaches the
    /// cluster through another gateway within seconds while one silo hangs (see <see cref="GatewayFailoverOptions"/>).
    /// <see cref="OrleansGroupsClientExtensions.AddOrleansGroupsClient(IClientBuilder)"/> applies the defaults; options
    /// configured after it win. Throws <see cref="ArgumentException"/> listing every unusable setting.
    /// </summary>
    public static IClientBuilder UseOrleansGroupsGatewayFailover(this IClientBuilder builder, GatewayFailoverOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        options ??= new GatewayFailoverOptions();
        if (options.Validate() is { Count: > 0 } errors)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }
        builder.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = options.GatewayListRefreshPeriod);
        builder.Configure<ConnectionOptions>(o => o.OpenConnectionTimeout = options.OpenConnectionTimeout);
        builder.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = options.ResponseTimeout);
        return builder;
    }
}
