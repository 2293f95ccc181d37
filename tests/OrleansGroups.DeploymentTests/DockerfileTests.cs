using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using OrleansGroups.TestKit;

namespace OrleansGroups.DeploymentTests;

/// <summary>
/// The silo image without a Docker engine: every path the Dockerfile copies exists in the build context
/// (the repository root) and is not dockerignored, the stages and user are right, and the silo publishes.
/// </summary>
[Trait("Category", "Deployment")]
public sealed partial class DockerfileTests
{
    private const string DockerfilePath = "src/OrleansGroups.Silo/Dockerfile";
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(5);

    private static IReadOnlyList<string> Instructions => JoinContinuations(Repo.Read(DockerfilePath));

    [Fact]
    public void EveryCopiedPath_ExistsInTheBuildContext_AndIsNotDockerignored()
    {
        var ignored = Repo.Read(".dockerignore").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var copies = Instructions.Where(i => i.StartsWith("COPY ", StringComparison.OrdinalIgnoreCase) && !i.Contains("--from=", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(copies);
        foreach (var copy in copies)
        {
            var parts = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Where(p => !p.StartsWith("--", StringComparison.Ordinal)).ToList();
            foreach (var source in parts.Take(parts.Count - 1))
            {
                Assert.True(Repo.Exists(source), $"'{copy}': {source} is missing");
                var top = source.TrimEnd('/').Split('/')[0];
                Assert.DoesNotContain(ignored, pattern => pattern.TrimEnd('/') == top || pattern.TrimEnd('/') == source.TrimEnd('/'));
            }
        }

        // Every project the silo builds from is copied (a new ProjectReference must be added to the Dockerfile).
        var dockerfile = Repo.Read(DockerfilePath);
        foreach (var project in SiloProjectClosure())
        {
            Assert.Contains($"COPY {project}/{Path.GetFileName(project)}.csproj {project}/", dockerfile);
            Assert.Contains($"COPY {project}/ {project}/", dockerfile);
        }
    }

    [Fact]
    public void Stages_SdkBuildThenAspNetRuntime_NonRootUser_PortsAndEntryPoint()
    {
        var from = Instructions.Where(i => i.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, from.Count);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/sdk:", from[0]);
        Assert.Matches(@"^FROM mcr\.microsoft\.com/dotnet/(aspnet|runtime):", from[1]);
        Assert.Contains("ARG DOTNET_VERSION=10.0", Instructions);

        var user = Instructions.Last(i => i.StartsWith("USER ", StringComparison.Ordinal))[5..].Trim();
        Assert.DoesNotContain(user, new[] { "root", "0", "0:0" });

        var exposed = Instructions.Where(i => i.StartsWith("EXPOSE ", StringComparison.Ordinal))
            .SelectMany(i => i[7..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet();
        Assert.Superset(new HashSet<string> { "11111", "30000", "8080" }, exposed);
        Assert.Contains(Instructions, i => i == """ENTRYPOINT ["dotnet", "OrleansGroups.Silo.dll"]""");
        Assert.Contains(Instructions, i => i.StartsWith("RUN dotnet publish src/OrleansGroups.Silo/OrleansGroups.Silo.csproj -c Release", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheSiloPublishes_WithTheAspNetCoreFramework_AndKubernetesHosting()
    {
        // --no-build: publish what the test run built, without rewriting the binaries other tests run.
        var output = Directory.CreateTempSubdirectory("og-publish-");
        try
        {
            var result = await ChildProcess.RunAsync(ChildProcess.DotnetHost,
                ["publish", Repo.PathOf("src/OrleansGroups.Silo/OrleansGroups.Silo.csproj"), "-c", RepositoryPaths.Configuration,
                 "--no-build", "-o", output.FullName, "-p:UseAppHost=false", "-nologo", "-v", "q"],
                stdin: null, PublishTimeout);

            Assert.True(result.ExitCode == 0, $"dotnet publish exited {result.ExitCode}:\n{result.StandardOutput}\n{result.StandardError}");
            foreach (var file in new[] { "OrleansGroups.Silo.dll", "appsettings.json", "Orleans.Hosting.Kubernetes.dll", "OrleansGroups.Grains.dll" })
            {
                Assert.True(File.Exists(Path.Combine(output.FullName, file)), $"{file} is published");
            }
            var runtimeConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(output.FullName, "OrleansGroups.Silo.runtimeconfig.json")))!;
            var frameworks = runtimeConfig["runtimeOptions"]!["frameworks"]!.AsArray().Select(f => f!["name"]!.GetValue<string>());
            Assert.Contains("Microsoft.AspNetCore.App", frameworks);
        }
        finally
        {
            output.Delete(recursive: true);
        }
    }

    /// <summary>src/ folders of the silo project and everything it references, e.g. src/OrleansGroups.Core.</summary>
    private static SortedSet<string> SiloProjectClosure()
    {
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(["src/OrleansGroups.Silo"]);
        while (pending.TryPop(out var project))
        {
            if (!found.Add(project))
            {
                continue;
            }
            var csproj = Repo.Read($"{project}/{Path.GetFileName(project)}.csproj");
            foreach (Match reference in ProjectReference().Matches(csproj))
            {
                pending.Push($"src/{reference.Groups[1].Value}");
            }
        }
        return found;
    }

    private static List<string> JoinContinuations(string text)
    {
        var instructions = new List<string>();
        var current = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || line.Length == 0)
            {
                continue;
            }
            current += line.EndsWith('\\') ? line[..^1] + " " : line;
            if (!line.EndsWith('\\'))
            {
                instructions.Add(current.Trim());
                current = "";
            }
        }
        return instructions;
    }

    [GeneratedRegex(@"<ProjectReference Include=""\.\.\\([^\\""]+)\\[^""]+\.csproj""")]
    private static partial Regex ProjectReference();
}
