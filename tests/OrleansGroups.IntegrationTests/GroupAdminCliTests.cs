using System.Text.Json;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

/// <summary><c>og group delete</c> and <c>og group reset-offsets</c>, run as real processes against a real silo process.</summary>
[Trait("Category", "EndToEnd")]
public sealed class GroupAdminCliTests(MemorySiloFixture fixture) : IClassFixture<MemorySiloFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static string OgDll => RepositoryPaths.ProjectOutput("OrleansGroups.Cli", "og");

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    private string[] Connection => ["--gateway", $"127.0.0.1:{fixture.Silo.GatewayPort}", "--service-id", fixture.Silo.ServiceId];

    private Task<ProcessResult> Og(string? stdin, params string[] args) =>
        ChildProcess.RunAsync(ChildProcess.DotnetHost, [OgDll, .. args, .. Connection], stdin, Timeout);

    private async Task<ProcessResult> OgOk(string? stdin, params string[] args)
    {
        var result = await Og(stdin, args);
        Assert.True(result.ExitCode == 0, $"og {string.Join(' ', args)} failed: {result.StandardError}");
        return result;
    }

    private static void AssertOneErrorLine(ProcessResult result, string expected)
    {
        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", result.StandardError + result.StandardOutput);
    }

    /// <summary>Rows of a whitespace-aligned table, header first.</summary>
    private static List<string[]> Table(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();

    /// <summary>Committed offsets per partition, as <c>og group describe --json</c> reports them.</summary>
    private async Task<long?[]> CommittedAsync(string group)
    {
        var described = await OgOk(null, "group", "describe", group, "--json");
        using var json = JsonDocument.Parse(described.StandardOutput);
        return json.RootElement.GetProperty("partitions").EnumerateArray()
            .OrderBy(p => p.GetProperty("partition").GetInt32())
            .Select(p => p.GetProperty("committedOffset") is { ValueKind: JsonValueKind.Number } o ? o.GetInt64() : (long?)null)
            .ToArray();
    }

    /// <summary>Topic with 6 records in partition 0 and 4 in partition 1, all read and committed by a group that then left.</summary>
    private async Task<(string Topic, string Group)> ConsumedTopicAsync()
    {
        var topic = NewName("reset");
        var group = NewName("grp");
        await OgOk(null, "topic", "create", topic, "--partitions", "2");
        await OgOk("a\nb\nc\nd\ne\nf\n", "produce", topic, "--partition", "0");
        await OgOk("g\nh\ni\nj\n", "produce", topic, "--partition", "1");
        await OgOk(null, "consume", topic, "--group", group, "--from-beginning", "--max-messages", "10", "--timeout-ms", "10000");
        Assert.Equal([6L, 4L], await CommittedAsync(group));
        return (topic, group);
    }

    [Fact]
    public async Task ResetOffsets_EveryMode_PrintsPartitionOldNew()
    {
        var (topic, group) = await ConsumedTopicAsync();
        string[] Reset(params string[] mode) => ["group", "reset-offsets", group, "--topic", topic, .. mode];

        var dryRun = await OgOk(null, Reset("--to-earliest", "--dry-run"));
        Assert.Equal([["PARTITION", "OLD", "NEW"], ["0", "6", "0"], ["1", "4", "0"]], Table(dryRun.StandardOutput));
        Assert.Contains("Dry run (to-earliest): nothing was committed", dryRun.StandardError);
        Assert.Equal([6L, 4L], await CommittedAsync(group));

        await OgOk(null, Reset("--to-earliest"));
        Assert.Equal([0L, 0L], await CommittedAsync(group));

        var shifted = await OgOk(null, Reset("--shift-by", "2", "--json"));
        Assert.Equal(
            $"{{\"groupId\":\"{group}\",\"topic\":\"{topic}\",\"dryRun\":false,\"partitions\":[{{\"partition\":0,\"old\":0,\"new\":2}},{{\"partition\":1,\"old\":0,\"new\":2}}]}}",
            shifted.StandardOutput.Trim());

        var onePartition = await OgOk(null, "group", "reset-offsets", group, "--topic", $"{topic}:1", "--to-offset", "9");
        Assert.Equal([["PARTITION", "OLD", "NEW"], ["1", "2", "4"]], Table(onePartition.StandardOutput)); // clamped to the end, 4
        Assert.Equal([2L, 4L], await CommittedAsync(group));

        await OgOk(null, Reset("--to-datetime", "2000-01-01T00:00:00Z"));
        Assert.Equal([0L, 0L], await CommittedAsync(group));

        var latest = await OgOk(null, Reset("--to-latest"));
        Assert.Equal([["PARTITION", "OLD", "NEW"], ["0", "0", "6"], ["1", "0", "4"]], Table(latest.StandardOutput));
        Assert.Contains($"Reset 2 partition(s) of {topic} for group {group} (to-latest)", latest.StandardError);
    }

    [Fact]
    public async Task DeleteAndReset_AreRefusedWhileTheGroupHasMembers_DeleteWorksOnceEmpty()
    {
        var (topic, group) = await ConsumedTopicAsync();
        await using var member = ChildProcess.StartDotnet(OgDll, ["consume", topic, "--group", group, "--timeout-ms", "0", .. Connection]);
        await Wait.UntilAsync(async () =>
        {
            var described = await Og(null, "group", "describe", group, "--json");
            using var json = JsonDocument.Parse(described.StandardOutput);
            return json.RootElement.GetProperty("members").GetArrayLength() == 1;
        }, Timeout, "the consumer joined");

        AssertOneErrorLine(await Og(null, "group", "delete", group), "has 1 active member(s)");
        AssertOneErrorLine(await Og(null, "group", "reset-offsets", group, "--topic", topic, "--to-earliest"), "has 1 active member(s)");

        Assert.Equal(0, await member.StopAsync()); // Ctrl+C: the consumer commits and leaves
        var deleted = await OgOk(null, "group", "delete", group);
        Assert.Equal($"Deleted group {group}", deleted.StandardOutput.Trim());
        AssertOneErrorLine(await Og(null, "group", "describe", group), "does not exist");
        AssertOneErrorLine(await Og(null, "group", "delete", group), "does not exist");
        Assert.DoesNotContain(group, (await OgOk(null, "group", "list")).StandardOutput);
    }

    [Fact]
    public async Task Describe_ShowsEpochsAndMemberStates_AndAStaticConsumerLeavesOnlyTemporarily()
    {
        var topic = NewName("static");
        var group = NewName("grp");
        await OgOk(null, "topic", "create", topic, "--partitions", "2");
        await using var member = ChildProcess.StartDotnet(OgDll,
            ["consume", topic, "--group", group, "--instance-id", "worker-1", "--timeout-ms", "0", .. Connection]);
        string text = "";
        await Wait.UntilAsync(async () =>
        {
            text = (await Og(null, "group", "describe", group, "--state", "--members")).StandardOutput;
            return text.Contains("State: Stable");
        }, Timeout, "the static consumer joined and the group is stable");

        Assert.Contains("Group epoch: 1  Assignment epoch: 1  Assignor: uniform  Members: 1", text);
        var header = Table(text).First(row => row[0] == "MEMBER");
        Assert.Equal(["MEMBER", "CLIENT", "EPOCH", "STATE", "ASSIGNED", "PENDING-REVOCATION"], header);
        var row = Table(text).First(r => r.Contains("(worker-1)"));
        Assert.Equal(["og-consume", "(worker-1)", "1", "Stable", $"{topic}/0,1", "-"], row[1..]);

        // The default view, as kafka-consumer-groups --describe: the owner's member id and client id on each partition.
        var offsets = Table((await OgOk(null, "group", "describe", group)).StandardOutput);
        Assert.Equal(["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"], offsets[0]);
        // CURRENT-OFFSET and LAG are "-" until the consumer's first auto-commit (of offset 0 here), "0" after it.
        Assert.All(offsets[1..], r => Assert.Contains((r[3], r[5]), new[] { ("-", "-"), ("0", "0") }));
        Assert.Equal([[group, topic, "0", "0", row[0], "-", "og-consume"], [group, topic, "1", "0", row[0], "-", "og-consume"]],
            offsets[1..].Select(r => (string[])[r[0], r[1], r[2], r[4], r[6], r[7], r[8]]));

        Assert.Equal(0, await member.StopAsync());
        var described = await OgOk(null, "group", "describe", group, "--json");
        using var json = JsonDocument.Parse(described.StandardOutput);
        var left = Assert.Single(json.RootElement.GetProperty("members").EnumerateArray());
        Assert.Equal(("worker-1", -2), (left.GetProperty("instanceId").GetString(), left.GetProperty("memberEpoch").GetInt32()));
        Assert.Equal(2, left.GetProperty("assignment").GetArrayLength()); // kept for its return, until its session times out
    }

    [Fact]
    public async Task Describe_ByDefault_IsKafkasOffsetsTable_WithDashesWhereUnknown()
    {
        var (topic, group) = await ConsumedTopicAsync();
        await OgOk("k\n", "produce", topic, "--partition", "1");

        var output = (await OgOk(null, "group", "describe", group)).StandardOutput;

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"Consumer group '{group}' has no active members.", lines[0].TrimEnd());
        Assert.Equal(
            [
                ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"],
                [group, topic, "0", "6", "6", "0", "-", "-", "-"],
                [group, topic, "1", "4", "5", "1", "-", "-", "-"],
            ],
            Table(string.Join('\n', lines[1..])));
        // --state and --members add the group's other views, above the offsets with --offsets.
        var all = (await OgOk(null, "group", "describe", group, "--state", "--members", "--offsets")).StandardOutput;
        Assert.Contains($"Group: {group}  State: Empty", all);
        Assert.Contains("No active members.", all);
        Assert.Contains("CURRENT-OFFSET", all);
    }

    [Fact]
    public async Task DescribeWatch_OffTerminal_PrintsTheTableOncePerRefresh_AndJsonOneLineEach()
    {
        var (topic, group) = await ConsumedTopicAsync();

        var watched = await OgOk(null, "group", "describe", group, "--watch", "--interval-ms", "100", "--iterations", "3");

        // Redirected stdout: plain repeated tables, no terminal escapes.
        Assert.DoesNotContain("\u001b", watched.StandardOutput);
        var tables = Table(watched.StandardOutput);
        Assert.Equal(3, tables.Count(row => row[0] == "GROUP"));
        Assert.Equal(3, tables.Count(row => row.Length > 2 && row[0] == group && row[1] == topic && row[2] == "1"));

        var json = await OgOk(null, "group", "describe", group, "--json", "--watch", "--interval-ms", "100", "--iterations", "2");
        var objects = json.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, objects.Length);
        Assert.All(objects, line =>
        {
            using var parsed = JsonDocument.Parse(line);
            Assert.Equal(group, parsed.RootElement.GetProperty("groupId").GetString());
        });
    }

    [Fact]
    public async Task DescribeWatch_WithoutIterations_RefreshesUntilInterrupted_AndExitsCleanly()
    {
        // SIGTERM here; Ctrl+C (SIGINT) cancels the same token.
        var (_, group) = await ConsumedTopicAsync();
        await using var watcher = ChildProcess.StartDotnet(OgDll, ["group", "describe", group, "--watch", "--interval-ms", "100", .. Connection]);
        await Wait.UntilAsync(() => watcher.OutputText.Split("CURRENT-OFFSET").Length > 3, Timeout, "a few refreshes");

        Assert.Equal(0, await watcher.StopAsync());
    }

    [Theory]
    [InlineData("give exactly one of --to-earliest", "--to-earliest", "--to-latest")]
    [InlineData("give exactly one of --to-earliest")]
    [InlineData("is not an ISO 8601 time", "--to-datetime", "yesterday")]
    [InlineData("--to-offset must be 0 or more", "--to-offset", "-1")]
    public async Task ResetOffsets_BadArguments_AreOneClearError(string expected, params string[] mode)
    {
        AssertOneErrorLine(await Og(null, ["group", "reset-offsets", NewName("g"), "--topic", "t", .. mode]), expected);
    }

    [Fact]
    public async Task ResetOffsets_UnknownTopicOrPartition_AreOneClearError()
    {
        var (topic, group) = await ConsumedTopicAsync();

        AssertOneErrorLine(await Og(null, "group", "reset-offsets", group, "--topic", NewName("none"), "--to-earliest"), "Unknown topic");
        AssertOneErrorLine(await Og(null, "group", "reset-offsets", group, "--topic", $"{topic}:5", "--to-earliest"), "has no partition 5");
        AssertOneErrorLine(await Og(null, "group", "reset-offsets", group, "--topic", $"{topic}:x", "--to-earliest"), "'x' is not a partition number");
    }
}
