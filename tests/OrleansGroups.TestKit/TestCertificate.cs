using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansGroups.TestKit;

/// <summary>
/// A self-signed TLS certificate made at test run time (never stored in the repository), written to a temporary
/// folder as the silo's password-protected PFX and as the public PEM certificate clients pin. Disposing deletes it.
/// </summary>
public sealed class TestCertificate : IDisposable
{
    private readonly string _directory;

    private TestCertificate(X509Certificate2 certificate, string directory, string password)
    {
        Certificate = certificate;
        _directory = directory;
        Password = password;
        PfxPath = Path.Combine(directory, "silo.pfx");
        PublicPemPath = Path.Combine(directory, "silo.crt");
        File.WriteAllBytes(PfxPath, certificate.Export(X509ContentType.Pkcs12, password));
        File.WriteAllText(PublicPemPath, certificate.ExportCertificatePem());
    }

    /// <summary>The certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The PKCS#12 file with certificate and key (for <c>--tls-certificate</c>).</summary>
    public string PfxPath { get; }

    /// <summary>The PFX password, random per run.</summary>
    public string Password { get; }

    /// <summary>The public certificate as PEM (for <c>--tls-ca</c>).</summary>
    public string PublicPemPath { get; }

    /// <summary>
    /// A self-signed ECDSA P-256 certificate for server and client authentication, naming localhost and 127.0.0.1,
    /// valid from an hour ago (clock skew) for <paramref name="validFor"/> (default a day).
    /// </summary>
    public static TestCertificate CreateSelfSigned(string subject = "CN=orleansgroups-test",
        bool clientAuthentication = true, TimeSpan? validFor = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var usages = new OidCollection { new("1.3.6.1.5.5.7.3.1") };
        if (clientAuthentication)
        {
            usages.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        }
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddHours(-1), now + (validFor ?? TimeSpan.FromDays(1)));
        var directory = Directory.CreateTempSubdirectory("og-tls-").FullName;
        return new TestCertificate(certificate, directory, Guid.NewGuid().ToString("N"));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A process that still holds the file: the temporary folder is cleaned up by the system later.
        }
    }
}
