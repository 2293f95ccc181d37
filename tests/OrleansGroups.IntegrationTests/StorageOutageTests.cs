using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using OrleansGroups.Client;
using OrleansGroups.Core.Coordination;
using OrleansGroups.Core.Errors;
using OrleansGroups.Core.Log;
using OrleansGroups.Core.Topics;
using OrleansGroups.Hosting;
using OrleansGroups.TestKit;
using Xunit.Abstractions;

namespace OrleansGroups.IntegrationTests;

/// <summary>
/// Storage outage: Azurite dies under a running silo process. Produce and commit must fail with a clear error and
/// acknowledge nothing; when Azurite comes back on the same ports with the same data, the same silo (not restarted)
/// must serve produce and commit again, with every record and offset acknowledged before the outage still there.
/// </summary>
[Trait("Category", "Chaos")]
public sealed class StorageOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan RecoveryDeadline = TimeSpan.FromSeconds(90);

    /// <summary>
    /// Azurite saves its blob and table metadata every 5 s (LokiJS autosave): a SIGKILL sooner can lose the emulator's own
    /// writes. Waited for by watching its metadata files, with this deadline.
    /// </summary>
    private static readonly TimeSpan AzuriteAutosaveDeadline = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Azurite's blob metadata database (where grain state and log blobs are listed; their bytes go to extent files at
    /// once) was written to disk after <paramref name="since"/>.
    /// </summary>
    private bool AzuriteSavedSince(DateTime since)
    {
        var blobDatabase = Path.Combine(_dataDirectory, "__azurite_db_blob__.json");
        return File.Exists(blobDatabase) && File.GetLastWriteTimeUtc(blobDatabase) > since;
    }

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "orleansgroups-outage-" + Guid.NewGuid().ToString("N"));
    private int[] _ports = [];
    private ChildProcess? _azurite;

    private string ConnectionString => LocalAzurite.ConnectionStringFor(_ports[0], _ports[1], _ports[2]);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dataDirectory);
        _ports = FreePorts.Get(3);
        await StartAzuriteAsync();
    }

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    [Fact]
    public async Task AzuriteDown_ProduceAndCommitFailClearly_AzuriteBack_SameSiloRecovers_NothingAcknowledgedIsLost()
    {
        await using var silo = await SiloProcess.StartAsync(ConnectionString);
        using var client = await silo.ConnectAsync(TimeSpan.FromSeconds(20));
        var groups = client.Services.GetRequiredService<OrleansGroupsClient>();
        var grains = client.Services.GetRequiredService<IGrainFactory>();
        const string topic = "outage";
        const string group = "outage-group";
        var producer = groups.CreateProducer(new ProducerOptions { DeliveryTimeout = TimeSpan.FromSeconds(3) });
        var groupGrain = grains.GetGrain<IConsumerGroupGrain>(group);

        // Before: records acknowledged and offsets committed.
        await groups.Admin.CreateTopicAsync(topic, 2);
        var acknowledged = new Dictionary<(int Partition, long Offset), string>();
        var before = await producer.ProduceBatchAsync(topic, Enumerable.Range(0, 200).Select(i => Message.FromStrings($"k{i}", $"before-{i}")).ToList());
        for (var i = 0; i < before.Count; i++)
        {
            acknowledged[(before[i].Partition, before[i].Offset)] = $"before-{i}";
        }
        var member = await JoinAsync(groupGrain, "m1", topic);
        Assert.Equal(2, member.Assignment.Count);
        var committedBefore = new[] { new PartitionOffset(new(topic, 0), 7), new PartitionOffset(new(topic, 1), 11) };
        var committedAt = DateTime.UtcNow;
        await groupGrain.Commit(new CommitRequest("m1", member.MemberEpoch, committedBefore));
        await Wait.UntilAsync(() => AzuriteSavedSince(committedAt), AzuriteAutosaveDeadline, "Azurite saved its metadata after the commit");

        // Outage: kill Azurite.
        await _azurite!.KillAsync();
        await Wait.UntilAsync(async () => !await CanConnectAsync(_ports[2]), TimeSpan.FromSeconds(10), "Azurite's ports are closed");

        var watch = Stopwatch.StartNew();
        var produceError = await Xunit.Record.ExceptionAsync(() =>
            producer.ProduceBatchAsync(topic, Enumerable.Range(0, 10).Select(i => Message.FromStrings($"k{i}", $"during-{i}")).ToList(), partition: 0));
        output.WriteLine($"produce during the outage: {Describe(produceError)} after {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.True(produceError is StorageUnavailableException or DeliveryTimeoutException { InnerException: StorageUnavailableException or TimeoutException },
            $"a produce during the outage must fail with StorageUnavailable, or DeliveryTimedOut naming it, got {Describe(produceError)}");

        watch.Restart();
        var commitError = await Xunit.Record.ExceptionAsync(() =>
            groupGrain.Commit(new CommitRequest("m1", member.MemberEpoch, [new(new(topic, 0), 9), new(new(topic, 1), 13)])));
        output.WriteLine($"commit during the outage: {Describe(commitError)} after {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.True(commitError is StorageUnavailableException or TimeoutException,
            $"a commit during the outage must fail with StorageUnavailable or a timeout, got {Describe(commitError)}");

        // Storage comes back on the same ports with the same data; the silo is NOT restarted.
        await StartAzuriteAsync();
        Assert.False(silo.Process.HasExited, "the silo must survive the storage outage");

        watch.Restart();
        var attempt = 0;
        var lastError = "";
        IReadOnlyList<DeliveryResult>? after = null;
        try
        {
            await Wait.UntilAsync(async () =>
            {
                attempt++;
                try
                {
                    after = await producer.ProduceBatchAsync(topic, [Message.FromStrings("k", $"after-{attempt}")], partition: 0);
                    return true;
                }
                catch (Exception e) when (e is OrleansGroupsException or TimeoutException or OrleansException)
                {
                    lastError = Describe(e);
                    return false;
                }
            }, RecoveryDeadline, "a produce succeeds again after Azurite restarted");
        }
        catch (TimeoutException e)
        {
            Assert.Fail($"PRODUCT BUG: the silo did not recover from the storage outage without a restart; produce still fails " +
                        $"{RecoveryDeadline.TotalSeconds:0} s after Azurite came back ({attempt} attempts, last error: {lastError}). {e.Message}");
        }
        output.WriteLine($"produce recovered after {watch.Elapsed.TotalSeconds:0.0} s ({attempt} attempts; last error {lastError})");
        acknowledged[(after![0].Partition, after[0].Offset)] = $"after-{attempt}";

        // The offsets committed before the outage are intact. A commit refused with StorageUnavailable changed nothing; one
        // that timed out on the client has an unknown outcome (the silo may still have been retrying the write when storage
        // came back), so it may have landed, but only as a whole: never half of it, never anything else.
        var committed = await groupGrain.GetCommittedOffsets(null);
        var offsetsAfterOutage = (committed[new(topic, 0)].Offset, committed[new(topic, 1)].Offset);
        output.WriteLine($"committed offsets after the outage: {offsetsAfterOutage}");
        if (commitError is StorageUnavailableException)
        {
            Assert.Equal((7L, 11L), offsetsAfterOutage);
        }
        else
        {
            Assert.Contains(offsetsAfterOutage, new[] { (7L, 11L), (9L, 13L) });
        }
        watch.Restart();
        lastError = "";
        var committer = member;
        try
        {
            await Wait.UntilAsync(async () =>
            {
                try
                {
                    if (committer.MemberId == "m1")
                    {
                        try
                        {
                            await groupGrain.Commit(new CommitRequest("m1", committer.MemberEpoch, [new(new(topic, 0), 9), new(new(topic, 1), 13)]));
                            return true;
                        }
                        catch (UnknownMemberException)
                        {
                            // m1 was evicted (no heartbeats during the outage): a new member takes over, once.
                            committer = await JoinAsync(groupGrain, "m2", topic);
                        }
                    }
                    if (committer.Assignment.Count < 2)
                    {
                        committer = await groupGrain.Heartbeat(new HeartbeatRequest(committer.MemberId, committer.MemberEpoch, null, "outage-test", null, committer.Assignment));
                        lastError = $"{committer.MemberId} owns {committer.Assignment.Count} partitions";
                        return false;
                    }
                    await groupGrain.Commit(new CommitRequest(committer.MemberId, committer.MemberEpoch, [new(new(topic, 0), 9), new(new(topic, 1), 13)]));
                    return true;
                }
                catch (Exception e) when (e is OrleansGroupsException or TimeoutException or OrleansException)
                {
                    lastError = Describe(e);
                    return false;
                }
            }, RecoveryDeadline, "a commit succeeds again after Azurite restarted");
        }
        catch (TimeoutException e)
        {
            Assert.Fail($"PRODUCT BUG: commits did not recover from the storage outage without a silo restart (last error: {lastError}). {e.Message}");
        }
        output.WriteLine($"commit recovered after {watch.Elapsed.TotalSeconds:0.0} s (as {committer.MemberId}; last error {lastError})");
        committed = await groupGrain.GetCommittedOffsets(null);
        Assert.Equal(9, committed[new(topic, 0)].Offset);
        Assert.Equal(13, committed[new(topic, 1)].Offset);

        // Nothing acknowledged is lost: every acknowledged record is in the log, at its offset, with its value.
        var inLog = new Dictionary<(int, long), string>();
        for (var p = 0; p < 2; p++)
        {
            var partition = grains.GetGrain<IPartitionGrain>(GrainKeys.Partition(new TopicPartition(topic, p)));
            var end = (await partition.GetWatermarks()).HighWatermark;
            for (var offset = 0L; offset < end;)
            {
                var records = RecordBatch.Decode((await partition.Fetch(offset, 1 << 20, 0)).Batches).Where(r => r.Offset >= offset).ToList();
                Assert.NotEmpty(records);
                foreach (var record in records)
                {
                    inLog[(p, record.Offset)] = System.Text.Encoding.UTF8.GetString(record.Value!);
                }
                offset = records[^1].Offset + 1;
            }
        }
        var lost = acknowledged.Where(a => !inLog.TryGetValue(a.Key, out var value) || value != a.Value).ToList();
        output.WriteLine($"acknowledged {acknowledged.Count}, in the log {inLog.Count}, lost or changed {lost.Count}");
        Assert.True(lost.Count == 0, $"acknowledged records lost or changed: {string.Join(", ", lost.Take(10).Select(l => $"{l.Key}={l.Value}"))}");
        // Nothing unacknowledged was half-written into the middle of acknowledged data: offsets are contiguous.
        foreach (var p in new[] { 0, 1 })
        {
            var offsets = inLog.Keys.Where(k => k.Item1 == p).Select(k => k.Item2).Order().ToList();
            Assert.Equal(Enumerable.Range(0, offsets.Count).Select(i => (long)i), offsets);
        }
        Assert.False(silo.Process.HasExited, "the silo ran through the whole outage");
        await client.StopAsync();
    }

    private static Task<HeartbeatResponse> JoinAsync(IConsumerGroupGrain grain, string memberId, string topic) =>
        grain.Heartbeat(new HeartbeatRequest(memberId, MemberEpochs.Join, null, "outage-test", [topic], [], 60_000, 60_000));

    private static string Describe(Exception? e) => e is null ? "no error (acknowledged!)" : $"{e.GetType().Name}: {e.Message}";

    /// <summary>Starts the repository's Azurite on this test's fixed ports, persisting to its data directory, and waits until it listens.</summary>
    private async Task StartAzuriteAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }
        var scripts = LocalAzurite.FindRepositoryScriptsDirectory()
            ?? throw new InvalidOperationException("scripts/azurite was not found above the test's directory.");
        var executable = Path.Combine(scripts, "node_modules", ".bin", OperatingSystem.IsWindows() ? "azurite.cmd" : "azurite");
        if (!File.Exists(executable))
        {
            // LocalAzurite runs 'npm ci' when the package is missing; start (and stop) one instance to get it installed.
            await using var install = await LocalAzurite.StartAsync(scripts);
        }
        _azurite = ChildProcess.Start(executable,
        [
            "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", _ports[0].ToString(), "--queuePort", _ports[1].ToString(), "--tablePort", _ports[2].ToString(),
            "--location", _dataDirectory,
        ], workingDirectory: _dataDirectory);
        await Wait.UntilAsync(async () =>
        {
            if (_azurite.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with {_azurite.ExitCode}: {_azurite.OutputText}");
            }
            foreach (var port in _ports)
            {
                if (!await CanConnectAsync(port))
                {
                    return false;
                }
            }
            return true;
        }, TimeSpan.FromSeconds(60), $"Azurite listens on {string.Join("/", _ports)}");
    }

    private static async Task<bool> CanConnectAsync(int port)
    {
        using var tcp = new TcpClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await tcp.ConnectAsync("127.0.0.1", port, cts.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
