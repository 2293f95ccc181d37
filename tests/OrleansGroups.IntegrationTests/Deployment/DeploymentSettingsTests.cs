using System.Net;
using System.Net.Sockets;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests.Deployment;

/// <summary>
/// Misconfigured deployments fail at once with one clear line (exit code 1), before Orleans starts:
/// no storage credentials, POD_NAME outside Kubernetes, ids that contradict the pod labels, a taken health port.
/// </summary>
[Trait("Category", "Deployment")]
public sealed class DeploymentSettingsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task EmptyConnectionString_WithoutServiceUris_IsRejected()
    {
        var result = await RunSiloAsync(["--storage", "azure", "--clustering", "azure", "--connection-string", ""]);

        AssertOneError(result, "--blob-service-uri");
        Assert.Contains("--table-service-uri", result.StandardError);
    }

    [Fact]
    public async Task PodNameOutsideKubernetes_IsRejected()
    {
        var result = await RunSiloAsync(["--storage", "memory"], new() { ["POD_NAME"] = "silo-0", ["KUBERNETES_SERVICE_HOST"] = "" });

        AssertOneError(result, "KUBERNETES_SERVICE_HOST is not set");
    }

    [Fact]
    public async Task ServiceIdContradictingThePodLabel_IsRejected()
    {
        var result = await RunSiloAsync(["--storage", "memory", "--service-id", "other"], new()
        {
            ["POD_NAME"] = "silo-0", ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1", ["ORLEANS_SERVICE_ID"] = "from-label",
        });

        AssertOneError(result, "ServiceId 'other' differs from ORLEANS_SERVICE_ID 'from-label'");
    }

    [Fact]
    public async Task ExplicitHealthPortInUse_IsRejected()
    {
        using var taken = new TcpListener(IPAddress.Any, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var ports = FreePorts.Get(2);

        var result = await RunSiloAsync(["--storage", "memory", "--silo-port", ports[0].ToString(), "--gateway-port", ports[1].ToString(), "--health-port", port.ToString()]);

        AssertOneError(result, $"cannot listen on port {port}");
    }

    private static Task<ProcessResult> RunSiloAsync(string[] args, Dictionary<string, string>? env = null) =>
        ChildProcess.RunAsync(ChildProcess.DotnetHost, [SiloProcess.SiloDll, .. args], stdin: null, Timeout, env);

    private static void AssertOneError(ProcessResult result, string expected)
    {
        Assert.Equal(1, result.ExitCode);
        var error = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", error);
        Assert.Contains(expected, error);
        Assert.DoesNotContain("   at ", result.StandardOutput + result.StandardError);
    }
}
