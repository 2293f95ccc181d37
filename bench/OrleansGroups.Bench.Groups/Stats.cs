namespace OrleansGroups.Bench.Groups;

/// <summary>Median, minimum and maximum of repeated measurements.</summary>
internal sealed record Stats(double Median, double Min, double Max, int Count)
{
    public static Stats Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("No measurements.", nameof(values));
        }
        var sorted = values.Order().ToArray();
        var middle = sorted.Length / 2;
        var median = sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        return new Stats(median, sorted[0], sorted[^1], sorted.Length);
    }

    /// <summary>"12.3 (11.0–15.2)": median, then the range.</summary>
    public string Format(string unit = "", int decimals = 1)
    {
        var f = "F" + decimals;
        return $"{Median.ToString(f)}{unit} ({Min.ToString(f)}–{Max.ToString(f)})";
    }
}

/// <summary>A time source the benchmark moves by hand, so protocol time is simulated exactly.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; private set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void AdvanceTo(DateTimeOffset time) => Now = time > Now ? time : Now;
}
