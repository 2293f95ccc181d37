using System.Text.RegularExpressions;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

/// <summary><c>og demo</c>, the README's first command, run as a newcomer would run it.</summary>
[Trait("Category", "EndToEnd")]
public sealed class DemoTests
{
    [Theory]
    [InlineData("memory", "Storage  memory")]
    [InlineData("azure", "Storage  Azure Storage")]
    public async Task Demo_TellsTheStory_AndProvesNoRecordWasReadTwice(string storage, string storageLine)
    {
        var result = await ChildProcess.RunAsync(ChildProcess.DotnetHost,
            [RepositoryPaths.ProjectOutput("OrleansGroups.Cli", "og"), "demo", "--storage", storage], null, TimeSpan.FromMinutes(3));

        Assert.True(result.ExitCode == 0, result.StandardOutput + result.StandardError);
        var output = result.StandardOutput;
        Assert.Contains(storageLine, output);
        Assert.Matches(new Regex(@"consumer-1 owns 2, consumer-2 owns 2"), output);
        Assert.Contains("consumer-3 joins", output);
        Assert.Matches(new Regex(@"billing\s+(\d+)\s+\1\s+\1\s+0\s+0"), output);
        Assert.Matches(new Regex(@"analytics\s+(\d+)\s+\1\s+\1\s+0\s+0"), output);
        Assert.Contains("Every record was read exactly once by each group", output);
    }
}
