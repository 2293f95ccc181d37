using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using DotNet.Testcontainers.Containers;
using OrleansGroups.Hosting;
using Xunit;

namespace OrleansGroups.TestKit;

/// <summary>
/// An Azure Storage endpoint for tests. <see cref="ConnectionString"/> comes from, in order:
/// <list type="number">
/// <item>the <c>ORLEANSGROUPS_TEST_AZURE_STORAGE</c> environment variable (used as is, never cleaned up);</item>
/// <item>an Azurite container, when a Docker engine answers (Testcontainers);</item>
/// <item>the repository's npm Azurite (<c>scripts/azurite</c>) on free loopback ports, in memory.</item>
/// </list>
/// Whatever the fixture started, it stops on <see cref="DisposeAsync"/>. Tests sharing one
/// fixture share one storage account: use unique ServiceIds, container or table names.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    /// <summary>The environment variable that supplies an explicit connection string.</summary>
    public const string EnvironmentVariable = "ORLEANSGROUPS_TEST_AZURE_STORAGE";

    /// <summary>The Azurite image used when Docker is available.</summary>
    public const string ContainerImage = "mcr.microsoft.com/azure-storage/azurite:latest";

    private const int BlobPort = 10000;
    private const int QueuePort = 10001;
    private const int TablePort = 10002;

    private IContainer? _container;
    private LocalAzurite? _local;
    private string? _connectionString;

    /// <summary>The connection string of the storage endpoint (available after <see cref="InitializeAsync"/>).</summary>
    public string ConnectionString =>
        _connectionString ?? throw new InvalidOperationException("AzuriteFixture is not initialized: call InitializeAsync first.");

    /// <summary>Where the endpoint came from: "environment", "testcontainers" or "npm" (for logs).</summary>
    public string Mode { get; private set; } = "uninitialized";

    /// <summary>The local Azurite process this fixture started in "npm" mode, otherwise <see langword="null"/>.</summary>
    public LocalAzurite? LocalAzurite => _local;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            _connectionString = fromEnvironment;
            Mode = "environment";
            return;
        }

        if (DockerIsAvailable())
        {
            await StartContainerAsync().ConfigureAwait(false);
            return;
        }

        var scripts = LocalAzurite.FindRepositoryScriptsDirectory()
            ?? throw new InvalidOperationException(
                $"No Azure Storage for tests: {EnvironmentVariable} is not set, no Docker engine answers, and the " +
                $"repository's scripts/azurite folder was not found above '{AppContext.BaseDirectory}'. Run the tests " +
                "from the repository (after 'npm ci' in scripts/azurite, or with an emulator started by " +
                $"scripts/azurite.sh and {EnvironmentVariable} set to its connection string).");

        _local = await LocalAzurite.StartAsync(scripts, inMemory: true).ConfigureAwait(false);
        _connectionString = _local.ConnectionString;
        Mode = "npm";
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_local is not null)
        {
            await _local.DisposeAsync().ConfigureAwait(false);
            _local = null;
        }

        if (_container is not null)
        {
            await _container.DisposeAsync().ConfigureAwait(false);
            _container = null;
        }
    }

    private async Task StartContainerAsync()
    {
        var container = new ContainerBuilder(ContainerImage)
            .WithCommand(
                "azurite", "--skipApiVersionCheck", "--loose",
                "--blobHost", "0.0.0.0", "--queueHost", "0.0.0.0", "--tableHost", "0.0.0.0")
            .WithPortBinding(BlobPort, assignRandomHostPort: true)
            .WithPortBinding(QueuePort, assignRandomHostPort: true)
            .WithPortBinding(TablePort, assignRandomHostPort: true)
            .WithWaitStrategy(DotNet.Testcontainers.Builders.Wait.ForUnixContainer()
                .UntilInternalTcpPortIsAvailable(BlobPort)
                .UntilInternalTcpPortIsAvailable(QueuePort)
                .UntilInternalTcpPortIsAvailable(TablePort))
            .Build();
        try
        {
            await container.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            await container.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        _container = container;
        _connectionString = LocalAzurite.ConnectionStringFor(
            container.Hostname,
            container.GetMappedPublicPort(BlobPort),
            container.GetMappedPublicPort(QueuePort),
            container.GetMappedPublicPort(TablePort));
        Mode = "testcontainers";
    }

    private static bool DockerIsAvailable()
    {
        try
        {
            return TestcontainersSettings.OS.DockerEndpointAuthConfig != null;
        }
        catch (Exception)
        {
            // Probing a broken Docker configuration must not fail the tests: fall back to npm.
            return false;
        }
    }
}
