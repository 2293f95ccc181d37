using System.Text.RegularExpressions;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

/// <summary>The samples the README points to, run as a reader would run them.</summary>
[Trait("Category", "EndToEnd")]
public sealed class SampleTests
{
    private static string SampleOutput(string project) =>
        Path.Combine(RepositoryPaths.Root, "samples", project, "bin", RepositoryPaths.Configuration, RepositoryPaths.TargetFramework, project + ".dll");

    [Fact]
    public async Task GrainMembersSample_SplitsThePartitions_AndItsTotalsMatchWhatWasProduced()
    {
        var result = await ChildProcess.RunAsync(ChildProcess.DotnetHost, [SampleOutput("GrainMembers")], null, TimeSpan.FromMinutes(2));

        Assert.True(result.ExitCode == 0, result.StandardOutput + result.StandardError);
        Assert.Matches(new Regex(@"totals-a: partitions \[\d, \d\], \d+ orders"), result.StandardOutput);
        Assert.Matches(new Regex(@"totals-b: partitions \[\d, \d\], \d+ orders"), result.StandardOutput);
        Assert.Contains("Every order was delivered once", result.StandardOutput);
    }
}
