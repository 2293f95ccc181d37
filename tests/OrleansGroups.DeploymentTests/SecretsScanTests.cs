using System.Text.RegularExpressions;
using OrleansGroups.Hosting;
using OrleansGroups.TestKit;

namespace OrleansGroups.DeploymentTests;

/// <summary>
/// No credentials in the repository: storage account keys, connection strings with a key, SAS signatures and
/// private keys are refused, except the public, documented Azurite development key.
/// </summary>
[Trait("Category", "Deployment")]
public sealed partial class SecretsScanTests
{
    /// <summary>The emulator's well-known key (published in the Azurite and Azure Storage documentation).</summary>
    private const string AzuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private const long MaxFileBytes = 2 << 20;

    [Fact]
    public async Task TrackedFiles_HoldNoKeysOrConnectionStrings_ButAzuritesPublicOne()
    {
        var files = await RepositoryFilesAsync();
        Assert.Contains("README.md", files);
        var findings = new List<string>();
        foreach (var file in files)
        {
            var path = Repo.PathOf(file);
            if (!File.Exists(path) || new FileInfo(path).Length > MaxFileBytes)
            {
                continue;
            }
            var bytes = await File.ReadAllBytesAsync(path);
            if (Array.IndexOf(bytes, (byte)0) >= 0)
            {
                continue; // binary
            }
            findings.AddRange(Scan(System.Text.Encoding.UTF8.GetString(bytes)).Select(f => $"{file}: {f}"));
        }

        Assert.True(findings.Count == 0, "Possible secrets (move them to a secret store or an environment variable):\n" + string.Join('\n', findings));
    }

    [Fact]
    public void Scanner_FindsKeysSasAndPrivateKeys_AndAcceptsAzuritesKey()
    {
        // Built at run time, so this file itself holds nothing that looks like a key.
        var fakeKey = new string('Q', 86) + "==";
        var pem = "-----BEGIN " + "PRIVATE KEY-----";

        Assert.Single(Scan($"DefaultEndpointsProtocol=https;AccountName=prod;AccountKey={fakeKey};EndpointSuffix=core.windows.net"));
        Assert.Single(Scan($"\"accountKey\": \"{fakeKey}\""));
        Assert.Single(Scan("https://prod.blob.core.windows.net/c?sv=2024-05-04&se=2030-01-01&sp=r&sig=" + new string('a', 40) + "%3D"));
        Assert.Single(Scan(pem));
        Assert.Empty(Scan(AzureStorageSettings.AzuriteConnectionString));
        Assert.Empty(Scan(LocalAzurite.DevelopmentConnectionString));
        Assert.Empty(Scan("AccountKey=$ACCOUNT_KEY; AccountKey={key}; OrleansGroups__ConnectionString: (a Secret)"));
    }

    /// <summary>Descriptions of what looks like a secret in <paramref name="text"/>.</summary>
    private static IEnumerable<string> Scan(string text)
    {
        foreach (Match m in AccountKey().Matches(text))
        {
            if (m.Groups["key"].Value != AzuriteKey)
            {
                yield return $"storage account key at offset {m.Index}";
            }
        }
        foreach (Match m in SasSignature().Matches(text))
        {
            yield return $"SAS signature at offset {m.Index}";
        }
        foreach (Match m in PrivateKey().Matches(text))
        {
            yield return $"private key at offset {m.Index}";
        }
    }

    /// <summary>Tracked and untracked-but-not-ignored files (git), or every file outside build output without git.</summary>
    private static async Task<IReadOnlyList<string>> RepositoryFilesAsync()
    {
        try
        {
            var result = await ChildProcess.RunAsync("git", ["-C", Repo.Root, "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                stdin: null, TimeSpan.FromMinutes(1));
            if (result.ExitCode == 0)
            {
                return result.StandardOutput.Split('\0', StringSplitOptions.RemoveEmptyEntries);
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No git: walk the tree.
        }
        string[] skipped = ["/.git/", "/bin/", "/obj/", "/node_modules/", "/TestResults/", "/.azurite/", "/.cluster/"];
        return Directory.EnumerateFiles(Repo.Root, "*", SearchOption.AllDirectories)
            .Select(f => "/" + Path.GetRelativePath(Repo.Root, f).Replace('\\', '/'))
            .Where(f => !skipped.Any(s => f.Contains(s, StringComparison.Ordinal)))
            .Select(f => f[1..])
            .ToList();
    }

    // AccountKey=<base64> in a connection string, or "accountKey": "<base64>" in JSON; a key is 64 bytes (88 base64 chars).
    [GeneratedRegex(@"(?i:account_?key)[""']?\s*[=:]\s*[""']?(?<key>[A-Za-z0-9+/]{80,}={0,2})")]
    private static partial Regex AccountKey();

    [GeneratedRegex(@"[?&]sig=[A-Za-z0-9%+/]{30,}")]
    private static partial Regex SasSignature();

    [GeneratedRegex(@"-----BEGIN (RSA |EC |OPENSSH |ENCRYPTED )?PRIVATE KEY-----")]
    private static partial Regex PrivateKey();
}
