using Microsoft.Extensions.Configuration;
using OrleansGroups.Hosting;
using OrleansGroups.TestKit;

namespace OrleansGroups.DeploymentTests;

/// <summary>
/// How a deployed silo reaches storage: Azurite by default, service URIs with managed identity when they are set
/// (Azure Container Apps sets only those) or when the connection string is explicitly empty.
/// </summary>
[Trait("Category", "Deployment")]
public sealed class SiloSettingsTests
{
    private static readonly Uri Blob = new("https://account.blob.core.windows.net/");
    private static readonly Uri Table = new("https://account.table.core.windows.net/");

    [Fact]
    public void Default_IsAzuriteByConnectionString()
    {
        var settings = new SiloSettings();

        Assert.Equal(AzureStorageSettings.AzuriteConnectionString, settings.EffectiveConnectionString);
        Assert.False(settings.UsesManagedIdentity);
        Assert.Empty(settings.Validate());
    }

    [Fact]
    public void ServiceUris_WithoutConnectionString_MeanManagedIdentity()
    {
        var settings = Bind(new()
        {
            ["Storage"] = "azure", ["Clustering"] = "azure", ["AdvertisedIp"] = "auto",
            ["BlobServiceUri"] = Blob.ToString(), ["TableServiceUri"] = Table.ToString(),
        });

        Assert.True(settings.UsesManagedIdentity);
        Assert.Null(settings.EffectiveOptions().Azure.ConnectionString);
        Assert.Equal(Blob, settings.EffectiveOptions().Azure.BlobServiceUri);
        Assert.Equal(Table, settings.CreateTableServiceClient().Uri);
        Assert.Empty(settings.Validate());
    }

    [Fact]
    public void AzureQueueNotifications_WithManagedIdentity_UseTheQueueEndpointNextToTheBlobEndpoint()
    {
        var settings = Bind(new()
        {
            ["Storage"] = "azure", ["BlobServiceUri"] = Blob.ToString(), ["TableServiceUri"] = Table.ToString(),
            ["Options:Consumers:Streams"] = "AzureQueue", ["Options:Consumers:FallbackFetchInterval"] = "00:00:05",
        });

        var options = settings.EffectiveOptions();
        Assert.Equal(NotificationStreams.AzureQueue, options.Consumers.Streams);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Consumers.FallbackFetchInterval);
        Assert.Equal(new Uri("https://account.queue.core.windows.net/"), options.Azure.QueueServiceUri);
        Assert.Empty(settings.Validate());
    }

    [Fact]
    public void EmptyConnectionString_MeansNone_AndThenTheUrisAreRequired()
    {
        // OrleansGroups__ConnectionString= (empty), or --connection-string "".
        var settings = Bind(new() { ["Storage"] = "azure", ["Clustering"] = "azure", ["ConnectionString"] = "" });

        Assert.True(settings.UsesManagedIdentity);
        var errors = settings.Validate();
        Assert.Contains(errors, e => e.Contains("--blob-service-uri", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("--table-service-uri", StringComparison.Ordinal));
    }

    [Fact]
    public void ExplicitConnectionString_WinsOverUris()
    {
        var settings = Bind(new() { ["ConnectionString"] = "UseDevelopmentStorage=true", ["BlobServiceUri"] = Blob.ToString() });

        Assert.Equal("UseDevelopmentStorage=true", settings.EffectiveConnectionString);
        Assert.False(settings.UsesManagedIdentity);
    }

    [Fact]
    public void AutoAdvertisedAddress_NeedsAzureClustering_AndAnIpOtherwise()
    {
        Assert.Contains(new SiloSettings { AdvertisedIp = "auto" }.Validate(), e => e.Contains("--clustering azure", StringComparison.Ordinal));
        Assert.Empty(new SiloSettings { AdvertisedIp = "auto", Clustering = ClusteringKind.Azure }.Validate());
        Assert.Contains(new SiloSettings { AdvertisedIp = "silo-1" }.Validate(), e => e.Contains("not an IP address", StringComparison.Ordinal));
    }

    [Fact]
    public void RelativeOrNonHttpUris_AreRejected()
    {
        var settings = new SiloSettings { ConnectionString = "", BlobServiceUri = new Uri("ftp://account/") };

        Assert.Contains(settings.Validate(), e => e.Contains("must be an absolute https URI", StringComparison.Ordinal));
    }

    [Fact]
    public void TlsCertificate_FromSettings_IsCheckedAndDescribed()
    {
        using var certificate = TestCertificate.CreateSelfSigned();
        var settings = Bind(new() { ["TlsCertificate"] = certificate.PfxPath, ["TlsCertificatePassword"] = certificate.Password });

        Assert.Empty(settings.Validate());
        Assert.True(settings.UsesTls);
        Assert.Contains(certificate.Certificate.Thumbprint, settings.TlsCertificateDescription);
        Assert.Null(new SiloSettings().TlsCertificateDescription);
    }

    [Fact]
    public void TlsCertificate_Problems_AreEachOneClearError()
    {
        using var certificate = TestCertificate.CreateSelfSigned();
        using var serverOnly = TestCertificate.CreateSelfSigned(clientAuthentication: false);

        Assert.Contains(new SiloSettings { TlsCertificate = certificate.PfxPath, TlsCertificatePassword = "wrong" }.Validate(),
            e => e.Contains("cannot be read as a PKCS#12", StringComparison.Ordinal) && e.Contains("--tls-certificate-password", StringComparison.Ordinal));
        Assert.Contains(new SiloSettings { TlsCertificate = certificate.PfxPath + ".missing" }.Validate(),
            e => e.StartsWith("--tls-certificate", StringComparison.Ordinal));
        Assert.Contains(new SiloSettings { TlsCertificate = certificate.PublicPemPath }.Validate(),
            e => e.StartsWith("--tls-certificate", StringComparison.Ordinal));
        Assert.Contains(new SiloSettings { TlsCertificate = serverOnly.PfxPath, TlsCertificatePassword = serverOnly.Password }.Validate(),
            e => e.Contains("server and client authentication", StringComparison.Ordinal));
        using var expired = TestCertificate.CreateSelfSigned(validFor: TimeSpan.FromMinutes(-30));
        Assert.Contains(new SiloSettings { TlsCertificate = expired.PfxPath, TlsCertificatePassword = expired.Password }.Validate(),
            e => e.Contains("is valid only from", StringComparison.Ordinal));
        Assert.Contains(new SiloSettings { TlsCertificatePassword = "secret" }.Validate(),
            e => e.Contains("--tls-certificate-password needs --tls-certificate", StringComparison.Ordinal));
    }

    private static SiloSettings Bind(Dictionary<string, string?> values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.ToDictionary(v => $"OrleansGroups:{v.Key}", v => v.Value))
            .Build()
            .GetSection("OrleansGroups")
            .Get<SiloSettings>()!;
}
