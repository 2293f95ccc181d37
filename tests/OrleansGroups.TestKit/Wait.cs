using System.Diagnostics;

namespace OrleansGroups.TestKit;

/// <summary>
/// Waits for a condition with a deadline. Tests wait on the condition they need, never on a
/// fixed sleep: fast machines finish early and slow ones get the whole deadline.
/// </summary>
public static class Wait
{
    /// <summary>How often conditions are re-evaluated.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    /// <summary>Polls <paramref name="condition"/> until it returns <see langword="true"/>.</summary>
    /// <param name="condition">The condition; exceptions it throws propagate.</param>
    /// <param name="timeout">The deadline.</param>
    /// <param name="what">What is awaited, for the timeout message (e.g. "member m2 owns 2 partitions").</param>
    /// <exception cref="TimeoutException">The condition was still false at the deadline.</exception>
    public static Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        return UntilAsync(() => Task.FromResult(condition()), timeout, what);
    }

    /// <summary>Polls the asynchronous <paramref name="condition"/> until it returns <see langword="true"/>.</summary>
    /// <param name="condition">The condition; exceptions it throws propagate.</param>
    /// <param name="timeout">The deadline.</param>
    /// <param name="what">What is awaited, for the timeout message.</param>
    /// <exception cref="TimeoutException">The condition was still false at the deadline.</exception>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var elapsed = Stopwatch.StartNew();
        var attempts = 0;
        while (true)
        {
            attempts++;
            if (await condition().ConfigureAwait(false))
            {
                return;
            }

            if (elapsed.Elapsed >= timeout)
            {
                throw new TimeoutException(
                    $"Timed out after {elapsed.Elapsed.TotalSeconds:0.0} s ({attempts} checks) waiting until {what}.");
            }

            await Task.Delay(PollInterval).ConfigureAwait(false);
        }
    }
}
