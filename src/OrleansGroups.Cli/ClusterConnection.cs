using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;
using OrleansGroups.Client;
using OrleansGroups.Client.Internal;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Security;

namespace OrleansGroups.Cli;

/// <summary>Process exit codes of og; documented in the root command's help.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int ClusterUnreachable = 3;
    public const int Interrupted = 130;
}

/// <summary>A failure with a user-ready message (bad argument value, a demo step that never happened...); one "error:" line, exit code 1.</summary>
internal sealed class CliException(string message) : Exception(message);

/// <summary>
/// The connection options every cluster command takes (<c>--gateway</c>, or <c>--clustering azure</c> with a
/// connection string) and the Orleans client built from them.
/// </summary>
internal sealed class ClusterConnection : IAsyncDisposable
{
    public const string DefaultGateway = "127.0.0.1:30000";

    // How a connection leaves a hung gateway (a paused silo still accepts TCP connections, so only timeouts tell):
    // a connection attempt gives up after 2 s, a call after 10 s (og's longest legitimate call is a 500 ms fetch poll or
    // a storage append), and the gateway list is read every 5 s. Start-up asks one gateway for the cluster's type
    // manifest; if that is the hung one, the ask fails within OpenConnectionTimeout + ResponseTimeout and Orleans tries
    // the next gateway after TypeMapRefreshInterval (capped at 5 s): 2 + 10 + 1 = 13 s at worst, under ConnectTimeout.
    private static readonly GatewayFailoverOptions Failover = new() { ResponseTimeout = TimeSpan.FromSeconds(10) };
    private static readonly TimeSpan ManifestRetryDelay = TimeSpan.FromSeconds(1);

    // How long a command's first call rides out a cluster in transition (a dead or hung silo is noticed in seconds).
    private static readonly TimeSpan TransitionRetryWindow = TimeSpan.FromSeconds(20);

    // Short enough that a script learns "no cluster" quickly, long enough to get past one hung gateway (above).
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    public static readonly Option<string> Gateway = new("--gateway")
    {
        Description = "Silo gateway HOST:PORT (static clustering)",
        DefaultValueFactory = _ => DefaultGateway,
    };

    public static readonly Option<string> Clustering = new Option<string>("--clustering")
    {
        Description = "How to find the cluster: static (--gateway) or azure (gateways listed in an Azure Storage table)",
        DefaultValueFactory = _ => "static",
    }.AcceptOnlyFromAmong("static", "azure");

    public static readonly Option<string?> ConnectionString = new("--connection-string")
    {
        Description = "Azure Storage connection string of the clustering table (with --clustering azure)",
    };

    public static readonly Option<string> ClusterId = new("--cluster-id")
    {
        Description = "Cluster id; must match the silos'",
        DefaultValueFactory = _ => "dev",
    };

    public static readonly Option<string> ServiceId = new("--service-id")
    {
        Description = "Service id; must match the silos'",
        DefaultValueFactory = _ => "orleansgroups",
    };

    public static readonly Option<bool> Tls = new("--tls")
    {
        Description = "Connect over TLS, trusting the silo certificate through this machine's trust store and the --gateway host name",
    };

    public static readonly Option<FileInfo?> TlsCa = new("--tls-ca")
    {
        Description = "Connect over TLS, trusting only a silo certificate that is, or is issued by, a certificate in this PEM or DER file " +
            "(the silo's self-signed certificate or its CA; never the PFX); implies --tls",
    };

    public static readonly Option<bool> TlsAllowUntrusted = new("--tls-allow-untrusted")
    {
        Description = "Connect over TLS, accepting any silo certificate: encrypted but not authenticated, for development only; implies --tls",
    };

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Show Orleans' own warnings and errors on stderr",
    };

    private readonly IHost _host;

    private ClusterConnection(IHost host, string target)
    {
        _host = host;
        Target = target;
        Client = new OrleansGroupsClient(host.Services.GetRequiredService<IGrainFactory>());
    }

    /// <summary>What we connected to, for messages: "the cluster at 127.0.0.1:30000" or "cluster 'dev' through Azure Table clustering".</summary>
    public string Target { get; }

    public OrleansGroupsClient Client { get; }

    /// <summary>
    /// The topic, asked again for a while when the cluster is in transition: right after a silo died or while one hangs,
    /// the topic's grains may still be registered on it (a call fails or times out until the cluster declares it dead,
    /// within seconds). An unknown topic, or a cluster that stays unreachable, fails.
    /// </summary>
    public async Task<TopicDetails> DescribeTopicAsync(string topic, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + TransitionRetryWindow;
        while (true)
        {
            try
            {
                return await Client.Admin.DescribeTopicAsync(topic);
            }
            catch (Exception e) when (TransientFailures.Is(e) && DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }
        }
    }

    /// <summary>Adds the connection options to a command.</summary>
    public static void AddOptionsTo(Command command)
    {
        command.Options.Add(Gateway);
        command.Options.Add(Clustering);
        command.Options.Add(ConnectionString);
        command.Options.Add(ClusterId);
        command.Options.Add(ServiceId);
        command.Options.Add(Tls);
        command.Options.Add(TlsCa);
        command.Options.Add(TlsAllowUntrusted);
        command.Options.Add(Verbose);
    }

    /// <summary>
    /// Connects, runs <paramref name="body"/> and turns every failure into one "error:" line on stderr and an exit code,
    /// so no command ever prints a stack trace.
    /// </summary>
    public static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken,
        Func<ClusterConnection, CancellationToken, Task<int>> body)
    {
        ClusterConnection? connection = null;
        var target = DescribeTarget(parse);
        try
        {
            connection = await ConnectAsync(parse, cancellationToken);
            return await body(connection, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Interrupted;
        }
        catch (Exception e)
        {
            var (message, code) = Explain(e, target, connected: connection is not null);
            Console.Error.WriteLine($"error: {message}");
            return code;
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>One line and an exit code for any failure; only the message of errors we know, never a stack trace.</summary>
    public static (string Message, int ExitCode) Explain(Exception error, string target, bool connected)
    {
        if (error is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            error = aggregate.InnerExceptions[0];
        }
        return error switch
        {
            OrleansGroupsException e => (e.Message, ExitCodes.Failed),
            CliException e => (e.Message, ExitCodes.Failed),
            ClusterUnreachableException e => (e.Message, ExitCodes.ClusterUnreachable),
            SiloUnavailableException or ConnectionFailedException or OrleansMessageRejectionException or TimeoutException
                or SocketException when connected =>
                ($"lost the connection to {target} (did the silo stop? --verbose shows the client's log)", ExitCodes.ClusterUnreachable),
            _ => ($"{FirstLine(error.Message)} ({error.GetType().Name})", ExitCodes.Failed),
        };
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // Bounded: a client whose gateway vanished must not keep a finished command waiting.
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _host.StopAsync(stop.Token);
        }
        catch (Exception)
        {
            // Nothing useful to report once the command's own work is done.
        }
        _host.Dispose();
    }

    private static async Task<ClusterConnection> ConnectAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var clusterId = parse.GetValue(ClusterId)!;
        var serviceId = parse.GetValue(ServiceId)!;
        var azure = parse.GetValue(Clustering) == "azure";
        var target = DescribeTarget(parse);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });
        ConfigureLogging(builder.Logging, parse.GetValue(Verbose));
        // Ctrl+C belongs to the command (consume leaves its group cleanly), not to the host.
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();

        Action<IClientBuilder> clustering;
        string? gatewayHost = null;
        if (azure)
        {
            var connectionString = parse.GetValue(ConnectionString);
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new CliException("--clustering azure needs --connection-string (the storage account holding the cluster table).");
            }
            TableServiceClient tables;
            try
            {
                tables = new TableServiceClient(connectionString);
            }
            catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
            {
                throw new CliException($"--connection-string is not a valid Azure Storage connection string: {FirstLine(e.Message)}");
            }
            clustering = client => client.UseAzureStorageClustering(o => o.TableServiceClient = tables);
        }
        else
        {
            var gateway = parse.GetValue(Gateway)!;
            var endpoint = await ParseGatewayAsync(gateway, cancellationToken);
            gatewayHost = gateway[..gateway.LastIndexOf(':')].Trim('[', ']');
            clustering = client => client.UseStaticClustering(endpoint);
        }

        var retry = new ConnectRetry();
        var tls = TlsFrom(parse, gatewayHost, retry);
        builder.UseOrleansClient(client =>
        {
            clustering(client);
            client.UseConnectionRetryFilter(retry.ShouldRetryAsync);
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            client.UseOrleansGroupsGatewayFailover(Failover);
            // A short-lived process: polling the manifest every second costs little, and a failed first ask retries soon.
            client.Configure<TypeManagementOptions>(o => o.TypeMapRefreshInterval = ManifestRetryDelay);
            if (tls is not null)
            {
                client.UseOrleansGroupsTls(tls);
            }
        });

        var host = builder.Build();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ConnectTimeout);
        try
        {
            // WaitAsync as well as the token: a client stuck inside a storage call may not observe cancellation.
            await host.StartAsync(deadline.Token).WaitAsync(ConnectTimeout + TimeSpan.FromSeconds(2), cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            host.Dispose();
            var hint = azure
                ? "is a silo running with --clustering azure and the same --cluster-id and --service-id?"
                : "is a silo running? Start one or pass --gateway HOST:PORT";
            var message = retry.Failure switch
            {
                _ when retry.TlsRejection is { } rejection => $"cannot reach {target}: the silo's TLS {rejection}; " +
                    "pass --tls-ca with the silo's certificate or its CA (--tls-allow-untrusted only for development)",
                ConnectFailure.Refused => $"cannot reach {target} ({hint}): connection refused",
                ConnectFailure.ClosedByGateway when tls is not null => $"cannot reach {target}: the TLS handshake failed " +
                    "(does the silo use TLS, i.e. was it started with --tls-certificate?)",
                ConnectFailure.ClosedByGateway => $"cannot reach {target}: the gateway closed the connection " +
                    $"during the handshake (does --cluster-id '{clusterId}' match the silo's cluster id? " +
                    "Does the silo require TLS? Then pass --tls-ca)",
                _ when e is OperationCanceledException or TimeoutException || retry.Failure is not null =>
                    $"cannot reach {target} ({hint}): no answer within {ConnectTimeout.TotalSeconds:0} s",
                _ => $"cannot reach {target} ({hint}): {FirstLine(e.Message)}",
            };
            throw new ClusterUnreachableException(message);
        }
        return new ClusterConnection(host, target);
    }

    /// <summary>The TLS settings the options ask for, or null for a plain connection.</summary>
    private static ClientTlsOptions? TlsFrom(ParseResult parse, string? gatewayHost, ConnectRetry retry)
    {
        var ca = parse.GetValue(TlsCa);
        var allowUntrusted = parse.GetValue(TlsAllowUntrusted);
        if (ca is not null && allowUntrusted)
        {
            throw new CliException("--tls-ca and --tls-allow-untrusted contradict each other: pin the silo's certificate, or (development only) trust any.");
        }
        if (ca is null && !allowUntrusted && !parse.GetValue(Tls))
        {
            return null;
        }
        if (ca is null && !allowUntrusted && gatewayHost is null)
        {
            throw new CliException("--tls with --clustering azure needs --tls-ca: gateways are found by IP address, which the machine's trust store cannot check.");
        }
        X509Certificate2Collection trusted = [];
        if (ca is not null)
        {
            try
            {
                trusted = CertificateTrust.LoadTrusted(ca.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                throw new CliException($"--tls-ca: {FirstLine(e.Message)}");
            }
        }
        return new ClientTlsOptions
        {
            TrustedCertificates = trusted,
            AllowUntrustedCertificates = allowUntrusted,
            TargetHost = gatewayHost,
            OnRejected = reason => retry.TlsRejection = reason,
        };
    }

    private static string DescribeTarget(ParseResult parse) =>
        parse.GetValue(Clustering) == "azure"
            ? $"cluster '{parse.GetValue(ClusterId)}' through Azure Table clustering"
            : $"the cluster at {parse.GetValue(Gateway) ?? DefaultGateway}";

    private static async Task<IPEndPoint> ParseGatewayAsync(string gateway, CancellationToken cancellationToken)
    {
        var colon = gateway.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(gateway[(colon + 1)..], out var port) || port is < 1 or > 65535)
        {
            throw new CliException($"--gateway '{gateway}' is not HOST:PORT (for example {DefaultGateway}).");
        }
        var host = gateway[..colon].Trim('[', ']');
        if (IPAddress.TryParse(host, out var address))
        {
            return new IPEndPoint(address, port);
        }
        try
        {
            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
            var chosen = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                ?? throw new CliException($"--gateway host '{host}' has no address.");
            return new IPEndPoint(chosen, port);
        }
        catch (SocketException e)
        {
            throw new CliException($"--gateway host '{host}' cannot be resolved: {e.Message}");
        }
    }

    /// <summary>stdout carries only command output; Orleans' own logs go to stderr, and only when asked for.</summary>
    public static void ConfigureLogging(ILoggingBuilder logging, bool verbose)
    {
        logging.ClearProviders();
        if (verbose)
        {
            logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            logging.SetMinimumLevel(LogLevel.Warning);
        }
        else
        {
            logging.SetMinimumLevel(LogLevel.None);
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] + "..." : line;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        return e;
    }

    private enum ConnectFailure
    {
        Other,
        /// <summary>Nothing listens at the gateway address.</summary>
        Refused,
        /// <summary>Something listens but hangs up during the handshake: an Orleans gateway of another cluster id.</summary>
        ClosedByGateway,
    }

    /// <summary>
    /// Retries the first connection briefly: for 2 s when the failure is definite (refused, or closed by the gateway),
    /// in case a silo is still starting; otherwise until the connect deadline cuts it off. Keeps the kind of failure.
    /// </summary>
    private sealed class ConnectRetry
    {
        private static readonly TimeSpan DefiniteFailureRetryWindow = TimeSpan.FromSeconds(2);
        private readonly System.Diagnostics.Stopwatch _elapsed = System.Diagnostics.Stopwatch.StartNew();

        public ConnectFailure? Failure { get; private set; }

        /// <summary>Why the silo's TLS certificate was refused, if it was (the TLS layer only closes the connection).</summary>
        public string? TlsRejection { get; set; }

        public async Task<bool> ShouldRetryAsync(Exception failure, CancellationToken cancellationToken)
        {
            Failure = Classify(failure);
            if (TlsRejection is not null)
            {
                return false; // definite: retrying meets the same certificate
            }
            var window = Failure == ConnectFailure.Other ? ConnectTimeout : DefiniteFailureRetryWindow;
            if (_elapsed.Elapsed > window)
            {
                return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            return true;
        }

        private static ConnectFailure Classify(Exception failure)
        {
            var inner = Innermost(failure);
            if (inner is SocketException { SocketErrorCode: SocketError.ConnectionRefused }
                || inner.Message.Contains("ConnectionRefused", StringComparison.OrdinalIgnoreCase))
            {
                return ConnectFailure.Refused;
            }
            if (inner is Microsoft.AspNetCore.Connections.ConnectionAbortedException
                || inner.Message.Contains("terminated prematurely", StringComparison.OrdinalIgnoreCase))
            {
                return ConnectFailure.ClosedByGateway;
            }
            return ConnectFailure.Other;
        }
    }

    /// <summary>No cluster answered; exit code 3.</summary>
    private sealed class ClusterUnreachableException(string message) : Exception(message);
}
