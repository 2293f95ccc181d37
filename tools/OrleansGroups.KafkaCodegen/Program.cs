using OrleansGroups.KafkaCodegen;

// Regenerates src/OrleansGroups.Kafka/Protocol/Generated from the schemas in src/OrleansGroups.Kafka/Protocol/Schemas.
// Usage: dotnet run --project tools/OrleansGroups.KafkaCodegen [-- <repository root>]
var root = args.Length > 0 ? args[0] : FindRoot(Directory.GetCurrentDirectory());
var protocol = Path.Combine(root, "src", "OrleansGroups.Kafka", "Protocol");
var outputDirectory = Path.Combine(protocol, "Generated");
var files = KafkaCodeGenerator.Generate(Path.Combine(protocol, "Schemas"));
Directory.CreateDirectory(outputDirectory);
foreach (var stale in Directory.GetFiles(outputDirectory, "*.g.cs").Where(f => !files.ContainsKey(Path.GetFileName(f))))
{
    File.Delete(stale);
}
foreach (var (name, content) in files)
{
    File.WriteAllText(Path.Combine(outputDirectory, name), content);
}
Console.WriteLine($"Wrote {files.Count} files to {outputDirectory}");
return 0;

static string FindRoot(string from)
{
    for (var dir = new DirectoryInfo(from); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "OrleansGroups.sln")))
        {
            return dir.FullName;
        }
    }
    throw new InvalidOperationException("Run from inside the repository, or pass its root.");
}
