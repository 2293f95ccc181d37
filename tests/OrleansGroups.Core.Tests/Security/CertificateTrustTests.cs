using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OrleansGroups.Core.Security;
using OrleansGroups.TestKit;

namespace OrleansGroups.Core.Tests.Security;

/// <summary>Pinned trust: the pinned certificate itself or what its CA issued passes; everything else is refused.</summary>
public sealed class CertificateTrustTests
{
    [Fact]
    public void SelfSigned_PinnedItself_IsTrusted()
    {
        using var silo = SelfSigned("CN=silo");

        Assert.Null(CertificateTrust.Check(Public(silo), [Public(silo)]));
    }

    [Fact]
    public void SelfSigned_WithTheSameSubjectButAnotherKey_IsRefused()
    {
        using var silo = SelfSigned("CN=silo");
        using var impostor = SelfSigned("CN=silo");

        var problem = CertificateTrust.Check(Public(impostor), [Public(silo)]);

        Assert.NotNull(problem);
        Assert.Contains(impostor.Thumbprint, problem);
    }

    [Fact]
    public void IssuedByThePinnedCa_IsTrusted_AndByAnotherCa_IsRefused()
    {
        using var ca = TestCertificateAuthority.Create("CN=cluster-ca");
        using var otherCa = TestCertificateAuthority.Create("CN=cluster-ca");
        using var silo = TestCertificateAuthority.Issue(ca, "CN=silo-1");
        using var stranger = TestCertificateAuthority.Issue(otherCa, "CN=silo-1");

        Assert.Null(CertificateTrust.Check(Public(silo), [Public(ca)]));
        Assert.NotNull(CertificateTrust.Check(Public(stranger), [Public(ca)]));
    }

    [Fact]
    public void Expired_IsRefused_EvenWhenPinned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        using var expired = new CertificateRequest("CN=old", key, HashAlgorithmName.SHA256).CreateSelfSigned(now.AddDays(-10), now.AddDays(-1));

        var problem = CertificateTrust.Check(Public(expired), [Public(expired)]);

        Assert.NotNull(problem);
        Assert.Contains("NotTimeValid", problem);
    }

    [Fact]
    public void LoadTrusted_ReadsPemAndDer_AndRefusesPrivateKeys()
    {
        using var ca = TestCertificateAuthority.Create("CN=ca-a");
        using var other = TestCertificateAuthority.Create("CN=ca-b");
        var directory = Directory.CreateTempSubdirectory("og-trust-").FullName;
        try
        {
            var pem = Path.Combine(directory, "two.crt");
            File.WriteAllText(pem, ca.ExportCertificatePem() + "\n" + other.ExportCertificatePem());
            var der = Path.Combine(directory, "one.cer");
            File.WriteAllBytes(der, ca.Export(X509ContentType.Cert));
            var withKey = Path.Combine(directory, "key.pem");
            File.WriteAllText(withKey, ca.ExportCertificatePem() + "\n" + ca.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            var pfx = Path.Combine(directory, "silo.pfx");
            File.WriteAllBytes(pfx, ca.Export(X509ContentType.Pkcs12, "pw"));

            Assert.Equal([ca.Thumbprint, other.Thumbprint], CertificateTrust.LoadTrusted(pem).Select(c => c.Thumbprint));
            Assert.Equal([ca.Thumbprint], CertificateTrust.LoadTrusted(der).Select(c => c.Thumbprint));
            Assert.Contains("private key", Assert.Throws<InvalidDataException>(() => CertificateTrust.LoadTrusted(withKey)).Message);
            Assert.Throws<InvalidDataException>(() => CertificateTrust.LoadTrusted(pfx));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static X509Certificate2 Public(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.Export(X509ContentType.Cert));

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        return new CertificateRequest(subject, key, HashAlgorithmName.SHA256).CreateSelfSigned(now.AddHours(-1), now.AddDays(1));
    }
}
