using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using OrleansGroups.TestKit;

namespace OrleansGroups.DeploymentTests;

/// <summary>
/// The Bicep CLI from the <c>Azure.Bicep.CommandLine.linux-x64</c> NuGet package, which the test project's
/// PackageDownload puts in the NuGet global packages folder at restore. Works offline.
/// </summary>
internal static class Bicep
{
    public const string PackageId = "azure.bicep.commandline.linux-x64";
    public const string Version = "0.49.2";

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);
    private static readonly Lazy<Task<string>> LazyPath = new(LocateAsync);

    public static Task<string> PathAsync() => LazyPath.Value;

    /// <summary>Runs <c>bicep {args}</c> in the repository root.</summary>
    public static async Task<ProcessResult> RunAsync(params string[] args) =>
        await ChildProcess.RunAsync(await PathAsync(), args, stdin: null, Timeout);

    /// <summary>Compiles a Bicep file (repository-relative) to its ARM JSON template.</summary>
    public static async Task<JsonObject> BuildAsync(string relative)
    {
        var result = await RunAsync("build", Repo.PathOf(relative), "--stdout");
        Assert.True(result.ExitCode == 0, $"bicep build {relative} exited {result.ExitCode}:\n{result.StandardError}");
        return JsonNode.Parse(result.StandardOutput)!.AsObject();
    }

    private static async Task<string> LocateAsync()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
        {
            throw new PlatformNotSupportedException(
                $"These tests run the {PackageId} Bicep CLI, which needs Linux x64 (this is {RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture}).");
        }
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrWhiteSpace(root))
        {
            // "global-packages: /home/me/.nuget/packages/"
            var locals = await ChildProcess.RunAsync(ChildProcess.DotnetHost, ["nuget", "locals", "global-packages", "--list"], stdin: null, Timeout);
            var line = locals.StandardOutput.Split('\n').FirstOrDefault(l => l.Contains("global-packages:", StringComparison.Ordinal));
            root = line?[(line.IndexOf(':') + 1)..].Trim()
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }
        var path = Path.Combine(root, PackageId, Version, "tools", "bicep");
        Assert.True(File.Exists(path), $"{path} is missing: restore tests/OrleansGroups.DeploymentTests (its PackageDownload fetches the Bicep CLI).");

        // NuGet does not keep the run bit of package files.
        var mode = File.GetUnixFileMode(path);
        const UnixFileMode execute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        if ((mode & UnixFileMode.UserExecute) == 0)
        {
            File.SetUnixFileMode(path, mode | execute);
        }
        return path;
    }
}
