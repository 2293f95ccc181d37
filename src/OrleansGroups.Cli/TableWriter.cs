namespace OrleansGroups.Cli;

/// <summary>
/// Plain-text tables with aligned columns: two spaces between columns, numbers right-aligned, no borders,
/// so the output reads well in a terminal and still splits on whitespace in scripts.
/// </summary>
internal sealed class TableWriter
{
    private readonly string[] _headers;
    private readonly bool[] _rightAligned;
    private readonly List<string[]> _rows = [];

    /// <param name="headers">Column headers; a header ending in ">" is right-aligned (the ">" is not printed).</param>
    public TableWriter(params string[] headers)
    {
        _rightAligned = headers.Select(h => h.EndsWith('>')).ToArray();
        _headers = headers.Select(h => h.TrimEnd('>')).ToArray();
    }

    public int RowCount => _rows.Count;

    public TableWriter AddRow(params object?[] cells)
    {
        if (cells.Length != _headers.Length)
        {
            throw new ArgumentException($"A row needs {_headers.Length} cells, got {cells.Length}.", nameof(cells));
        }
        _rows.Add(cells.Select(Format).ToArray());
        return this;
    }

    /// <summary>Writes the table, each line prefixed with <paramref name="indent"/>.</summary>
    public void WriteTo(TextWriter output, string indent = "")
    {
        var widths = new int[_headers.Length];
        foreach (var row in _rows.Prepend(_headers))
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        foreach (var row in _rows.Prepend(_headers))
        {
            var cells = row.Select((cell, i) => _rightAligned[i] ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i]));
            output.WriteLine(indent + string.Join("  ", cells).TrimEnd());
        }
    }

    private static string Format(object? cell) => cell switch
    {
        null => "-",
        _ => cell.ToString() ?? "-",
    };
}
