using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OrleansGroups.Bench.Peer;

/// <summary>
/// A <c>redis-server</c> started by the benchmark on a free loopback port, with AOF (appendonly yes, appendfsync
/// everysec) in a temporary directory, no RDB snapshots; killed and its directory deleted on dispose.
/// </summary>
internal sealed class LocalRedis : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _directory;

    private LocalRedis(Process process, DirectoryInfo directory, int port, string version)
    {
        _process = process;
        _directory = directory;
        Port = port;
        Version = version;
    }

    public int Port { get; }

    public string Version { get; }

    public int ProcessId => _process.Id;

    public string Endpoint => $"127.0.0.1:{Port}";

    public static async Task<LocalRedis> StartAsync()
    {
        var exe = FindOnPath("redis-server")
            ?? throw new InvalidOperationException("redis-server is not on PATH (bench/run.sh peer installs it with apt-get).");
        var version = await VersionAsync(exe);
        var directory = Directory.CreateTempSubdirectory("orleansgroups-bench-redis-");
        var port = FreePort();
        var info = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--dir", directory.FullName, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
            "--daemonize", "no", "--loglevel", "warning",
        })
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new LocalRedis(process, directory, port, version);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return redis;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(10) && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch
            {
                await redis.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>CPU time the server has used so far.</summary>
    public TimeSpan CpuTime()
    {
        try
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
        catch (InvalidOperationException)
        {
            return TimeSpan.Zero;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(wait.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static async Task<string> VersionAsync(string exe)
    {
        var info = new ProcessStartInfo(exe, "--version") { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var text = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var v = text.Split(' ').FirstOrDefault(t => t.StartsWith("v=", StringComparison.Ordinal));
        return v is null ? "unknown" : v[2..];
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin").Append("/usr/sbin")
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
