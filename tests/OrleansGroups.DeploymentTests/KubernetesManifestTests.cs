using OrleansGroups.Hosting;
using YamlDotNet.RepresentationModel;

namespace OrleansGroups.DeploymentTests;

/// <summary>
/// infra/k8s (kustomize) parsed and checked: what Orleans' Kubernetes hosting needs (labels, fieldRef env,
/// RBAC), probes on the silo's health endpoint, a long grace period for graceful shutdown, a PDB, a gateway
/// Service, and both storage options (Secret, workload identity).
/// </summary>
[Trait("Category", "Deployment")]
public sealed class KubernetesManifestTests
{
    private const string Folder = "infra/k8s";
    private readonly IReadOnlyList<YamlMappingNode> _objects;

    public KubernetesManifestTests()
    {
        var kustomization = Kustomization(Folder);
        _objects = kustomization.Items("resources")
            .Select(r => ((YamlScalarNode)r).Value!)
            .SelectMany(r => Yaml.LoadDocuments(Repo.PathOf($"{Folder}/{r}")))
            .ToList();
    }

    private YamlMappingNode Deployment => Single("Deployment");

    private YamlNode PodSpec => Deployment.At("spec", "template", "spec")!;

    private YamlNode Silo => PodSpec.Items("containers").Single(c => c.Str("name") == "silo");

    [Fact]
    public void Kustomization_ListsExistingFiles_AndEveryObjectHasApiVersionKindAndName()
    {
        var kustomization = Kustomization(Folder);
        Assert.Equal("Kustomization", kustomization.Str("kind"));
        Assert.All(kustomization.Items("resources"), r => Assert.True(Repo.Exists($"{Folder}/{((YamlScalarNode)r).Value}"), $"{r} exists"));
        Assert.All(kustomization.Items("components"), c => Assert.True(Repo.Exists($"{Folder}/{((YamlScalarNode)c).Value}"), $"{c} exists"));
        Assert.All(_objects, o =>
        {
            Assert.False(string.IsNullOrEmpty(o.Str("apiVersion")));
            Assert.False(string.IsNullOrEmpty(o.Str("kind")));
            Assert.False(string.IsNullOrEmpty(o.Str("metadata", "name")));
        });
        Assert.Equal(
            ["Deployment", "Namespace", "PodDisruptionBudget", "Role", "RoleBinding", "Service", "ServiceAccount"],
            _objects.Select(o => o.Str("kind")!).Order());
        Assert.Contains(kustomization.Items("images"), i => i.Str("name") == Silo.Str("image"));
    }

    [Fact]
    public void Pods_CarryTheOrleansLabels_AndTheDeploymentSelectsThem()
    {
        var labels = Deployment.Map("spec", "template", "metadata", "labels");
        Assert.False(string.IsNullOrWhiteSpace(labels.GetValueOrDefault("orleans/serviceId")));
        Assert.False(string.IsNullOrWhiteSpace(labels.GetValueOrDefault("orleans/clusterId")));
        var selector = Deployment.Map("spec", "selector", "matchLabels");
        Assert.NotEmpty(selector);
        Assert.All(selector, s => Assert.Equal(s.Value, labels.GetValueOrDefault(s.Key)));
        Assert.True(int.Parse(Deployment.Str("spec", "replicas")!) >= 2, "at least two silos");
    }

    [Fact]
    public void SiloEnvironment_HasThePodFieldRefs_TheIdsFromTheLabels_AndAzureClustering()
    {
        var env = Silo.Items("env").ToDictionary(e => e.Str("name")!);
        Assert.Equal("metadata.name", env["POD_NAME"].Str("valueFrom", "fieldRef", "fieldPath"));
        Assert.Equal("metadata.namespace", env["POD_NAMESPACE"].Str("valueFrom", "fieldRef", "fieldPath"));
        Assert.Equal("status.podIP", env["POD_IP"].Str("valueFrom", "fieldRef", "fieldPath"));
        Assert.Equal("metadata.labels['orleans/serviceId']", env["ORLEANS_SERVICE_ID"].Str("valueFrom", "fieldRef", "fieldPath"));
        Assert.Equal("metadata.labels['orleans/clusterId']", env["ORLEANS_CLUSTER_ID"].Str("valueFrom", "fieldRef", "fieldPath"));
        Assert.Equal("azure", env["OrleansGroups__Clustering"].Str("value"));
        Assert.Equal("azure", env["OrleansGroups__Storage"].Str("value"));
        Assert.DoesNotContain(env.Values, e => e.Str("name")!.Contains("ConnectionString", StringComparison.Ordinal) && e.Str("value") is not null);

        // Storage settings come from the Secret (or, with the workload-identity component, a ConfigMap).
        Assert.Equal("orleansgroups-storage", Silo.Str("envFrom", 0, "secretRef", "name"));
    }

    [Fact]
    public void Ports_MatchTheSiloDefaults_AndProbesUseTheHealthEndpoint()
    {
        var ports = Silo.Items("ports").ToDictionary(p => p.Str("name")!, p => int.Parse(p.Str("containerPort")!));
        Assert.Equal(SiloSettings.DefaultSiloPort, ports["silo"]);
        Assert.Equal(SiloSettings.DefaultGatewayPort, ports["gateway"]);
        Assert.Equal(8080, ports["health"]);

        Assert.Equal("/healthz", Silo.Str("livenessProbe", "httpGet", "path"));
        Assert.Equal("/readyz", Silo.Str("readinessProbe", "httpGet", "path"));
        Assert.Equal("/healthz", Silo.Str("startupProbe", "httpGet", "path"));
        foreach (var probe in new[] { "livenessProbe", "readinessProbe", "startupProbe" })
        {
            Assert.Equal("health", Silo.Str(probe, "httpGet", "port"));
        }
        var env = Silo.Items("env").ToDictionary(e => e.Str("name")!, e => e.Str("value"));
        Assert.Equal("8080", env["OrleansGroups__HealthPort"]);
    }

    [Fact]
    public void GracePeriod_IsLong_AndTheSiloDrainsWithinIt_WithResourcesSet()
    {
        var grace = int.Parse(PodSpec.Str("terminationGracePeriodSeconds")!);
        var shutdown = int.Parse(Silo.Items("env").Single(e => e.Str("name") == "OrleansGroups__ShutdownTimeoutSeconds").Str("value")!);
        Assert.True(grace >= 120, $"terminationGracePeriodSeconds {grace} is long enough to drain a silo");
        Assert.True(shutdown < grace, $"the silo's shutdown budget ({shutdown} s) ends before the kill ({grace} s)");
        Assert.NotNull(Silo.Str("resources", "requests", "cpu"));
        Assert.NotNull(Silo.Str("resources", "requests", "memory"));
        Assert.NotNull(Silo.Str("resources", "limits", "memory"));
        Assert.Equal("true", PodSpec.Str("securityContext", "runAsNonRoot"));
    }

    [Fact]
    public void Rbac_LetsTheSilosServiceAccountReadAndWatchPods()
    {
        var account = Single("ServiceAccount").Str("metadata", "name");
        Assert.Equal(account, PodSpec.Str("serviceAccountName"));

        var role = Single("Role");
        var rule = Assert.Single(role.Items("rules"));
        Assert.Equal([""], rule.Items("apiGroups").Select(g => ((YamlScalarNode)g).Value));
        Assert.Equal(["pods"], rule.Items("resources").Select(g => ((YamlScalarNode)g).Value));
        var verbs = rule.Items("verbs").Select(v => ((YamlScalarNode)v).Value).ToHashSet();
        // Orleans' Kubernetes hosting lists and watches the cluster's pods and patches its own pod's labels.
        Assert.Superset(new HashSet<string?> { "get", "list", "watch", "patch" }, verbs);

        var binding = Single("RoleBinding");
        Assert.Equal("Role", binding.Str("roleRef", "kind"));
        Assert.Equal(role.Str("metadata", "name"), binding.Str("roleRef", "name"));
        var subject = Assert.Single(binding.Items("subjects"));
        Assert.Equal("ServiceAccount", subject.Str("kind"));
        Assert.Equal(account, subject.Str("name"));
    }

    [Fact]
    public void DisruptionBudget_AndGatewayService_SelectTheSilos()
    {
        var podLabels = Deployment.Map("spec", "template", "metadata", "labels");
        var pdb = Single("PodDisruptionBudget");
        Assert.True(pdb.Str("spec", "maxUnavailable") is not null || pdb.Str("spec", "minAvailable") is not null);
        Assert.All(pdb.Map("spec", "selector", "matchLabels"), s => Assert.Equal(s.Value, podLabels.GetValueOrDefault(s.Key)));

        var service = Single("Service");
        Assert.NotEmpty(service.Map("spec", "selector"));
        Assert.All(service.Map("spec", "selector"), s => Assert.Equal(s.Value, podLabels.GetValueOrDefault(s.Key)));
        var port = Assert.Single(service.Items("spec", "ports"));
        Assert.Equal("gateway", port.Str("targetPort"));
        Assert.Equal(SiloSettings.DefaultGatewayPort.ToString(), port.Str("port"));
    }

    [Fact]
    public void WorkloadIdentityComponent_ReplacesTheSecretWithServiceUris_AndPatchesExistingObjects()
    {
        const string component = $"{Folder}/components/workload-identity";
        var kustomization = Kustomization(component);
        Assert.Equal("Component", kustomization.Str("kind"));
        Assert.Contains("components/workload-identity", Repo.Read($"{Folder}/kustomization.yaml"));

        var literals = kustomization.Items("configMapGenerator", 0, "literals").Select(l => ((YamlScalarNode)l).Value!).ToList();
        Assert.Contains(literals, l => l.StartsWith("OrleansGroups__BlobServiceUri=https://", StringComparison.Ordinal));
        Assert.Contains(literals, l => l.StartsWith("OrleansGroups__TableServiceUri=https://", StringComparison.Ordinal));

        var patches = kustomization.Items("patches");
        Assert.All(patches, p => Assert.Contains(_objects, o => o.Str("kind") == p.Str("target", "kind") && o.Str("metadata", "name") == p.Str("target", "name")));
        var bodies = patches.Select(p => LoadString(p.Str("patch")!)).ToList();
        Assert.Contains(bodies, b => b.Map("metadata", "annotations").ContainsKey("azure.workload.identity/client-id"));
        var deployment = bodies.Single(b => b.Str("kind") == "Deployment");
        Assert.Equal("true", deployment.Str("spec", "template", "metadata", "labels", "azure.workload.identity/use"));
        Assert.Equal(kustomization.Str("configMapGenerator", 0, "name"),
            deployment.Str("spec", "template", "spec", "containers", 0, "envFrom", 0, "configMapRef", "name"));
    }

    private YamlMappingNode Single(string kind) => Assert.Single(_objects, o => o.Str("kind") == kind);

    private static YamlMappingNode Kustomization(string folder) =>
        Assert.Single(Yaml.LoadDocuments(Repo.PathOf($"{folder}/kustomization.yaml")));

    private static YamlMappingNode LoadString(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }
}
