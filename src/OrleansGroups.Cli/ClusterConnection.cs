using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;
using OrleansGroups.Client;
using OrleansGroups.Core.Errors;

namespace OrleansGroups.Cli;

/// <summary>Process exit codes of og; documented in the root command's help.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int ClusterUnreachable = 3;
    public const int Interrupted = 130;
}

/// <summary>A mistake the user can fix (bad argument value...); printed as one "error:" line, exit code 1.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The connection options every cluster command takes (<c>--gateway</c>, or <c>--clustering azure</c> with a
/// connection string) and the Orleans client built from them.
/// </summary>
internal sealed class ClusterConnection : IAsyncDisposable
{
    public const string DefaultGateway = "127.0.0.1:30000";

    // Short enough that a script learns "no cluster" quickly, long enough for a cold silo to answer.
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    // How long one grain call may take before it fails; a slow storage append is well under this.
    private static readonly TimeSpan ResponseTimeout = TimeSpan.FromSeconds(30);

    public static readonly Option<string> Gateway = new("--gateway")
    {
        Description = $"Silo gateway HOST:PORT for static clustering (default {DefaultGateway})",
        DefaultValueFactory = _ => DefaultGateway,
    };

    public static readonly Option<string> Clustering = new Option<string>("--clustering")
    {
        Description = "How to find the cluster: static (--gateway, the default) or azure (gateways from an Azure Storage table)",
        DefaultValueFactory = _ => "static",
    }.AcceptOnlyFromAmong("static", "azure");

    public static readonly Option<string?> ConnectionString = new("--connection-string")
    {
        Description = "Azure Storage connection string of the clustering table (with --clustering azure)",
    };

    public static readonly Option<string> ClusterId = new("--cluster-id")
    {
        Description = "Cluster id; must match the silos' (default dev)",
        DefaultValueFactory = _ => "dev",
    };

    public static readonly Option<string> ServiceId = new("--service-id")
    {
        Description = "Service id; must match the silos' (default orleansgroups)",
        DefaultValueFactory = _ => "orleansgroups",
    };

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Show the Orleans client's warnings and errors on stderr",
    };

    private readonly IHost _host;

    private ClusterConnection(IHost host, string target)
    {
        _host = host;
        Target = target;
        Client = new OrleansGroupsClient(host.Services.GetRequiredService<IGrainFactory>());
    }

    /// <summary>What we connected to, for messages: "127.0.0.1:30000" or "cluster 'dev' (Azure Table clustering)".</summary>
    public string Target { get; }

    public OrleansGroupsClient Client { get; }

    /// <summary>Adds the connection options to a command.</summary>
    public static void AddOptionsTo(Command command)
    {
        command.Options.Add(Gateway);
        command.Options.Add(Clustering);
        command.Options.Add(ConnectionString);
        command.Options.Add(ClusterId);
        command.Options.Add(ServiceId);
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
            UsageException e => (e.Message, ExitCodes.Failed),
            ClusterUnreachableException e => (e.Message, ExitCodes.ClusterUnreachable),
            SiloUnavailableException or ConnectionFailedException or OrleansMessageRejectionException or TimeoutException
                or SocketException when connected =>
                ($"lost the connection to the cluster at {target}: {FirstLine(error.Message)}", ExitCodes.ClusterUnreachable),
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
        if (azure)
        {
            var connectionString = parse.GetValue(ConnectionString);
            if (string.IsNullOrWhiteSpace(connectionString))
            {
                throw new UsageException("--clustering azure needs --connection-string (the storage account holding the cluster table).");
            }
            TableServiceClient tables;
            try
            {
                tables = new TableServiceClient(connectionString);
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new UsageException($"--connection-string is not a valid Azure Storage connection string: {FirstLine(e.Message)}");
            }
            clustering = client => client.UseAzureStorageClustering(o => o.TableServiceClient = tables);
        }
        else
        {
            var endpoint = await ParseGatewayAsync(parse.GetValue(Gateway)!, cancellationToken);
            clustering = client => client.UseStaticClustering(endpoint);
        }

        var retry = new ConnectRetry();
        builder.UseOrleansClient(client =>
        {
            clustering(client);
            client.UseConnectionRetryFilter(retry.ShouldRetryAsync);
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = ResponseTimeout);
            client.Configure<ConnectionOptions>(o => o.OpenConnectionTimeout = TimeSpan.FromSeconds(5));
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
            var reason = retry.Refused ? "connection refused"
                : e is OperationCanceledException or TimeoutException || retry.LastFailure is not null
                    ? $"no answer within {ConnectTimeout.TotalSeconds:0} s"
                    : FirstLine(e.Message);
            var hint = azure
                ? "is a silo running with --clustering azure and the same --cluster-id and --service-id?"
                : "is a silo running? Start one or pass --gateway HOST:PORT";
            throw new ClusterUnreachableException($"cannot reach the cluster at {target} ({hint}): {reason}");
        }
        return new ClusterConnection(host, target);
    }

    private static string DescribeTarget(ParseResult parse) =>
        parse.GetValue(Clustering) == "azure"
            ? $"cluster '{parse.GetValue(ClusterId)}' (Azure Table clustering)"
            : parse.GetValue(Gateway) ?? DefaultGateway;

    private static async Task<IPEndPoint> ParseGatewayAsync(string gateway, CancellationToken cancellationToken)
    {
        var colon = gateway.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(gateway[(colon + 1)..], out var port) || port is < 1 or > 65535)
        {
            throw new UsageException($"--gateway '{gateway}' is not HOST:PORT (for example {DefaultGateway}).");
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
                ?? throw new UsageException($"--gateway host '{host}' has no address.");
            return new IPEndPoint(chosen, port);
        }
        catch (SocketException e)
        {
            throw new UsageException($"--gateway host '{host}' cannot be resolved: {e.Message}");
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

    /// <summary>
    /// Retries the first connection briefly: a refused connection (nothing listening) for 2 s, in case a silo is
    /// still starting; anything else until the connect deadline cuts it off. Keeps the last failure for the message.
    /// </summary>
    private sealed class ConnectRetry
    {
        private static readonly TimeSpan RefusedRetryWindow = TimeSpan.FromSeconds(2);
        private readonly System.Diagnostics.Stopwatch _elapsed = System.Diagnostics.Stopwatch.StartNew();

        public Exception? LastFailure { get; private set; }

        public bool Refused { get; private set; }

        public async Task<bool> ShouldRetryAsync(Exception failure, CancellationToken cancellationToken)
        {
            LastFailure = failure;
            Refused = Innermost(failure).Message.Contains("ConnectionRefused", StringComparison.OrdinalIgnoreCase)
                || Innermost(failure) is SocketException { SocketErrorCode: SocketError.ConnectionRefused };
            if ((Refused && _elapsed.Elapsed > RefusedRetryWindow) || _elapsed.Elapsed > ConnectTimeout)
            {
                return false;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            return true;
        }
    }

    /// <summary>No cluster answered; exit code 3.</summary>
    private sealed class ClusterUnreachableException(string message) : Exception(message);
}
