using System.Globalization;

namespace OrleansGroups.Bench;

/// <summary>The options every benchmark takes, with the benchmark's defaults.</summary>
internal sealed class CommonOptions(string storage, string output)
{
    /// <summary>memory, azure or both.</summary>
    public string Storage { get; set; } = storage;

    public int Repetitions { get; set; } = 3;

    /// <summary>The directory the result files go to.</summary>
    public string Output { get; set; } = output;

    /// <summary>Recorded in the results.</summary>
    public string? Commit { get; set; }
}

/// <summary>
/// A benchmark's command line. Each benchmark names its own options and what each does with its value; the ones
/// every benchmark takes (--storage, --repetitions, --out, --commit) go to <see cref="CommonOptions"/>. Values are
/// parsed with the invariant culture, lists are comma-separated.
/// </summary>
internal sealed class CommandLine
{
    private readonly string[] _args;
    private int _index = -1;

    private CommandLine(string[] args) => _args = args;

    private string Option => _args[_index];

    /// <summary>
    /// Reads <paramref name="args"/> into <paramref name="common"/> and through <paramref name="options"/>. False, with
    /// <paramref name="usage"/> printed, for --help, an unknown option or an unknown storage.
    /// </summary>
    public static bool Parse(string[] args, string usage, CommonOptions common, Dictionary<string, Action<CommandLine>> options)
    {
        var line = new CommandLine(args);
        while (++line._index < args.Length)
        {
            switch (line.Option)
            {
                case var option when options.TryGetValue(option, out var read): read(line); break;
                case "--storage": common.Storage = line.Value(); break;
                case "--repetitions": common.Repetitions = line.Int(); break;
                case "--out": common.Output = Path.GetFullPath(line.Value()); break;
                case "--commit": common.Commit = line.Value(); break;
                default:
                    Console.Error.WriteLine(line.Option is "--help" or "-h" ? usage : $"unknown option '{line.Option}'\n{usage}");
                    return false;
            }
        }
        if (common.Storage is not ("memory" or "azure" or "both"))
        {
            Console.Error.WriteLine($"--storage must be memory, azure or both\n{usage}");
            return false;
        }
        return true;
    }

    /// <summary>The value after the option; a missing value throws, naming the option.</summary>
    public string Value() => _index + 1 < _args.Length ? _args[++_index] : throw new ArgumentException($"{Option} needs a value");

    public int Int() => int.Parse(Value(), CultureInfo.InvariantCulture);

    public long Long() => long.Parse(Value(), CultureInfo.InvariantCulture);

    public double Double() => double.Parse(Value(), CultureInfo.InvariantCulture);

    public int[] Ints() => [.. Value().Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))];

    public double[] Doubles() => [.. Value().Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture))];
}
