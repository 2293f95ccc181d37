using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace OrleansGroups.DeploymentTests;

/// <summary>
/// infra/ compiles and lints clean with the offline Bicep CLI, the azd parameters file matches the template,
/// and the silo container app has the shape the issue asks for (no keys, internal TCP, 2+ replicas, probes).
/// </summary>
[Trait("Category", "Deployment")]
public sealed partial class BicepTests
{
    private const string Main = "infra/main.bicep";

    [Fact]
    public async Task MainBicep_Builds_WithoutErrorsOrWarnings()
    {
        var result = await Bicep.RunAsync("build", Repo.PathOf(Main), "--stdout");

        Assert.True(result.ExitCode == 0, $"bicep build exited {result.ExitCode}:\n{result.StandardError}");
        Assert.Empty(Diagnostics(result.StandardError + result.StandardOutput));
        Assert.NotNull(JsonNode.Parse(result.StandardOutput)?["resources"]);
    }

    [Fact]
    public async Task MainBicep_AndEveryModule_LintClean()
    {
        var result = await Bicep.RunAsync("lint", Repo.PathOf(Main));

        Assert.True(result.ExitCode == 0, $"bicep lint exited {result.ExitCode}:\n{result.StandardOutput}{result.StandardError}");
        Assert.Empty(Diagnostics(result.StandardError + result.StandardOutput));
    }

    [Fact]
    public void InfraIsSplitByConcern_AndMainUsesEveryModule()
    {
        string[] concerns = ["storage", "identity", "monitoring", "containerapps-env", "registry", "silo"];
        var main = Repo.Read(Main);
        foreach (var concern in concerns)
        {
            Assert.True(Repo.Exists($"infra/modules/{concern}.bicep"), $"infra/modules/{concern}.bicep");
            Assert.Contains($"'modules/{concern}.bicep'", main);
        }
        var unused = Directory.GetFiles(Repo.PathOf("infra/modules"), "*.bicep")
            .Select(Path.GetFileName)
            .Where(f => !main.Contains($"'modules/{f}'", StringComparison.Ordinal));
        Assert.Empty(unused);
    }

    [Fact]
    public async Task ParametersFile_NamesOnlyTemplateParameters_AndCoversTheRequiredOnes()
    {
        var template = await Bicep.BuildAsync(Main);
        var parameters = template["parameters"]!.AsObject();
        var file = JsonNode.Parse(Repo.Read("infra/main.parameters.json"))!["parameters"]!.AsObject();

        Assert.DoesNotContain(file.Select(p => p.Key), name => !parameters.ContainsKey(name));
        var required = parameters.Where(p => p.Value!["defaultValue"] is null).Select(p => p.Key);
        Assert.DoesNotContain(required, name => !file.ContainsKey(name));

        // azd substitutes ${VAR} and ${VAR=default}; every value is one such reference.
        foreach (var (name, value) in file)
        {
            Assert.Matches(AzdReference(), value!["value"]!.GetValue<string>());
        }
        Assert.Equal("${SERVICE_SILO_RESOURCE_EXISTS=false}", file["siloExists"]!["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task Outputs_GiveAzdAndClientsWhatTheyNeed()
    {
        var outputs = (await Bicep.BuildAsync(Main))["outputs"]!.AsObject();

        string[] expected =
        [
            "AZURE_CONTAINER_REGISTRY_ENDPOINT", // azd pushes the image here
            "ORLEANSGROUPS_GATEWAY_FQDN", "ORLEANSGROUPS_GATEWAY_PORT",
            "ORLEANSGROUPS_CLUSTER_ID", "ORLEANSGROUPS_SERVICE_ID",
            "AZURE_STORAGE_BLOB_URI", "AZURE_STORAGE_TABLE_URI", "AZURE_MANAGED_IDENTITY_CLIENT_ID",
        ];
        Assert.DoesNotContain(expected, name => !outputs.ContainsKey(name));
        Assert.DoesNotContain(outputs, o => o.Key.Contains("KEY", StringComparison.OrdinalIgnoreCase) || o.Key.Contains("CONNECTION", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task SiloContainerApp_InternalTcpGateway_SiloPortMapping_SingleRevision_TwoReplicas_Probes_ManagedIdentity()
    {
        var template = await Bicep.BuildAsync("infra/modules/silo.bicep");
        var parameters = template["parameters"]!.AsObject();
        var variables = template["variables"]!.AsObject();
        var app = Resources(template).Single(r => r["type"]!.GetValue<string>() == "Microsoft.App/containerApps");
        var configuration = app["properties"]!["configuration"]!;
        var ingress = configuration["ingress"]!;
        var container = app["properties"]!["template"]!["containers"]![0]!;

        Assert.Equal("Single", configuration["activeRevisionsMode"]!.GetValue<string>());
        Assert.False(ingress["external"]!.GetValue<bool>());
        Assert.Equal("tcp", ingress["transport"]!.GetValue<string>());
        Assert.Equal("[parameters('gatewayPort')]", ingress["targetPort"]!.GetValue<string>());
        var mapping = Assert.Single(ingress["additionalPortMappings"]!.AsArray());
        Assert.Equal("[parameters('siloPort')]", mapping!["targetPort"]!.GetValue<string>());
        Assert.False(mapping["external"]!.GetValue<bool>());
        Assert.Equal(11111, parameters["siloPort"]!["defaultValue"]!.GetValue<int>());
        Assert.Equal(30000, parameters["gatewayPort"]!["defaultValue"]!.GetValue<int>());
        Assert.Equal(8080, parameters["healthPort"]!["defaultValue"]!.GetValue<int>());

        Assert.Equal("[parameters('minReplicas')]", app["properties"]!["template"]!["scale"]!["minReplicas"]!.GetValue<string>());
        Assert.Equal(2, parameters["minReplicas"]!["defaultValue"]!.GetValue<int>());
        Assert.Equal(2, parameters["minReplicas"]!["minValue"]!.GetValue<int>());
        Assert.Equal("UserAssigned", app["identity"]!["type"]!.GetValue<string>());

        var env = container["env"]!.AsArray().ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!["value"]!.GetValue<string>());
        Assert.Equal("azure", env["OrleansGroups__Storage"]);
        Assert.Equal("azure", env["OrleansGroups__Clustering"]);
        Assert.Equal("auto", env["OrleansGroups__AdvertisedIp"]);
        Assert.Equal("[parameters('blobServiceUri')]", env["OrleansGroups__BlobServiceUri"]);
        Assert.Equal("[parameters('tableServiceUri')]", env["OrleansGroups__TableServiceUri"]);
        Assert.Equal("[parameters('identityClientId')]", env["AZURE_CLIENT_ID"]);
        Assert.Equal("[parameters('clusterId')]", env["OrleansGroups__ClusterId"]);
        Assert.Equal("[parameters('serviceId')]", env["OrleansGroups__ServiceId"]);
        Assert.DoesNotContain(env.Keys, k => k.Contains("ConnectionString", StringComparison.OrdinalIgnoreCase) || k.Contains("Key", StringComparison.Ordinal));
        Assert.Null(configuration["secrets"]);

        // The probes (set once the silo image runs): liveness and readiness on the health port.
        Assert.Equal("[if(variables('runsSilo'), variables('siloProbes'), createArray())]", container["probes"]!.GetValue<string>());
        var probes = variables["siloProbes"]!.AsArray().ToDictionary(p => p!["type"]!.GetValue<string>());
        Assert.Equal("/healthz", probes["Liveness"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.Equal("/readyz", probes["Readiness"]!["httpGet"]!["path"]!.GetValue<string>());
        Assert.All(probes.Values, p => Assert.Equal("[parameters('healthPort')]", p!["httpGet"]!["port"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Storage_GrantsTheIdentityDataRoles_AndDisablesSharedKeys()
    {
        var template = await Bicep.BuildAsync("infra/modules/storage.bicep");
        var roles = template["variables"]!["dataContributorRoles"]!.AsObject();
        var account = Resources(template).Single(r => r["type"]!.GetValue<string>() == "Microsoft.Storage/storageAccounts");

        Assert.Equal(["blob", "queue", "table"], roles.Select(r => r.Key).Order());
        Assert.Equal("[parameters('allowSharedKeyAccess')]", account["properties"]!["allowSharedKeyAccess"]!.GetValue<string>());
        Assert.False(template["parameters"]!["allowSharedKeyAccess"]!["defaultValue"]!.GetValue<bool>());
        var registry = await Bicep.BuildAsync("infra/modules/registry.bicep");
        Assert.Equal("7f951dda-4ed3-4680-a7ca-43fe172d538d", registry["variables"]!["acrPullRole"]!.GetValue<string>()); // AcrPull
        Assert.False(Resources(registry).Single(r => r["type"]!.GetValue<string>() == "Microsoft.ContainerRegistry/registries")["properties"]!["adminUserEnabled"]!.GetValue<bool>());
    }

    /// <summary>Resources of a compiled template, whether it is an array (classic) or an object (symbolic names).</summary>
    private static IEnumerable<JsonNode> Resources(JsonObject template) => template["resources"] switch
    {
        JsonArray array => array.Select(r => r!),
        JsonObject map => map.Select(r => r.Value!),
        _ => [],
    };

    private static List<string> Diagnostics(string output) =>
        output.Split('\n').Where(l => DiagnosticLine().IsMatch(l)).ToList();

    [GeneratedRegex(@"\) : (Warning|Error|Info) ")]
    private static partial Regex DiagnosticLine();

    [GeneratedRegex(@"^\$\{[A-Z0-9_]+(=[^}]*)?\}$")]
    private static partial Regex AzdReference();
}
