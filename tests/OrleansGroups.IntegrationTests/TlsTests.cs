using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Hosting;
using OrleansGroups.Client;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

/// <summary>A silo process with TLS on, using a self-signed certificate made for this run.</summary>
public sealed class TlsSiloFixture : IAsyncLifetime
{
    public TestCertificate Certificate { get; } = TestCertificate.CreateSelfSigned();

    public SiloProcess Silo { get; private set; } = null!;

    public async Task InitializeAsync() => Silo = await SiloProcess.StartAsync(connectionString: null,
        extraArgs: ["--tls-certificate", Certificate.PfxPath, "--tls-certificate-password", Certificate.Password, "--health-port", "0"]);

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        Certificate.Dispose();
    }
}

/// <summary>
/// Issue 7, optional TLS: a silo started with a certificate serves only TLS; the og CLI and the client library get in
/// when they trust that certificate, and anything else is refused with one clear line within a bounded time.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class TlsTests(TlsSiloFixture fixture) : IClassFixture<TlsSiloFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>A refused connection must say so well before a script would give up (og's connect deadline is 10 s).</summary>
    private static readonly TimeSpan RefusalBound = TimeSpan.FromSeconds(30);

    private static string OgDll => RepositoryPaths.ProjectOutput("OrleansGroups.Cli", "og");

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    private Task<ProcessResult> Og(string? stdin, string[] tls, params string[] args) => ChildProcess.RunAsync(ChildProcess.DotnetHost,
        [OgDll, .. args, .. tls, "--gateway", $"127.0.0.1:{fixture.Silo.GatewayPort}", "--service-id", fixture.Silo.ServiceId],
        stdin, Timeout);

    private string[] Pinned => ["--tls-ca", fixture.Certificate.PublicPemPath];

    [Fact]
    public void SiloAnnouncesTls_WithItsCertificate()
    {
        Assert.Contains(fixture.Silo.Process.Output, l => l.Contains("OrleansGroups silo ready", StringComparison.Ordinal)
            && l.Contains($"tls '{fixture.Certificate.Certificate.Subject}' ({fixture.Certificate.Certificate.Thumbprint})", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CliTrustingTheSilo_CreatesProducesAndConsumes()
    {
        var topic = NewName("tls");
        var lines = Enumerable.Range(0, 200).Select(i => $"key-{i % 5}:value-{i}").ToList();

        var created = await Og(null, Pinned, "topic", "create", topic, "--partitions", "3");
        var produced = await Og(string.Join('\n', lines) + "\n", Pinned, "produce", topic, "--key-separator", ":");
        var consumed = await Og(null, Pinned, "consume", topic, "--group", NewName("grp"), "--from-beginning", "--json",
            "--max-messages", "200", "--timeout-ms", "10000");

        Assert.True(created.ExitCode == 0, created.StandardError);
        Assert.True(produced.ExitCode == 0, produced.StandardError);
        Assert.True(consumed.ExitCode == 0, consumed.StandardError);
        var records = consumed.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Select(r => $"{r.GetProperty("key").GetString()}:{r.GetProperty("value").GetString()}");
        Assert.Equal(lines.Order(), records.Order());
    }

    [Fact]
    public async Task ClientLibraryTrustingTheSilo_ProducesAndConsumes()
    {
        var topic = NewName("tlslib");
        var tls = new ClientTlsOptions { TrustedCertificates = [X509CertificateLoader.LoadCertificateFromFile(fixture.Certificate.PublicPemPath)] };

        using var client = await fixture.Silo.ConnectAsync(tls: tls);
        var groups = client.Services.GetRequiredService<OrleansGroupsClient>();
        await groups.Admin.CreateTopicAsync(topic, partitions: 2);
        var delivered = await groups.CreateProducer().ProduceBatchAsync(topic,
            Enumerable.Range(0, 50).Select(i => Message.FromStrings($"k{i}", $"v{i}")).ToList());
        var consumer = groups.CreateConsumer(new ConsumerOptions(NewName("grp")) { AutoOffsetReset = AutoOffsetReset.Earliest });
        consumer.Subscribe(topic);
        var read = new List<ConsumeResult>();
        while (read.Count < 50 && await consumer.ConsumeAsync(TimeSpan.FromSeconds(20)) is { } record)
        {
            read.Add(record);
        }
        await consumer.CloseAsync();
        await client.StopAsync();

        Assert.Equal(delivered.Select(d => (d.Partition, d.Offset)).Order(), read.Select(r => (r.Partition, r.Offset)).Order());
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"v{i}").Order(), read.Select(r => r.ValueAsString).Order());
    }

    [Fact]
    public async Task SecondSiloWithTheSameCertificate_JoinsOverTls_AndServesTheClusterState()
    {
        // A cluster of its own: the shared silo must not see a member leave under the other tests.
        string[] tls = ["--health-port", "0", "--tls-certificate", fixture.Certificate.PfxPath, "--tls-certificate-password", fixture.Certificate.Password];
        await using var first = await SiloProcess.StartAsync(connectionString: null, extraArgs: tls);
        var topic = NewName("joined");
        var created = await OgAt(first, "topic", "create", topic, "--partitions", "2");
        Assert.True(created.ExitCode == 0, created.StandardError);

        // Joining means silo-to-silo connections both ways, which are mutual TLS pinned to the certificate in the file.
        // This silo takes the certificate from environment variables, as a container would from a secret.
        await using var second = await SiloProcess.StartAsync(connectionString: null, first.ServiceId,
            ["--primary-silo-port", first.SiloPort.ToString(), "--health-port", "0"],
            new Dictionary<string, string?>
            {
                ["OrleansGroups__TlsCertificate"] = fixture.Certificate.PfxPath,
                ["OrleansGroups__TlsCertificatePassword"] = fixture.Certificate.Password,
            });
        Assert.Contains(second.Process.Output, l => l.Contains("OrleansGroups silo ready", StringComparison.Ordinal)
            && l.Contains(fixture.Certificate.Certificate.Thumbprint, StringComparison.Ordinal));
        var listed = await OgAt(second, "topic", "list");

        Assert.True(listed.ExitCode == 0, listed.StandardError);
        Assert.Contains(topic, listed.StandardOutput);
    }

    private Task<ProcessResult> OgAt(SiloProcess silo, params string[] args) => ChildProcess.RunAsync(ChildProcess.DotnetHost,
        [OgDll, .. args, .. Pinned, "--gateway", $"127.0.0.1:{silo.GatewayPort}", "--service-id", silo.ServiceId], null, Timeout);

    [Fact]
    public async Task CliWithoutTls_IsRefused_WithOneLineNamingTls()
    {
        var watch = Stopwatch.StartNew();
        var result = await Og(null, [], "topic", "list");
        watch.Stop();

        AssertRefused(result, "Does the silo require TLS?");
        Assert.True(watch.Elapsed < RefusalBound, $"refused after {watch.Elapsed}");
    }

    [Fact]
    public async Task CliPinningAnotherCertificate_IsRefused()
    {
        using var other = TestCertificate.CreateSelfSigned(fixture.Certificate.Certificate.Subject);

        var watch = Stopwatch.StartNew();
        var result = await Og(null, ["--tls-ca", other.PublicPemPath], "topic", "list");
        watch.Stop();

        AssertRefused(result, $"the silo's TLS certificate {OrleansGroups.Core.Security.CertificateTrust.Describe(fixture.Certificate.Certificate)} is not issued by a trusted certificate");
        Assert.True(watch.Elapsed < RefusalBound, $"refused after {watch.Elapsed}");
    }

    [Fact]
    public async Task CliTrustingTheMachineStore_RefusesASelfSignedSilo()
    {
        var result = await Og(null, ["--tls"], "topic", "list");

        AssertRefused(result, "is not trusted for '127.0.0.1'");
    }

    [Fact]
    public async Task CliAllowingUntrusted_GetsIn()
    {
        var result = await Og(null, ["--tls-allow-untrusted"], "topic", "list");

        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.StartsWith("TOPIC", result.StandardOutput);
    }

    [Fact]
    public async Task CliGivenTheSilosPrivateKeyAsTrust_RefusesIt()
    {
        var result = await Og(null, ["--tls-ca", fixture.Certificate.PfxPath], "topic", "list");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--tls-ca", result.StandardError);
    }

    [Fact]
    public async Task ClientLibraryWithoutTls_FailsToConnect_WithinTheBound()
    {
        // An application's client that gives up on the first failed connection (no TLS configured).
        var failures = new List<Exception>();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(fixture.Silo.GatewayPort, fixture.Silo.ServiceId, "dev");
            client.UseConnectionRetryFilter((failure, _) =>
            {
                lock (failures)
                {
                    failures.Add(failure);
                }
                return Task.FromResult(false);
            });
        });
        builder.Services.AddOrleansGroupsClient();
        using var host = builder.Build();

        var watch = Stopwatch.StartNew();
        var failure = await Record.ExceptionAsync(() => host.StartAsync().WaitAsync(RefusalBound));
        watch.Stop();

        Assert.NotNull(failure);
        Assert.IsNotType<TimeoutException>(failure);
        Assert.NotEmpty(failures);
        Assert.True(watch.Elapsed < RefusalBound, $"failed after {watch.Elapsed}");
    }

    private static void AssertRefused(ProcessResult result, string expected)
    {
        Assert.Equal(3, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: cannot reach", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", result.StandardError + result.StandardOutput);
        Assert.Equal("", result.StandardOutput.Trim());
    }
}
