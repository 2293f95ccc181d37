using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

/// <summary>
/// The CLI half of the bad-input table: each malformed <c>og</c> invocation exits non-zero with exactly one stderr line
/// starting with "error:" and no stack trace, and creates nothing. In the arguments, <c>{topic}</c> stands for an
/// existing 2-partition topic made for the row, and <c>{new}</c> for a fresh name that must still not exist afterwards.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class BadInputCliTests(MemorySiloFixture fixture) : IClassFixture<MemorySiloFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static string OgDll => RepositoryPaths.ProjectOutput("OrleansGroups.Cli", "og");

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    /// <summary>Row name, arguments, stdin, a phrase the error line must contain, and whether to pass the fixture's gateway.</summary>
    public static TheoryData<string, string[], string?, string, bool> Cases() => new()
    {
        { "topic create: bad chars", ["topic", "create", "bad name!", "--partitions", "1"], null, "Invalid topic name", true },
        { "topic create: '..'", ["topic", "create", "..", "--partitions", "1"], null, "Invalid topic name", true },
        { "topic create: 250-char name", ["topic", "create", new string('a', 250), "--partitions", "1"], null, "Invalid topic name", true },
        { "topic create: --partitions 0", ["topic", "create", "{new}", "--partitions", "0"], null, "Partition count", true },
        { "topic create: --partitions -1", ["topic", "create", "{new}", "--partitions", "-1"], null, "Partition count", true },
        { "topic create: --config max.message.bytes=-1", ["topic", "create", "{new}", "--partitions", "1", "--config", "max.message.bytes=-1"], null, "max.message.bytes", true },
        { "topic create: --config without a value", ["topic", "create", "{new}", "--partitions", "1", "--config", "retention.ms"], null, "--config", true },
        { "topic create: --config retention.ms=-2", ["topic", "create", "{new}", "--partitions", "1", "--config", "retention.ms=-2"], null, "retention.ms", true },
        { "topic describe: unknown topic", ["topic", "describe", "{new}"], null, "Unknown topic", true },
        { "topic offsets: unknown topic", ["topic", "offsets", "{new}", "--time", "latest"], null, "Unknown topic", true },
        { "topic offsets: bad --time", ["topic", "offsets", "{topic}", "--time", "last-tuesday"], null, "--time", true },
        { "topic add-partitions: decrease", ["topic", "add-partitions", "{topic}", "--partitions", "1"], null, "must be larger", true },
        { "topic add-partitions: unknown topic", ["topic", "add-partitions", "{new}", "--partitions", "3"], null, "Unknown topic", true },
        { "produce: unknown topic", ["produce", "{new}"], "x\n", "Unknown topic", true },
        { "produce: invalid topic name", ["produce", "no/slashes"], "x\n", "Invalid topic name", true },
        { "produce: --partition out of range", ["produce", "{topic}", "--partition", "2"], "x\n", "no partition 2", true },
        { "produce: --partition -1", ["produce", "{topic}", "--partition", "-1"], "x\n", "no partition -1", true },
        { "consume: unknown topic", ["consume", "{new}", "--group", "{new}", "--timeout-ms", "3000"], null, "Unknown topic", true },
        { "consume: --session-timeout-ms 0", ["consume", "{topic}", "--group", "{new}", "--session-timeout-ms", "0", "--timeout-ms", "1000"], null, "--session-timeout-ms", true },
        { "group describe: unknown group", ["group", "describe", "{new}"], null, "does not exist", true },
        { "group delete: unknown group", ["group", "delete", "{new}"], null, "does not exist", true },
        { "--gateway without a port", ["topic", "list", "--gateway", "localhost"], null, "--gateway", false },
        { "--gateway port out of range", ["topic", "list", "--gateway", "127.0.0.1:99999"], null, "--gateway", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task MalformedInvocation_ExitsNonZero_WithOneErrorLine_AndCreatesNothing(
        string name, string[] args, string? stdin, string expected, bool passGateway)
    {
        var fresh = NewName("new");
        var topic = NewName("cli-bad");
        if (args.Contains("{topic}"))
        {
            var created = await Og(null, true, "topic", "create", topic, "--partitions", "2");
            Assert.True(created.ExitCode == 0, created.StandardError);
        }
        var topicsBefore = await TopicListAsync();

        var result = await Og(stdin, passGateway, [.. args.Select(a => a.Replace("{topic}", topic).Replace("{new}", fresh))]);

        Assert.True(result.ExitCode != 0, $"{name}: exit code 0; stdout: {result.StandardOutput}");
        var lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, $"{name}: expected one stderr line, got {lines.Length}:\n{result.StandardError}");
        Assert.StartsWith("error:", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", result.StandardError + result.StandardOutput);
        Assert.DoesNotContain("Exception", lines[0]);
        var topicsAfter = await TopicListAsync();
        Assert.Equal(topicsBefore, topicsAfter);
        Assert.DoesNotContain(fresh, topicsAfter);
    }

    private async Task<string> TopicListAsync()
    {
        var listed = await Og(null, true, "topic", "list", "--json");
        Assert.True(listed.ExitCode == 0, listed.StandardError);
        return listed.StandardOutput;
    }

    private Task<ProcessResult> Og(string? stdin, bool passGateway, params string[] args) => ChildProcess.RunAsync(ChildProcess.DotnetHost,
        passGateway
            ? [OgDll, .. args, "--gateway", $"127.0.0.1:{fixture.Silo.GatewayPort}", "--service-id", fixture.Silo.ServiceId]
            : [OgDll, .. args],
        stdin, Timeout);
}
