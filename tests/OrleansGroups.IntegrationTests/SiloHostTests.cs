using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

/// <summary>The silo host's command-line and configuration contract, through the real executable.</summary>
[Trait("Category", "EndToEnd")]
public sealed class SiloHostTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task UnreachableStorage_FailsFast_WithOneClearLine()
    {
        var port = FreePorts.GetOne();
        var connectionString = OrleansGroups.Hosting.LocalAzurite.ConnectionStringFor(port, port, port);
        var started = DateTimeOffset.UtcNow;

        var result = await ChildProcess.RunAsync(ChildProcess.DotnetHost,
            [SiloProcess.SiloDll, "--storage", "azure", "--connection-string", connectionString, "--gateway-port", FreePorts.GetOne().ToString()],
            stdin: null, Timeout);

        Assert.NotEqual(0, result.ExitCode);
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(30), "fails fast");
        var error = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Azure Storage is unreachable", error);
        Assert.Contains($"127.0.0.1:{port}", error);
        Assert.DoesNotContain("   at ", result.StandardOutput + result.StandardError);
    }

    [Fact]
    public async Task UnknownOption_IsRejected_WithUsageHint()
    {
        var result = await ChildProcess.RunAsync(ChildProcess.DotnetHost, [SiloProcess.SiloDll, "--no-such-option", "1"], stdin: null, Timeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("unknown option '--no-such-option'", result.StandardError);
    }

    [Fact]
    public async Task Settings_ComeFromEnvironmentVariables_AndTheReadyLineNamesTheEndpoints()
    {
        var ports = FreePorts.Get(2);
        await using var silo = ChildProcess.StartDotnet(SiloProcess.SiloDll, [], new Dictionary<string, string?>
        {
            ["OrleansGroups__Storage"] = "memory",
            ["OrleansGroups__SiloPort"] = ports[0].ToString(),
            ["OrleansGroups__GatewayPort"] = ports[1].ToString(),
            ["OrleansGroups__ClusterId"] = "env-cluster",
        });

        var ready = await silo.WaitForOutputAsync("ready", Timeout);

        Assert.Contains($"gateway 127.0.0.1:{ports[1]}", ready);
        Assert.Contains($"silo 127.0.0.1:{ports[0]}", ready);
        Assert.Contains("storage memory", ready);
        Assert.Contains("cluster 'env-cluster'", ready);
    }
}
