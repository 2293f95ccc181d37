using OrleansGroups.KafkaCodegen;

namespace OrleansGroups.Kafka.Tests;

/// <summary>The checked-in codecs are exactly what the generator makes of the checked-in schemas.</summary>
public sealed class CodegenTests
{
    private static string Protocol => Path.Combine(FindRoot(), "src", "OrleansGroups.Kafka", "Protocol");

    [Fact]
    public void GeneratedFiles_MatchTheGenerator()
    {
        var expected = KafkaCodeGenerator.Generate(Path.Combine(Protocol, "Schemas"));
        var onDisk = Directory.GetFiles(Path.Combine(Protocol, "Generated"), "*.g.cs")
            .ToDictionary(f => Path.GetFileName(f), f => File.ReadAllText(f).ReplaceLineEndings("\n"));

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), onDisk.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, content) in expected)
        {
            // On a mismatch: dotnet run --project tools/OrleansGroups.KafkaCodegen
            Assert.True(content == onDisk[name], $"{name} differs from the generator's output: run the generator and commit the result.");
        }
    }

    [Fact]
    public void EverySchemaFile_KeepsItsLicenseHeader()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(Protocol, "Schemas"), "*.json"))
        {
            Assert.Contains("Licensed to the Apache Software Foundation", File.ReadAllText(file));
        }
        Assert.True(File.Exists(Path.Combine(Protocol, "Schemas", "LICENSE")));
        Assert.True(File.Exists(Path.Combine(Protocol, "Schemas", "NOTICE")));
    }

    [Theory]
    [InlineData("3+", 3, short.MaxValue)]
    [InlineData("3-5", 3, 5)]
    [InlineData("0", 0, 0)]
    public void VersionRanges_Parse(string text, short lowest, short highest) =>
        Assert.Equal(new VersionRange(lowest, highest), VersionRange.Parse(text));

    [Fact]
    public void VersionRange_None_IsEmpty() => Assert.True(VersionRange.Parse("none").IsEmpty);

    internal static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "OrleansGroups.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("OrleansGroups.sln not found above the test output.");
    }
}
