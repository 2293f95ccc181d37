using OrleansGroups.TestKit;

namespace OrleansGroups.DeploymentTests;

/// <summary>
/// Benchmark results name the commit they were measured on: <c>bench/provenance.sh</c> (used by <c>bench/run.sh</c>)
/// labels a clean tree with its commit, refuses a tree with uncommitted changes, and labels it "+dirty" only when told.
/// Runs on a throwaway clone, so the repository under test is never touched.
/// </summary>
public sealed class BenchProvenanceTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _clone = Path.Combine(Path.GetTempPath(), "og-provenance-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_clone))
        {
            Directory.Delete(_clone, recursive: true);
        }
    }

    private Task<ProcessResult> ProvenanceAsync(params string[] args) =>
        ChildProcess.RunAsync("bash", [Path.Combine(_clone, "bench", "provenance.sh"), .. args], stdin: null, Timeout);

    [Fact]
    public async Task CleanTreeIsLabelledWithItsCommit_ADirtyOneIsRefusedUnlessToldAndThenLabelledDirty()
    {
        var clone = await ChildProcess.RunAsync("git", ["clone", "--quiet", Repo.Root, _clone], stdin: null, Timeout);
        Assert.True(clone.ExitCode == 0, clone.StandardError);
        var head = (await ChildProcess.RunAsync("git", ["-C", _clone, "rev-parse", "--short", "HEAD"], stdin: null, Timeout)).StandardOutput.Trim();

        var clean = await ProvenanceAsync();
        File.AppendAllText(Path.Combine(_clone, "README.md"), "\nan uncommitted change\n");
        var refused = await ProvenanceAsync();
        var dirty = await ProvenanceAsync("--dirty");

        Assert.Equal((0, head), (clean.ExitCode, clean.StandardOutput.Trim()));
        Assert.Equal(3, refused.ExitCode);
        Assert.Contains("uncommitted changes", refused.StandardError);
        Assert.Equal((0, head + "+dirty"), (dirty.ExitCode, dirty.StandardOutput.Trim()));
    }
}
