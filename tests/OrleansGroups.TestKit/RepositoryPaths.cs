using System.Reflection;

namespace OrleansGroups.TestKit;

/// <summary>Locations inside the repository, for tests that start the built programs.</summary>
public static class RepositoryPaths
{
    private const string SolutionFile = "OrleansGroups.sln";

    private static readonly Lazy<string> LazyRoot = new(FindRoot);
    private static readonly Lazy<(string Configuration, string TargetFramework)> LazyBuild = new(DetectBuild);

    /// <summary>The repository root: the nearest folder above the test output that holds OrleansGroups.sln.</summary>
    public static string Root => LazyRoot.Value;

    /// <summary>The build configuration of the running tests (e.g. Debug or Release), from their output path.</summary>
    public static string Configuration => LazyBuild.Value.Configuration;

    /// <summary>The target framework folder of the running tests (e.g. net10.0), from their output path.</summary>
    public static string TargetFramework => LazyBuild.Value.TargetFramework;

    /// <summary>
    /// The built assembly of a project under <c>src/</c>, for the same configuration and target
    /// framework as the running tests: <c>src/{projectName}/bin/{Configuration}/{tfm}/{assemblyName}.dll</c>.
    /// </summary>
    /// <param name="projectName">The project folder under <c>src/</c>, e.g. <c>OrleansGroups.Silo</c>.</param>
    /// <param name="assemblyName">The assembly name, with or without <c>.dll</c>.</param>
    /// <returns>The full path of the dll.</returns>
    /// <exception cref="FileNotFoundException">The project has not been built for this configuration.</exception>
    public static string ProjectOutput(string projectName, string assemblyName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(projectName);
        ArgumentException.ThrowIfNullOrWhiteSpace(assemblyName);
        var fileName = assemblyName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? assemblyName : assemblyName + ".dll";
        var path = Path.Combine(Root, "src", projectName, "bin", Configuration, TargetFramework, fileName);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"'{path}' does not exist: build src/{projectName} with -c {Configuration} first " +
                "(test projects reference it with ReferenceOutputAssembly=false so that building the tests builds it).",
                path);
        }

        return path;
    }

    private static string FindRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, SolutionFile)))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException(
            $"Could not find {SolutionFile} above '{AppContext.BaseDirectory}' or '{Directory.GetCurrentDirectory()}'.");
    }

    // The test output path looks like .../bin/<Configuration>/<tfm>/ (no RuntimeIdentifier folder).
    private static (string Configuration, string TargetFramework) DetectBuild()
    {
        var output = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
        var configurationDir = output.Parent;
        if (configurationDir?.Parent is { Name: "bin" })
        {
            return (configurationDir.Name, output.Name);
        }

        var configuration = typeof(RepositoryPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration;
        return (string.IsNullOrEmpty(configuration) ? "Debug" : configuration, $"net{Environment.Version.Major}.{Environment.Version.Minor}");
    }
}
