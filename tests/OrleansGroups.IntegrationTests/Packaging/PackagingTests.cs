using System.Diagnostics;
using System.Text.RegularExpressions;
using OrleansGroups.TestKit;
using Xunit.Abstractions;

namespace OrleansGroups.IntegrationTests.Packaging;

/// <summary>
/// Proof that a user can consume what <c>dotnet pack</c> makes: the solution is packed into a temporary
/// folder, a small Orleans app outside the repository (<c>Packaging/PackagedApp</c>: no project
/// references, no inherited Directory.*.props) is built against those packages only and runs a silo
/// with <c>AddOrleansGroups()</c> and a client that produces and consumes a record, and the <c>og</c>
/// tool is installed from the same folder and talks to that silo.
/// </summary>
/// <remarks>
/// Packs with <c>--no-build</c>: it packs what this test run built (the test assembly is part of the
/// solution, and rebuilding it under a running test host is not safe). Restores use the machine's
/// NuGet sources plus the pack folder, with a private global-packages folder (the machine's one as a
/// read-only fallback), so a package of the same version from an earlier run is never reused. Slow
/// (pack, restore, build, tool install): one test, Category Packaging.
/// </remarks>
[Trait("Category", "Packaging")]
public sealed class PackagingTests(ITestOutputHelper output)
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task PackedPackages_BuildAndRunAnAppOutsideTheRepository_AndTheToolTalksToItsSilo()
    {
        var work = Directory.CreateTempSubdirectory("og-packaging-");
        var packages = Path.Combine(work.FullName, "packages");
        var feed = Path.Combine(work.FullName, "feed");
        var app = Path.Combine(work.FullName, "app");
        var tools = Path.Combine(work.FullName, "tools");
        var clock = Stopwatch.StartNew();
        try
        {
            // 1. Pack the solution, as a release would.
            await Dotnet(
                ["pack", Path.Combine(RepositoryPaths.Root, "OrleansGroups.sln"), "-c", RepositoryPaths.Configuration, "--no-build", "-o", feed],
                RepositoryPaths.Root, packages);
            var version = PackedVersion(feed);
            string[] expected = ["OrleansGroups.Abstractions", "OrleansGroups.Cli", "OrleansGroups.Client", "OrleansGroups.Core", "OrleansGroups.Server"];
            Assert.Equal(
                expected.SelectMany(id => new[] { $"{id}.{version}.nupkg", $"{id}.{version}.snupkg" }).Order(StringComparer.Ordinal),
                Directory.GetFiles(feed).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            output.WriteLine($"packed {version} in {clock.Elapsed.TotalSeconds:0} s");

            // 2. A user's app in a folder of its own: packages only, nothing inherited from above.
            WriteApp(app, feed, version);
            var install = Dotnet(
                ["tool", "install", "--tool-path", tools, "OrleansGroups.Cli", "--add-source", feed, "--version", version],
                app, packages);
            await Dotnet(["build", app, "-c", "Release"], app, packages);
            await install;
            output.WriteLine($"app built and tool installed at {clock.Elapsed.TotalSeconds:0} s");

            // 3. Run it: a silo in memory mode and a client that produces and consumes one record.
            var ports = FreePorts.Get(2);
            await using var silo = ChildProcess.StartDotnet(
                Path.Combine(app, "bin", "Release", "net10.0", "PackagedApp.dll"), [ports[0].ToString(), ports[1].ToString()]);
            var consumed = await silo.WaitForOutputAsync("consumed ", TimeSpan.FromSeconds(90));
            Assert.Equal("consumed hello=from the packages at greetings/0@0", consumed);
            await silo.WaitForOutputAsync("serving on gateway", TimeSpan.FromSeconds(30));

            // 4. The installed tool: its help, and a command against the app's silo.
            var og = Path.Combine(tools, "og");
            var help = await Run(og, ["--help"]);
            Assert.Contains("topic", help.StandardOutput, StringComparison.Ordinal);
            // The app's UseLocalhostClustering uses Orleans' ids ("default"); og defaults to the silo host's.
            var list = await Run(og, ["topic", "list", "--gateway", $"127.0.0.1:{ports[1]}", "--cluster-id", "default", "--service-id", "default"]);
            Assert.Contains("greetings", list.StandardOutput, StringComparison.Ordinal);

            await silo.StopAsync();
            output.WriteLine($"done in {clock.Elapsed.TotalSeconds:0} s");
        }
        finally
        {
            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A file still held by an exiting process; the temp folder is cleaned by the system.
            }
        }
    }

    // The version every package carries (MinVer: one for all), from the file names.
    private static string PackedVersion(string feed)
    {
        var client = Directory.GetFiles(feed, "OrleansGroups.Client.*.nupkg").Single();
        return Regex.Match(Path.GetFileName(client), @"^OrleansGroups\.Client\.(.+)\.nupkg$").Groups[1].Value;
    }

    private static void WriteApp(string app, string feed, string version)
    {
        Directory.CreateDirectory(app);
        var source = Path.Combine(RepositoryPaths.Root, "tests", "OrleansGroups.IntegrationTests", "Packaging", "PackagedApp");
        File.Copy(Path.Combine(source, "Program.cs"), Path.Combine(app, "Program.cs"));
        File.WriteAllText(
            Path.Combine(app, "PackagedApp.csproj"),
            File.ReadAllText(Path.Combine(source, "PackagedApp.csproj.template")).Replace("$VERSION$", version, StringComparison.Ordinal));
        // Stop MSBuild's walk up for Directory.Build.props/.targets and central package management.
        foreach (var name in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            File.WriteAllText(Path.Combine(app, name), "<Project />\n");
        }

        // The machine's sources (inherited from the user's NuGet.Config) plus the pack folder; the
        // machine's global packages folder serves what it already holds, read-only.
        var machinePackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="orleansgroups-packed" value="{feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{machinePackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
    }

    // dotnet with no build servers left behind and a private global packages folder.
    private async Task Dotnet(string[] args, string workingDirectory, string packages)
    {
        var started = Stopwatch.StartNew();
        await using var process = ChildProcess.Start(
            ChildProcess.DotnetHost,
            [.. args, .. args[0] == "tool" ? Array.Empty<string>() : ["-nologo", "-nodeReuse:false", "-p:UseSharedCompilation=false"]],
            new Dictionary<string, string?>
            {
                ["NUGET_PACKAGES"] = packages,
                ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
                ["MSBUILDDISABLENODEREUSE"] = "1",
                ["DOTNET_NOLOGO"] = "1",
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            },
            workingDirectory);
        var exitCode = await process.WaitForExitAsync(CommandTimeout);
        Assert.True(exitCode == 0, $"dotnet {string.Join(' ', args)} exited {exitCode}:{Environment.NewLine}{process.OutputText}");
        output.WriteLine($"dotnet {args[0]} {args[1]}: {started.Elapsed.TotalSeconds:0.0} s");
    }

    private static async Task<ProcessResult> Run(string executable, string[] args)
    {
        var result = await ChildProcess.RunAsync(
            executable, args, stdin: null, TimeSpan.FromMinutes(1),
            new Dictionary<string, string> { ["DOTNET_ROOT"] = Path.GetDirectoryName(Path.GetFullPath(ResolveDotnet()))! });
        Assert.True(result.ExitCode == 0, $"{executable} {string.Join(' ', args)} exited {result.ExitCode}:{Environment.NewLine}{result.StandardOutput}{result.StandardError}");
        return result;
    }

    // The dotnet executable's real path (the tool's launcher finds the runtime beside it).
    private static string ResolveDotnet()
    {
        var host = ChildProcess.DotnetHost;
        if (Path.IsPathRooted(host))
        {
            return new FileInfo(host).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? host;
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, host);
            if (File.Exists(candidate))
            {
                return new FileInfo(candidate).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? candidate;
            }
        }

        return host;
    }
}
