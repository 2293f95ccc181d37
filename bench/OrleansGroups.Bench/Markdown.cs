using System.Globalization;
using System.Text;
using System.Text.Json;

namespace OrleansGroups.Bench;

/// <summary>
/// The layout every benchmark's markdown shares: a title with the machine and the parameters, then sections (a line
/// of text set off by blank lines) each followed by a table or a list.
/// </summary>
internal static class Markdown
{
    /// <summary>"### title", then the machine and the parameters as "key value; …" paragraphs.</summary>
    public static StringBuilder Start(string title, Dictionary<string, string> machine, Dictionary<string, string> parameters)
    {
        var md = new StringBuilder();
        md.AppendLine($"### {title}");
        md.AppendLine();
        md.AppendLine($"Machine: {Pairs(machine)}.");
        md.AppendLine();
        md.AppendLine($"Parameters: {Pairs(parameters)}.");
        return md;
    }

    /// <summary>A heading or a paragraph, with a blank line before and after.</summary>
    public static void Section(StringBuilder md, string text)
    {
        md.AppendLine();
        md.AppendLine(text);
        md.AppendLine();
    }

    /// <summary>A table: the header row, the alignment row, then one line per row.</summary>
    public static void Table(StringBuilder md, string header, string alignment, IEnumerable<string> rows)
    {
        md.AppendLine(header);
        md.AppendLine(alignment);
        foreach (var row in rows)
        {
            md.AppendLine(row);
        }
    }

    private static string Pairs(Dictionary<string, string> values) => string.Join("; ", values.Select(kv => $"{kv.Key} {kv.Value}"));
}

/// <summary>Where a benchmark's results go: <c>&lt;name&gt;-&lt;yyyy-MM-dd&gt;.json</c> and <c>.md</c>, the markdown also to stdout.</summary>
internal static class ResultFiles
{
    public static async Task WriteAsync(string directory, string name, DateTime date, object json, string markdown, Action<string> say)
    {
        Directory.CreateDirectory(directory);
        var stem = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"{name}-{date:yyyy-MM-dd}"));
        await File.WriteAllTextAsync(stem + ".json", JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        await File.WriteAllTextAsync(stem + ".md", markdown);
        Console.WriteLine(markdown);
        say($"wrote {stem}.json and {stem}.md");
    }
}
