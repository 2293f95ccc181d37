using Microsoft.Extensions.Hosting;

namespace OrleansGroups.Cli;

/// <summary>
/// A host lifetime that ignores Ctrl+C: the command owns it through System.CommandLine's cancellation token, so
/// consume can commit and leave its group, and the demo can clean up, before the process exits.
/// </summary>
internal sealed class CommandLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
