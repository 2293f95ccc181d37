using Microsoft.Extensions.Configuration;
using OrleansGroups.Hosting;

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

    private static SiloSettings Bind(Dictionary<string, string?> values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.ToDictionary(v => $"OrleansGroups:{v.Key}", v => v.Value))
            .Build()
            .GetSection("OrleansGroups")
            .Get<SiloSettings>()!;
}
