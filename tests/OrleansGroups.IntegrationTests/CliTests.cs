using System.Text.Json;
using OrleansGroups.Core.Log;
using OrleansGroups.TestKit;

namespace OrleansGroups.IntegrationTests;

/// <summary>A memory-storage silo process shared by the CLI tests.</summary>
public sealed class MemorySiloFixture : IAsyncLifetime
{
    public SiloProcess Silo { get; private set; } = null!;

    public async Task InitializeAsync() => Silo = await SiloProcess.StartAsync(connectionString: null);

    public async Task DisposeAsync() => await Silo.DisposeAsync();
}

/// <summary>The <c>og</c> command-line contract, run as a real process against a real silo process.</summary>
[Trait("Category", "EndToEnd")]
public sealed class CliTests(MemorySiloFixture fixture) : IClassFixture<MemorySiloFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static string OgDll => RepositoryPaths.ProjectOutput("OrleansGroups.Cli", "og");

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    private Task<ProcessResult> Og(string? stdin, params string[] args) => ChildProcess.RunAsync(ChildProcess.DotnetHost,
        [OgDll, .. args, "--gateway", $"127.0.0.1:{fixture.Silo.GatewayPort}", "--service-id", fixture.Silo.ServiceId],
        stdin, Timeout);

    private static void AssertOneErrorLine(ProcessResult result, string expected)
    {
        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", result.StandardError + result.StandardOutput);
    }

    [Fact]
    public async Task TopicCreate_List_Describe()
    {
        var topic = NewName("cli");

        var created = await Og(null, "topic", "create", topic, "--partitions", "3");
        var listed = await Og(null, "topic", "list");
        var described = await Og(null, "topic", "describe", topic, "--json");

        Assert.True(created.ExitCode == 0, created.StandardError);
        Assert.Contains(topic, listed.StandardOutput);
        Assert.Equal(0, described.ExitCode);
        using var json = JsonDocument.Parse(described.StandardOutput);
        Assert.Equal(3, json.RootElement.GetProperty("partitions").GetArrayLength());
    }

    [Fact]
    public async Task Produce_Consume_AndGroupDescribe_AgreeOnEveryRecord()
    {
        var topic = NewName("flow");
        var group = NewName("grp");
        Assert.Equal(0, (await Og(null, "topic", "create", topic, "--partitions", "4")).ExitCode);
        var lines = Enumerable.Range(0, 500).Select(i => $"key-{i % 7}:value-{i}").ToList();

        var produced = await Og(string.Join('\n', lines) + "\n", "produce", topic, "--key-separator", ":");
        var consumed = await Og(null, "consume", topic, "--group", group, "--from-beginning", "--json", "--max-messages", "500", "--timeout-ms", "10000");
        var again = await Og(null, "consume", topic, "--group", group, "--json", "--timeout-ms", "1500");
        var described = await Og(null, "group", "describe", group, "--json");

        Assert.True(produced.ExitCode == 0, produced.StandardError);
        Assert.True(consumed.ExitCode == 0, consumed.StandardError);
        var records = consumed.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(500, records.Count);
        Assert.Equal(lines.Order(), records.Select(r => $"{r.GetProperty("key").GetString()}:{r.GetProperty("value").GetString()}").Order());
        Assert.Equal(500, records.Select(r => (r.GetProperty("partition").GetInt32(), r.GetProperty("offset").GetInt64())).Distinct().Count());
        Assert.All(records, r =>
        {
            var key = System.Text.Encoding.UTF8.GetBytes(r.GetProperty("key").GetString()!);
            Assert.Equal(Partitioner.ForKey(key, 4), r.GetProperty("partition").GetInt32());
            Assert.Equal(r.GetProperty("topic").GetString(), topic);
            Assert.True(r.GetProperty("timestamp").GetInt64() > 0);
        });
        Assert.Equal(0, again.ExitCode);
        Assert.Equal("", again.StandardOutput.Trim());
        Assert.Equal(0, described.ExitCode);
        using var json = JsonDocument.Parse(described.StandardOutput);
        var partitions = json.RootElement.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(4, partitions.Count);
        Assert.All(partitions, p => Assert.Equal(0, p.GetProperty("lag").GetInt64()));
        Assert.Equal(500, partitions.Sum(p => p.GetProperty("committedOffset").GetInt64()));
    }

    [Fact]
    public async Task Produce_ToAnExplicitPartition()
    {
        var topic = NewName("explicit");
        await Og(null, "topic", "create", topic, "--partitions", "3");

        var produced = await Og("a\nb\nc\n", "produce", topic, "--partition", "2");
        var described = await Og(null, "topic", "describe", topic, "--json");

        Assert.Equal(0, produced.ExitCode);
        using var json = JsonDocument.Parse(described.StandardOutput);
        var ends = json.RootElement.GetProperty("partitions").EnumerateArray()
            .Select(p => p.EnumerateObject().First(x => x.Name.Contains("end", StringComparison.OrdinalIgnoreCase)).Value.GetInt64()).ToList();
        Assert.Equal([0L, 0L, 3L], ends);
    }

    [Fact]
    public async Task ConsumePartition_ReadsOnePartitionFromAnOffset_WithoutAGroup()
    {
        var topic = NewName("assign");
        await Og(null, "topic", "create", topic, "--partitions", "2");
        await Og("a0\na1\na2\na3\na4\n", "produce", topic, "--partition", "1");
        await Og("b0\nb1\n", "produce", topic, "--partition", "0");

        var fromThree = await Og(null, "consume", topic, "--partition", "1", "--offset", "3", "--timeout-ms", "1500");
        var fromBeginning = await Og(null, "consume", topic, "--partition", "0", "--from-beginning", "--max-messages", "2");
        var groups = await Og(null, "group", "list");

        Assert.True(fromThree.ExitCode == 0, fromThree.StandardError);
        Assert.Equal(["a3", "a4"], fromThree.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["b0", "b1"], fromBeginning.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // Assign mode joins no group and commits nothing.
        Assert.DoesNotContain("og-console-", groups.StandardOutput);
    }

    [Fact]
    public async Task ConsumePartition_BadCombinations_AreOneClearError()
    {
        var topic = NewName("assign");
        await Og(null, "topic", "create", topic, "--partitions", "2");

        AssertOneErrorLine(await Og(null, "consume", topic, "--partition", "0", "--group", "g"), "--partition reads without a group");
        AssertOneErrorLine(await Og(null, "consume", topic), "Give --group");
        AssertOneErrorLine(await Og(null, "consume", topic, "--group", "g", "--offset", "3"), "--offset needs --partition");
        AssertOneErrorLine(await Og(null, "consume", topic, "--partition", "5"), "partition");
        AssertOneErrorLine(await Og(null, "consume", topic, "--partition", "0", "--offset", "99"), "out of range");
        AssertOneErrorLine(await Og(null, "consume", topic, "--partition", "0", "--offset", "soon"), "is not an offset");
    }

    [Fact]
    public async Task InvalidTopicName_IsOneClearError()
    {
        AssertOneErrorLine(await Og(null, "topic", "create", "bad name!", "--partitions", "1"), "Invalid topic name");
    }

    [Fact]
    public async Task UnknownTopic_IsOneClearError()
    {
        AssertOneErrorLine(await Og("x\n", "produce", NewName("missing")), "Unknown topic");
    }

    [Fact]
    public async Task UnknownGroup_IsOneClearError()
    {
        AssertOneErrorLine(await Og(null, "group", "describe", NewName("nobody")), "does not exist");
    }

    [Fact]
    public async Task UnreachableCluster_IsOneClearError()
    {
        var result = await ChildProcess.RunAsync(ChildProcess.DotnetHost,
            [OgDll, "topic", "list", "--gateway", $"127.0.0.1:{FreePorts.GetOne()}"], null, Timeout);

        AssertOneErrorLine(result, "cannot reach the cluster");
    }

    [Fact]
    public async Task TopicConfig_AddPartitions_AndOffsets()
    {
        var topic = NewName("cfg");

        var created = await Og(null, "topic", "create", topic, "--partitions", "2", "--config", "retention.bytes=1048576", "--config", "max.message.bytes=2000");
        await Og("a\nb\nc\n", "produce", topic, "--partition", "1");
        var grown = await Og(null, "topic", "add-partitions", topic, "--partitions", "3");
        var shrink = await Og(null, "topic", "add-partitions", topic, "--partitions", "2");
        var described = await Og(null, "topic", "describe", topic, "--json");
        var latest = await Og(null, "topic", "offsets", topic, "--time", "latest", "--json");
        var earliest = await Og(null, "topic", "offsets", topic, "--time", "earliest", "--json");
        var badConfig = await Og(null, "topic", "create", NewName("bad"), "--partitions", "1", "--config", "colour=blue");

        Assert.True(created.ExitCode == 0, created.StandardError);
        Assert.True(grown.ExitCode == 0, grown.StandardError);
        AssertOneErrorLine(shrink, "must be larger");
        using var json = JsonDocument.Parse(described.StandardOutput);
        Assert.Equal(3, json.RootElement.GetProperty("partitionCount").GetInt32());
        Assert.Equal(1048576, json.RootElement.GetProperty("retentionBytes").GetInt64());
        Assert.Equal(2000, json.RootElement.GetProperty("maxMessageBytes").GetInt32());
        Assert.Equal([0L, 3L, 0L], JsonDocument.Parse(latest.StandardOutput).RootElement.EnumerateArray().Select(e => e.GetProperty("offset").GetInt64()));
        Assert.Equal([0L, 0L, 0L], JsonDocument.Parse(earliest.StandardOutput).RootElement.EnumerateArray().Select(e => e.GetProperty("offset").GetInt64()));
        AssertOneErrorLine(badConfig, "colour");
    }

    [Fact]
    public async Task TopicDelete_RemovesTheTopic_AndASecondDeleteIsOneClearError()
    {
        var topic = NewName("del");
        await Og(null, "topic", "create", topic, "--partitions", "1");
        await Og("a\nb\n", "produce", topic);

        var deleted = await Og(null, "topic", "delete", topic);
        var listed = await Og(null, "topic", "list");
        var again = await Og(null, "topic", "delete", topic);

        Assert.True(deleted.ExitCode == 0, deleted.StandardError);
        Assert.Contains($"Deleted topic {topic}", deleted.StandardOutput);
        Assert.DoesNotContain(topic, listed.StandardOutput);
        AssertOneErrorLine(again, "Unknown topic");
    }
}
