using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace OrleansGroups.Hosting;

/// <summary>
/// A local Azurite (Azure Storage emulator) process started from the npm package pinned in
/// the repository's <c>scripts/azurite</c> folder, listening on three free loopback ports.
/// </summary>
/// <remarks>
/// <para>
/// Used by the CLI demo and by tests when no Docker engine and no explicit connection string
/// are available. Each instance is isolated: it picks its own ports and keeps its data in
/// memory (or in a temporary directory that is deleted on dispose), so several can run side
/// by side.
/// </para>
/// <para>
/// Azurite is started directly (not through <c>npx</c>, which leaves an orphan node process)
/// with <c>--disableTelemetry</c> (without it Azurite has been seen to ignore SIGTERM after
/// traffic) and <c>--skipApiVersionCheck</c> (current Azure SDKs send API versions newer than
/// Azurite knows).
/// </para>
/// </remarks>
public sealed class LocalAzurite : IAsyncDisposable
{
    /// <summary>The public, documented key of the emulator's <c>devstoreaccount1</c> account.</summary>
    private const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>
    /// The explicit connection string of an emulator on the default ports
    /// (blob 10000, queue 10001, table 10002 on 127.0.0.1); equivalent to
    /// <c>UseDevelopmentStorage=true</c>.
    /// </summary>
    public const string DevelopmentConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=" + DevelopmentAccountKey + ";" +
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;" +
        "QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;" +
        "TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";

    private const int DefaultBlobPort = 10000;
    private const int OutputLinesKept = 40;
    private const int StartAttempts = 3;
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan NpmCiDeadline = TimeSpan.FromMinutes(10);

    // Ports handed out by this process, so that two instances started one after the other
    // never receive the same port from the operating system.
    private static readonly HashSet<int> PortsHandedOut = [];

    // Instances not disposed yet: killed when this process exits normally, so a forgotten
    // dispose (or a failed test) does not leave node processes behind.
    private static readonly HashSet<LocalAzurite> Live = [];
    private static int _exitHookInstalled;

    private readonly Process _process;
    private readonly OutputTail _output;
    private readonly string? _dataDirectory;
    private int _disposed;

    private LocalAzurite(Process process, OutputTail output, string? dataDirectory, int blobPort, int queuePort, int tablePort)
    {
        _process = process;
        _output = output;
        _dataDirectory = dataDirectory;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
        ProcessId = process.Id;
        ConnectionString = ConnectionStringFor(blobPort, queuePort, tablePort);

        if (Interlocked.Exchange(ref _exitHookInstalled, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAllLive();
        }

        lock (Live)
        {
            Live.Add(this);
        }
    }

    /// <summary>The explicit <c>devstoreaccount1</c> connection string for this instance's ports.</summary>
    public string ConnectionString { get; }

    /// <summary>The blob service port on 127.0.0.1.</summary>
    public int BlobPort { get; }

    /// <summary>The queue service port on 127.0.0.1.</summary>
    public int QueuePort { get; }

    /// <summary>The table service port on 127.0.0.1.</summary>
    public int TablePort { get; }

    /// <summary>The process id of the Azurite node process.</summary>
    public int ProcessId { get; }

    /// <summary>
    /// Builds the explicit <c>devstoreaccount1</c> connection string for an emulator on
    /// 127.0.0.1 with the given ports.
    /// </summary>
    /// <param name="blobPort">The blob service port.</param>
    /// <param name="queuePort">The queue service port.</param>
    /// <param name="tablePort">The table service port.</param>
    /// <returns>A connection string usable by the Azure Storage SDK clients.</returns>
    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) =>
        ConnectionStringFor("127.0.0.1", blobPort, queuePort, tablePort);

    /// <summary>
    /// Builds the explicit <c>devstoreaccount1</c> connection string for an emulator on the
    /// given host and ports (for example a container's mapped ports).
    /// </summary>
    /// <param name="host">The host name or IP address the emulator is reachable at.</param>
    /// <param name="blobPort">The blob service port.</param>
    /// <param name="queuePort">The queue service port.</param>
    /// <param name="tablePort">The table service port.</param>
    /// <returns>A connection string usable by the Azure Storage SDK clients.</returns>
    public static string ConnectionStringFor(string host, int blobPort, int queuePort, int tablePort)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ValidatePort(blobPort, nameof(blobPort));
        ValidatePort(queuePort, nameof(queuePort));
        ValidatePort(tablePort, nameof(tablePort));
        return "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
            $"AccountKey={DevelopmentAccountKey};" +
            $"BlobEndpoint=http://{host}:{blobPort}/devstoreaccount1;" +
            $"QueueEndpoint=http://{host}:{queuePort}/devstoreaccount1;" +
            $"TableEndpoint=http://{host}:{tablePort}/devstoreaccount1;";
    }

    /// <summary>
    /// Finds the repository's <c>scripts/azurite</c> directory (the one holding the pinned
    /// Azurite <c>package.json</c>) by walking up the directory tree.
    /// </summary>
    /// <param name="startDirectory">
    /// Where to start. When <see langword="null"/>, <see cref="AppContext.BaseDirectory"/> is
    /// tried first and then <see cref="Directory.GetCurrentDirectory"/>.
    /// </param>
    /// <returns>The full path of <c>scripts/azurite</c>, or <see langword="null"/> when not found.</returns>
    public static string? FindRepositoryScriptsDirectory(string? startDirectory = null)
    {
        IEnumerable<string> starts = startDirectory is not null
            ? [startDirectory]
            : [AppContext.BaseDirectory, Directory.GetCurrentDirectory()];

        foreach (var start in starts)
        {
            for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "scripts", "azurite");
                if (File.Exists(Path.Combine(candidate, "package.json")))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Starts Azurite from <paramref name="azuriteDirectory"/> on three free loopback ports and
    /// waits until all three accept connections. Runs <c>npm ci</c> there first when the package
    /// is not installed yet.
    /// </summary>
    /// <param name="azuriteDirectory">
    /// The directory holding Azurite's <c>package.json</c>, usually from
    /// <see cref="FindRepositoryScriptsDirectory"/>.
    /// </param>
    /// <param name="inMemory">
    /// <see langword="true"/> to keep all data in memory; <see langword="false"/> to persist to a
    /// fresh temporary directory that is deleted on dispose.
    /// </param>
    /// <param name="ct">Cancels the installation or the start.</param>
    /// <returns>The running instance; dispose it to stop the process.</returns>
    /// <exception cref="InvalidOperationException">
    /// npm is missing or <c>npm ci</c> failed, or Azurite exited or did not open its ports
    /// within 60 seconds (the message includes its last output lines).
    /// </exception>
    public static async Task<LocalAzurite> StartAsync(string azuriteDirectory, bool inMemory = true, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(azuriteDirectory);
        azuriteDirectory = Path.GetFullPath(azuriteDirectory);
        if (!File.Exists(Path.Combine(azuriteDirectory, "package.json")))
        {
            throw new InvalidOperationException(
                $"'{azuriteDirectory}' has no package.json: expected the repository's scripts/azurite directory.");
        }

        var executable = AzuriteExecutable(azuriteDirectory);
        if (!File.Exists(executable))
        {
            await NpmCiAsync(azuriteDirectory, ct).ConfigureAwait(false);
            if (!File.Exists(executable))
            {
                throw new InvalidOperationException(
                    $"'npm ci' in '{azuriteDirectory}' succeeded but '{executable}' does not exist.");
            }
        }

        // The ports are free when chosen but released before Azurite binds them: another
        // process may take one in between. Azurite then exits with EADDRINUSE; try new ports.
        for (var attempt = 1; ; attempt++)
        {
            var ports = PickFreePorts(3);
            string? dataDirectory = null;
            if (!inMemory)
            {
                dataDirectory = Path.Combine(Path.GetTempPath(), "orleansgroups-azurite-" + Guid.NewGuid().ToString("N"));
                Directory.CreateDirectory(dataDirectory);
            }

            var output = new OutputTail(OutputLinesKept);
            var process = StartProcess(executable, azuriteDirectory, dataDirectory, ports[0], ports[1], ports[2], output);
            var instance = new LocalAzurite(process, output, dataDirectory, ports[0], ports[1], ports[2]);
            try
            {
                await instance.WaitUntilListeningAsync(ct).ConfigureAwait(false);
                return instance;
            }
            catch (InvalidOperationException) when (attempt < StartAttempts && output.Contains("EADDRINUSE"))
            {
                await instance.DisposeAsync().ConfigureAwait(false);
            }
            catch
            {
                await instance.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>
    /// Checks, without any storage call, whether the blob endpoint named by a connection string
    /// accepts TCP connections.
    /// </summary>
    /// <param name="connectionString">
    /// An Azure Storage connection string: <c>UseDevelopmentStorage=true</c> (127.0.0.1:10000),
    /// one with an explicit <c>BlobEndpoint</c>, or an account one
    /// (<c>AccountName</c> + <c>EndpointSuffix</c>).
    /// </param>
    /// <param name="timeout">How long the connection attempt may take.</param>
    /// <returns>
    /// <see langword="true"/> when a TCP connection succeeded within the timeout;
    /// <see langword="false"/> when it failed, timed out, or no blob endpoint could be found.
    /// </returns>
    public static async Task<bool> IsReachableAsync(string connectionString, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        if (!TryGetBlobEndpoint(connectionString, out var host, out var port))
        {
            return false;
        }

        return await CanConnectAsync(host, port, timeout, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// Kills the Azurite process tree and waits (up to 10 seconds) for it to exit.
    /// Safe to call more than once.
    /// </summary>
    public void Stop()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit((int)StopDeadline.TotalMilliseconds);
        }
        catch (InvalidOperationException)
        {
            // The process already exited, or was never started.
        }
        catch (Win32Exception)
        {
            // The process is exiting and can no longer be signalled.
        }
    }

    /// <summary>Stops the process and deletes the temporary data directory, if any.</summary>
    /// <returns>A task that completes when the process has exited.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var cts = new CancellationTokenSource(StopDeadline);
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (Win32Exception)
        {
            // Exiting; nothing more to signal.
        }
        catch (OperationCanceledException)
        {
            // Did not exit within the deadline after SIGKILL; nothing more we can do.
        }
        finally
        {
            lock (Live)
            {
                Live.Remove(this);
            }

            _process.Dispose();
            lock (PortsHandedOut)
            {
                PortsHandedOut.Remove(BlobPort);
                PortsHandedOut.Remove(QueuePort);
                PortsHandedOut.Remove(TablePort);
            }
        }

        DeleteDataDirectory();
    }

    private async Task WaitUntilListeningAsync(CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        int[] ports = [BlobPort, QueuePort, TablePort];
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                // Let the output readers catch up so the message carries the reason.
                await _process.WaitForExitAsync(ct).ConfigureAwait(false);
                throw new InvalidOperationException(
                    $"Azurite exited with code {_process.ExitCode} during startup (ports {BlobPort}/{QueuePort}/{TablePort}). " +
                    $"Output:{Environment.NewLine}{_output}");
            }

            var open = 0;
            foreach (var port in ports)
            {
                if (await CanConnectAsync("127.0.0.1", port, TimeSpan.FromSeconds(1), ct).ConfigureAwait(false))
                {
                    open++;
                }
                else
                {
                    break;
                }
            }

            if (open == ports.Length)
            {
                return;
            }

            if (started.Elapsed > StartDeadline)
            {
                throw new InvalidOperationException(
                    $"Azurite (pid {ProcessId}) did not accept connections on ports {BlobPort}/{QueuePort}/{TablePort} " +
                    $"within {StartDeadline.TotalSeconds:0} s. Output:{Environment.NewLine}{_output}");
            }

            await Task.Delay(50, ct).ConfigureAwait(false);
        }
    }

    private static void StopAllLive()
    {
        LocalAzurite[] live;
        lock (Live)
        {
            live = [.. Live];
        }

        foreach (var instance in live)
        {
            instance.Stop();
            instance.DeleteDataDirectory();
        }
    }

    private void DeleteDataDirectory()
    {
        if (_dataDirectory is null)
        {
            return;
        }

        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(_dataDirectory))
                {
                    Directory.Delete(_dataDirectory, recursive: true);
                }

                return;
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
            catch (UnauthorizedAccessException)
            {
                Thread.Sleep(100);
            }
        }
    }

    private static Process StartProcess(
        string executable, string azuriteDirectory, string? dataDirectory, int blobPort, int queuePort, int tablePort, OutputTail output)
    {
        var startInfo = new ProcessStartInfo(executable)
        {
            WorkingDirectory = dataDirectory ?? azuriteDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        string[] args =
        [
            "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", blobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queuePort", queuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tablePort", tablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        if (dataDirectory is null)
        {
            startInfo.ArgumentList.Add("--inMemoryPersistence");
        }
        else
        {
            startInfo.ArgumentList.Add("--location");
            startInfo.ArgumentList.Add(dataDirectory);
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => output.Add(e.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new InvalidOperationException(
                $"Could not start '{executable}': {ex.Message}. Is Node.js (20+) installed and on PATH?", ex);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task NpmCiAsync(string azuriteDirectory, CancellationToken ct)
    {
        var npm = OperatingSystem.IsWindows() ? "npm.cmd" : "npm";
        var startInfo = new ProcessStartInfo(npm)
        {
            WorkingDirectory = azuriteDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        startInfo.ArgumentList.Add("ci");
        startInfo.ArgumentList.Add("--no-audit");
        startInfo.ArgumentList.Add("--no-fund");

        var output = new OutputTail(OutputLinesKept);
        using var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => output.Add(e.Data);
        process.ErrorDataReceived += (_, e) => output.Add(e.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"Azurite is not installed in '{azuriteDirectory}' and npm was not found to install it ({ex.Message}). " +
                "Install Node.js 20+ with npm, then run 'npm ci' in scripts/azurite.", ex);
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(NpmCiDeadline);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already exited.
            }

            if (ct.IsCancellationRequested)
            {
                throw;
            }

            throw new InvalidOperationException(
                $"'npm ci' in '{azuriteDirectory}' did not finish within {NpmCiDeadline.TotalMinutes:0} minutes. Output:{Environment.NewLine}{output}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'npm ci' in '{azuriteDirectory}' failed with exit code {process.ExitCode}. Output:{Environment.NewLine}{output}");
        }
    }

    private static string AzuriteExecutable(string azuriteDirectory) =>
        Path.Combine(azuriteDirectory, "node_modules", ".bin", OperatingSystem.IsWindows() ? "azurite.cmd" : "azurite");

    private static int[] PickFreePorts(int count)
    {
        var listeners = new List<TcpListener>();
        var ports = new List<int>();
        try
        {
            lock (PortsHandedOut)
            {
                while (ports.Count < count)
                {
                    var listener = new TcpListener(IPAddress.Loopback, 0);
                    listener.Start();
                    listeners.Add(listener);
                    var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                    if (PortsHandedOut.Add(port))
                    {
                        ports.Add(port);
                    }
                }
            }

            return [.. ports];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
                listener.Dispose();
            }
        }
    }

    private static async Task<bool> CanConnectAsync(string host, int port, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(host, port, cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private static bool TryGetBlobEndpoint(string connectionString, out string host, out int port)
    {
        host = "127.0.0.1";
        port = DefaultBlobPort;

        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                settings[part[..equals].Trim()] = part[(equals + 1)..].Trim();
            }
        }

        if (settings.TryGetValue("BlobEndpoint", out var blobEndpoint))
        {
            if (!Uri.TryCreate(blobEndpoint, UriKind.Absolute, out var uri))
            {
                return false;
            }

            host = uri.Host;
            port = uri.Port;
            return true;
        }

        if (settings.TryGetValue("UseDevelopmentStorage", out var useDevelopmentStorage) &&
            bool.TryParse(useDevelopmentStorage, out var development) && development)
        {
            if (settings.TryGetValue("DevelopmentStorageProxyUri", out var proxy) &&
                Uri.TryCreate(proxy, UriKind.Absolute, out var proxyUri))
            {
                host = proxyUri.Host;
            }

            return true;
        }

        if (settings.TryGetValue("AccountName", out var account) && account.Length > 0)
        {
            var protocol = settings.TryGetValue("DefaultEndpointsProtocol", out var p) ? p : "https";
            var suffix = settings.TryGetValue("EndpointSuffix", out var s) ? s : "core.windows.net";
            if (Uri.TryCreate($"{protocol}://{account}.blob.{suffix}", UriKind.Absolute, out var uri))
            {
                host = uri.Host;
                port = uri.Port;
                return true;
            }
        }

        return false;
    }

    private static void ValidatePort(int port, string name)
    {
        if (port is < IPEndPoint.MinPort + 1 or > IPEndPoint.MaxPort)
        {
            throw new ArgumentOutOfRangeException(name, port, "A TCP port must be between 1 and 65535.");
        }
    }

    /// <summary>Keeps the last lines a process wrote, for error messages.</summary>
    private sealed class OutputTail(int capacity)
    {
        private readonly Queue<string> _lines = new();

        public void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_lines)
            {
                _lines.Enqueue(line);
                while (_lines.Count > capacity)
                {
                    _lines.Dequeue();
                }
            }
        }

        public bool Contains(string text)
        {
            lock (_lines)
            {
                return _lines.Any(l => l.Contains(text, StringComparison.Ordinal));
            }
        }

        public override string ToString()
        {
            lock (_lines)
            {
                return _lines.Count == 0 ? "(no output)" : string.Join(Environment.NewLine, _lines);
            }
        }
    }
}
