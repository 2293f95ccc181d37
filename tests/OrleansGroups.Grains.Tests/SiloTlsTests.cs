using System.Security.Cryptography.X509Certificates;
using OrleansGroups.Hosting;
using OrleansGroups.TestKit;

namespace OrleansGroups.Grains.Tests;

/// <summary>Which silos a TLS silo lets in: same subject, chained to a certificate of its own file; nobody else.</summary>
[Trait("Category", "Unit")]
public sealed class SiloTlsTests
{
    [Fact]
    public void ThePeerWithTheSameFile_IsAccepted()
    {
        using var shared = TestCertificate.CreateSelfSigned("CN=cluster");
        var own = new SiloTls.Certificates(shared.Certificate, [shared.Certificate]);

        Assert.Null(SiloTls.CheckPeer(own, Public(shared.Certificate), null));
    }

    [Fact]
    public void PeersFromTheSamePrivateCa_NeedTheSameSubject()
    {
        using var ca = TestCertificateAuthority.Create("CN=cluster-ca");
        using var mine = TestCertificateAuthority.Issue(ca, "CN=silo");
        using var sibling = TestCertificateAuthority.Issue(ca, "CN=silo");
        using var otherService = TestCertificateAuthority.Issue(ca, "CN=billing-api");
        var own = new SiloTls.Certificates(mine, [mine, Public(ca)]);

        Assert.Null(SiloTls.CheckPeer(own, Public(sibling), null));
        Assert.Contains("does not carry this silo's subject", SiloTls.CheckPeer(own, Public(otherService), null));
    }

    [Fact]
    public void APeerWithTheSameSubjectFromAnotherCa_IsRefused()
    {
        using var ca = TestCertificateAuthority.Create("CN=cluster-ca");
        using var impostorCa = TestCertificateAuthority.Create("CN=cluster-ca");
        using var mine = TestCertificateAuthority.Issue(ca, "CN=silo");
        using var impostor = TestCertificateAuthority.Issue(impostorCa, "CN=silo");
        var own = new SiloTls.Certificates(mine, [mine, Public(ca)]);

        Assert.Contains("not issued by a trusted certificate", SiloTls.CheckPeer(own, Public(impostor), null));
    }

    private static X509Certificate2 Public(X509Certificate2 certificate) => X509CertificateLoader.LoadCertificate(certificate.Export(X509ContentType.Cert));
}
