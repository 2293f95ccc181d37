using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace OrleansGroups.TestKit;

/// <summary>The outcome of a process run to completion by <see cref="ChildProcess.RunAsync"/>.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="StandardOutput">Everything written to stdout.</param>
/// <param name="StandardError">Everything written to stderr.</param>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);

/// <summary>
/// A real child process for integration tests (a silo, the CLI): output captured line by line,
/// waits on output with deadlines, graceful stop (SIGTERM) or crash (SIGKILL of the whole tree).
/// Disposing kills it if it is still running.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private static readonly TimeSpan ExitDeadline = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<(string Substring, TaskCompletionSource<string> Found)> _waiters = [];
    private readonly Task _exited;
    private int _disposed;

    private ChildProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.Start();
        Id = _process.Id;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        // Completes when the process has exited and both output streams reached EOF.
        _exited = _process.WaitForExitAsync();
    }

    /// <summary>
    /// The dotnet host that runs the tests (<c>DOTNET_HOST_PATH</c>, set by the SDK), else
    /// <c>dotnet</c> from PATH.
    /// </summary>
    public static string DotnetHost =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    /// <summary>The process id.</summary>
    public int Id { get; }

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code once the process has exited, otherwise <see langword="null"/>.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>A snapshot of the stdout and stderr lines so far, in arrival order.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>The output so far as one string (for assertion messages).</summary>
    public string OutputText => string.Join(Environment.NewLine, Output);

    /// <summary>Starts <c>dotnet {dllPath} {args}</c>.</summary>
    /// <param name="dllPath">The app's dll, e.g. from <see cref="RepositoryPaths.ProjectOutput"/>.</param>
    /// <param name="args">The app's arguments.</param>
    /// <param name="environment">Environment overrides; a <see langword="null"/> value removes the variable.</param>
    /// <param name="workingDirectory">The working directory; defaults to the dll's folder.</param>
    /// <returns>The running process.</returns>
    public static ChildProcess StartDotnet(
        string dllPath,
        IEnumerable<string> args,
        IDictionary<string, string?>? environment = null,
        string? workingDirectory = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dllPath);
        ArgumentNullException.ThrowIfNull(args);
        if (!File.Exists(dllPath))
        {
            throw new FileNotFoundException($"'{dllPath}' does not exist: build it first.", dllPath);
        }

        return Start(DotnetHost, [dllPath, .. args], environment, workingDirectory ?? Path.GetDirectoryName(Path.GetFullPath(dllPath)));
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="args"/>.</summary>
    /// <param name="fileName">The executable.</param>
    /// <param name="args">The arguments (passed as a list, no shell quoting).</param>
    /// <param name="environment">Environment overrides; a <see langword="null"/> value removes the variable.</param>
    /// <param name="workingDirectory">The working directory; defaults to the current one.</param>
    /// <returns>The running process.</returns>
    public static ChildProcess Start(
        string fileName,
        IEnumerable<string> args,
        IDictionary<string, string?>? environment = null,
        string? workingDirectory = null)
    {
        var startInfo = CreateStartInfo(fileName, args, workingDirectory);
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null)
                {
                    startInfo.Environment.Remove(key);
                }
                else
                {
                    startInfo.Environment[key] = value;
                }
            }
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        try
        {
            return new ChildProcess(process);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs a process to completion, feeding it <paramref name="stdin"/>, and returns its exit code
    /// and output. Kills the process tree and throws <see cref="TimeoutException"/> (with the output
    /// so far) when it runs longer than <paramref name="timeout"/>.
    /// </summary>
    /// <param name="fileName">The executable (e.g. <see cref="DotnetHost"/>).</param>
    /// <param name="args">The arguments.</param>
    /// <param name="stdin">Text written to stdin before it is closed; <see langword="null"/> closes it at once.</param>
    /// <param name="timeout">The deadline.</param>
    /// <param name="env">Environment overrides.</param>
    /// <returns>The exit code, stdout and stderr.</returns>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> args,
        string? stdin,
        TimeSpan timeout,
        IDictionary<string, string>? env = null)
    {
        var startInfo = CreateStartInfo(fileName, args, workingDirectory: null);
        if (env is not null)
        {
            foreach (var (key, value) in env)
            {
                startInfo.Environment[key] = value;
            }
        }

        using var process = new Process { StartInfo = startInfo };
        process.Start();
        var stdoutTask = process.StandardOutput.ReadToEndAsync();
        var stderrTask = process.StandardError.ReadToEndAsync();

        try
        {
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
                await process.StandardInput.FlushAsync().ConfigureAwait(false);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The process exited (or closed stdin) without reading all of it; its exit code tells.
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            TryKillTree(process);
            var partial = await Task.WhenAll(stdoutTask, stderrTask).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            throw new TimeoutException(
                $"'{fileName} {string.Join(' ', startInfo.ArgumentList)}' did not exit within {timeout.TotalSeconds:0.#} s. " +
                $"stdout:{Environment.NewLine}{partial[0]}{Environment.NewLine}stderr:{Environment.NewLine}{partial[1]}");
        }

        return new ProcessResult(process.ExitCode, await stdoutTask.ConfigureAwait(false), await stderrTask.ConfigureAwait(false));
    }

    /// <summary>
    /// Waits until a stdout or stderr line contains <paramref name="substring"/> (ordinal) and
    /// returns that line. Lines written before the call count.
    /// </summary>
    /// <param name="substring">The text to look for.</param>
    /// <param name="timeout">The deadline.</param>
    /// <returns>The first line containing the text.</returns>
    /// <exception cref="TimeoutException">No such line within the deadline (the message has the output).</exception>
    /// <exception cref="InvalidOperationException">The process exited without writing such a line.</exception>
    public async Task<string> WaitForOutputAsync(string substring, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(substring);
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            var line = _lines.Find(l => l.Contains(substring, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            _waiters.Add((substring, found));
        }

        try
        {
            var finished = await Task.WhenAny(found.Task, _exited, Task.Delay(timeout)).ConfigureAwait(false);
            if (finished == found.Task || found.Task.IsCompleted)
            {
                return await found.Task.ConfigureAwait(false);
            }

            if (finished == _exited)
            {
                throw new InvalidOperationException(
                    $"Process {Id} exited with code {_process.ExitCode} without writing '{substring}'. Output:{Environment.NewLine}{OutputText}");
            }

            throw new TimeoutException(
                $"Process {Id} did not write '{substring}' within {timeout.TotalSeconds:0.#} s. Output:{Environment.NewLine}{OutputText}");
        }
        finally
        {
            lock (_lines)
            {
                _waiters.RemoveAll(w => w.Found == found);
            }
        }
    }

    /// <summary>Waits for the process to exit on its own and returns its exit code.</summary>
    /// <param name="timeout">The deadline.</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="TimeoutException">Still running at the deadline (it is left running).</exception>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        if (await Task.WhenAny(_exited, Task.Delay(timeout)).ConfigureAwait(false) != _exited)
        {
            throw new TimeoutException($"Process {Id} did not exit within {timeout.TotalSeconds:0.#} s. Output:{Environment.NewLine}{OutputText}");
        }

        return _process.ExitCode;
    }

    /// <summary>
    /// Crashes the process: SIGKILL to it and all its descendants (no shutdown code runs), then
    /// waits for the exit.
    /// </summary>
    /// <returns>A task that completes once the process has exited.</returns>
    public async Task KillAsync()
    {
        TryKillTree(_process);
        await _exited.WaitAsync(ExitDeadline).ConfigureAwait(false);
    }

    /// <summary>
    /// Freezes the process with SIGSTOP, as a hung machine: its sockets stay open and the kernel still accepts
    /// connections to its listeners, but nothing answers. <see cref="Resume"/> (SIGCONT) lets it run again; disposing
    /// kills it either way. Unix only.
    /// </summary>
    public void Pause() => Signal("STOP");

    /// <summary>Lets a process frozen by <see cref="Pause"/> run again (SIGCONT). Harmless on a running or exited process.</summary>
    public void Resume() => Signal("CONT");

    /// <summary>
    /// Stops the process gracefully: SIGTERM (so the host shuts down cleanly), waits up to
    /// <paramref name="timeout"/> (default 10 s), then kills the tree.
    /// </summary>
    /// <param name="timeout">How long a graceful shutdown may take.</param>
    /// <returns>The exit code.</returns>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (!_process.HasExited)
        {
            if (!SendSigterm(Id))
            {
                TryKillTree(_process);
            }

            if (await Task.WhenAny(_exited, Task.Delay(timeout ?? TimeSpan.FromSeconds(10))).ConfigureAwait(false) != _exited)
            {
                TryKillTree(_process);
            }
        }

        await _exited.WaitAsync(ExitDeadline).ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <summary>Kills the process tree if it is still running and releases the process handle.</summary>
    /// <returns>A task that completes once the process has exited.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            TryKillTree(_process);
            await _exited.WaitAsync(ExitDeadline).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Nothing more can be done about a process that survives SIGKILL.
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{_process.StartInfo.FileName} {string.Join(' ', _process.StartInfo.ArgumentList)} (pid {Id})";

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        List<TaskCompletionSource<string>>? matched = null;
        lock (_lines)
        {
            _lines.Add(line);
            foreach (var (substring, found) in _waiters)
            {
                if (line.Contains(substring, StringComparison.Ordinal))
                {
                    (matched ??= []).Add(found);
                }
            }
        }

        if (matched is not null)
        {
            foreach (var found in matched)
            {
                found.TrySetResult(line);
            }
        }
    }

    private static ProcessStartInfo CreateStartInfo(string fileName, IEnumerable<string> args, string? workingDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        ArgumentNullException.ThrowIfNull(args);
        var startInfo = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (workingDirectory is not null)
        {
            startInfo.WorkingDirectory = workingDirectory;
        }

        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        return startInfo;
    }

    private void Signal(string signal)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException($"SIG{signal} needs a Unix system.");
        }
        if (_process.HasExited)
        {
            return;
        }
        using var kill = Process.Start(new ProcessStartInfo("kill")
        {
            ArgumentList = { $"-{signal}", Id.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException($"could not run kill -{signal}");
        kill.WaitForExit(5000);
        if (kill.ExitCode != 0 && !_process.HasExited)
        {
            throw new InvalidOperationException($"kill -{signal} {Id} failed: {kill.StandardError.ReadToEnd().Trim()}");
        }
    }

    private static bool SendSigterm(int pid)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill")
            {
                ArgumentList = { "-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (kill is null)
            {
                return false;
            }

            kill.WaitForExit(5000);
            return kill.HasExited && kill.ExitCode == 0;
        }
        catch (Win32Exception)
        {
            return false;
        }
    }

    private static void TryKillTree(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (Win32Exception)
        {
            // Exiting; nothing left to signal.
        }
    }
}
