using System.Net;
using System.Net.Sockets;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests.Deployment;

/// <summary>scripts/cluster.sh itself: up 2 starts Azurite and two ready silos, status sees them, down stops everything.</summary>
[Trait("Category", "Deployment")]
public sealed class ClusterScriptTests
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task UpStatusDown_RunsATwoSiloClusterOnAzurite_AndLeavesNothingRunning()
    {
        var state = Directory.CreateTempSubdirectory("og-cluster-");
        var silo = FreeRange(2);
        var gateway = FreeRange(2);
        var health = FreeRange(2);
        var azurite = FreeRange(3);
        string[] options =
        [
            "--no-build", "--configuration", RepositoryPaths.Configuration, "--state-dir", state.FullName,
            "--silo-port-base", silo.ToString(), "--gateway-port-base", gateway.ToString(),
            "--health-port-base", health.ToString(), "--azurite-port-base", azurite.ToString(), "--azurite-in-memory",
            "--cluster-id", "script", "--service-id", $"cs-{Guid.NewGuid():N}"[..16], "--timeout", "60", "--stop-timeout", "30",
        ];
        try
        {
            var up = await RunAsync(["up", "2", .. options]);
            Assert.True(up.ExitCode == 0, $"up exited {up.ExitCode}:\n{up.StandardOutput}\n{up.StandardError}");
            Assert.Equal([$"gateway 127.0.0.1:{gateway}", $"gateway 127.0.0.1:{gateway + 1}"],
                up.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            var pids = Directory.GetFiles(state.FullName, "silo-*.pid").Select(f => int.Parse(File.ReadAllText(f).Trim())).ToList();
            Assert.Equal(2, pids.Count);

            var status = await RunAsync(["status", .. options]);
            Assert.True(status.ExitCode == 0, status.StandardOutput + status.StandardError);
            Assert.Equal(2, status.StandardOutput.Split('\n').Count(l => l.Contains("running", StringComparison.Ordinal) && l.Contains("clustering azure", StringComparison.Ordinal)));
            Assert.Equal((HttpStatusCode.OK, "ready"), await SiloHost.GetAsync(health, "/readyz"));
            Assert.Equal((HttpStatusCode.OK, "ready"), await SiloHost.GetAsync(health + 1, "/readyz"));

            var down = await RunAsync(["down", .. options]);
            Assert.True(down.ExitCode == 0, down.StandardOutput + down.StandardError);
            Assert.All(pids, pid => Assert.False(IsRunning(pid), $"silo pid {pid} is still running"));
            Assert.Contains("stopped 2 silo(s)", down.StandardError);
            Assert.All(Directory.GetFiles(state.FullName, "silo-*.log"),
                log => Assert.Contains("OrleansGroups silo stopped gracefully", File.ReadAllText(log)));
            var azuriteStatus = await ChildProcess.RunAsync("bash", [Script("azurite.sh"), "status", "--port-base", azurite.ToString()], stdin: null, ScriptTimeout);
            Assert.Equal(3, azuriteStatus.ExitCode);
        }
        finally
        {
            await RunAsync(["down", .. options]);
            state.Delete(recursive: true);
        }
    }

    private static string Script(string name) => Path.Combine(RepositoryPaths.Root, "scripts", name);

    private static Task<ProcessResult> RunAsync(string[] args) =>
        ChildProcess.RunAsync("bash", [Script("cluster.sh"), .. args], stdin: null, ScriptTimeout);

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The first of <paramref name="count"/> consecutive ports free on every address (the script counts up from a base).</summary>
    private static int FreeRange(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var start = FreePorts.GetOne();
            if (start + count > 65000)
            {
                continue;
            }
            var listeners = new List<TcpListener>();
            try
            {
                for (var port = start; port < start + count; port++)
                {
                    var listener = new TcpListener(IPAddress.Any, port);
                    listener.Start();
                    listeners.Add(listener);
                }
                return start;
            }
            catch (SocketException)
            {
                // Taken: try another start.
            }
            finally
            {
                listeners.ForEach(l => l.Stop());
            }
        }
        throw new InvalidOperationException($"No {count} consecutive free ports found.");
    }
}
