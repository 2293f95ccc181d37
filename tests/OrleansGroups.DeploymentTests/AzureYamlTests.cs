using YamlDotNet.RepresentationModel;

namespace OrleansGroups.DeploymentTests;

/// <summary>azure.yaml parses, describes the silo service on Container Apps, and every path in it exists.</summary>
[Trait("Category", "Deployment")]
public sealed class AzureYamlTests
{
    private readonly YamlMappingNode _azd = Assert.Single(Yaml.LoadDocuments(Repo.PathOf("azure.yaml")));

    [Fact]
    public void SiloService_IsADotnetContainerApp_BuiltFromTheDockerfile()
    {
        Assert.False(string.IsNullOrWhiteSpace(_azd.Str("name")));
        var silo = _azd.At("services", "silo");
        Assert.NotNull(silo);
        Assert.Equal("containerapp", silo.Str("host"));
        Assert.Equal("dotnet", silo.Str("language"));
        Assert.Equal(["silo"], ((YamlMappingNode)_azd.At("services")!).Children.Keys.Select(k => ((YamlScalarNode)k).Value));
    }

    [Fact]
    public void EveryPath_Exists()
    {
        var project = _azd.Str("services", "silo", "project")!;
        Assert.True(Repo.Exists(project), $"project {project}");
        Assert.True(File.Exists(Path.Combine(Repo.PathOf(project), "OrleansGroups.Silo.csproj")), "the project folder holds the silo project");

        // azd resolves the docker path and context against the project folder.
        var dockerfile = Path.GetFullPath(Path.Combine(Repo.PathOf(project), _azd.Str("services", "silo", "docker", "path")!));
        var context = Path.GetFullPath(Path.Combine(Repo.PathOf(project), _azd.Str("services", "silo", "docker", "context")!));
        Assert.True(File.Exists(dockerfile), dockerfile);
        Assert.Equal(Path.TrimEndingDirectorySeparator(Repo.Root), Path.TrimEndingDirectorySeparator(context));

        var infra = _azd.Str("infra", "path")!;
        Assert.Equal("bicep", _azd.Str("infra", "provider"));
        Assert.True(File.Exists(Path.Combine(Repo.PathOf(infra), $"{_azd.Str("infra", "module") ?? "main"}.bicep")));
        Assert.True(File.Exists(Path.Combine(Repo.PathOf(infra), "main.parameters.json")));
    }

    [Fact]
    public void TheSiloAppIsTaggedForAzd()
    {
        // azd finds the container app to deploy to by the azd-service-name tag.
        Assert.Contains("'azd-service-name': 'silo'", Repo.Read("infra/modules/silo.bicep"));
    }
}
