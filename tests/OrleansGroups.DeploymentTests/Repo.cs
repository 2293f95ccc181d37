using OrleansGroups.TestKit;

namespace OrleansGroups.DeploymentTests;

/// <summary>Files of the repository under test.</summary>
internal static class Repo
{
    public static string Root => RepositoryPaths.Root;

    /// <summary>The full path of a repository-relative path written with forward slashes.</summary>
    public static string PathOf(string relative) => Path.GetFullPath(Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar)));

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));

    /// <summary>True when the relative path names an existing file or directory.</summary>
    public static bool Exists(string relative) => File.Exists(PathOf(relative)) || Directory.Exists(PathOf(relative));
}
