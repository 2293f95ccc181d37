using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Configuration;
using Orleans.Connections.Security;
using OrleansGroups.Core.Security;

namespace OrleansGroups.Hosting;

/// <summary>
/// TLS on a silo's two ports from one PKCS#12 (PFX) file: the silo port (silo to silo, mutual: each side presents
/// its certificate and accepts a peer whose certificate has the same subject and chains to one in the file) and the
/// gateway port (clients authenticate the silo; they present no certificate).
/// </summary>
/// <remarks>
/// All silos of a cluster use the same file, or files whose certificates have one subject and come from one private
/// CA whose root is in each file: a silo trusts exactly the certificates of its own file, never merely what the
/// machine trusts.
/// </remarks>
internal static class SiloTls
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    /// <summary>The certificates of a PFX file: the silo's own (with its private key) and the rest (its CA chain).</summary>
    public sealed record Certificates(X509Certificate2 Own, X509Certificate2Collection Trusted);

    /// <summary>Loads and checks the PFX; throws <see cref="InvalidDataException"/> saying what is wrong with it.</summary>
    public static Certificates Load(string path, string? password)
    {
        X509Certificate2Collection all;
        try
        {
            all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, password);
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"--tls-certificate '{path}' cannot be read as a PKCS#12 (PFX) file ({e.Message.Trim()}); " +
                "check the file and --tls-certificate-password", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"--tls-certificate '{path}' cannot be read: {e.Message}", e);
        }
        var own = all.FirstOrDefault(c => c.HasPrivateKey)
            ?? throw new InvalidDataException($"--tls-certificate '{path}' holds no certificate with a private key");
        var now = DateTime.Now;
        if (now < own.NotBefore || now > own.NotAfter)
        {
            throw new InvalidDataException($"--tls-certificate {CertificateTrust.Describe(own)} is valid only from {own.NotBefore.ToUniversalTime():u} to {own.NotAfter.ToUniversalTime():u}");
        }
        // A silo is a TLS server (its ports) and a TLS client (connecting to other silos): an extended key usage,
        // when present, must allow both, or Orleans refuses the certificate later with a less helpful message.
        if (own.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is { } usage)
        {
            var oids = usage.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToHashSet();
            if (!oids.Contains(ServerAuthentication.Value) || !oids.Contains(ClientAuthentication.Value))
            {
                throw new InvalidDataException($"--tls-certificate {CertificateTrust.Describe(own)} must allow both server and client " +
                    "authentication (extended key usages 1.3.6.1.5.5.7.3.1 and 1.3.6.1.5.5.7.3.2): silos connect to each other with it");
            }
        }
        return new(own, all);
    }

    /// <summary>
    /// Null when <paramref name="peer"/> may be a silo of this cluster: its certificate carries this silo's subject and
    /// chains to a certificate of this silo's file; otherwise why not. The subject check keeps a file that happens to
    /// hold a public CA from admitting every certificate that CA ever issued.
    /// </summary>
    public static string? CheckPeer(Certificates own, X509Certificate2 peer, X509Chain? chain)
    {
        if (!peer.SubjectName.RawData.AsSpan().SequenceEqual(own.Own.SubjectName.RawData))
        {
            return $"certificate {CertificateTrust.Describe(peer)} does not carry this silo's subject '{own.Own.Subject}'";
        }
        return CertificateTrust.Check(peer, own.Trusted, chain);
    }

    /// <summary>Turns TLS on for the silo port (mutual, pinned) and the gateway port (server certificate only).</summary>
    public static void Configure(ISiloBuilder silo, Certificates certificates)
    {
        var betweenSilos = new TlsOptions
        {
            LocalCertificate = certificates.Own,
            ClientCertificateMode = RemoteCertificateMode.RequireCertificate,
            RemoteCertificateMode = RemoteCertificateMode.RequireCertificate,
            RemoteCertificateValidation = (certificate, chain, _) => CheckPeer(certificates, certificate, chain) is null,
        };
        var gateway = new TlsOptions
        {
            LocalCertificate = certificates.Own,
            RemoteCertificateMode = RemoteCertificateMode.NoCertificate,
            ClientCertificateMode = RemoteCertificateMode.NoCertificate,
        };
        silo.Configure<SiloConnectionOptions>(o =>
        {
            o.ConfigureSiloInboundConnection(b => b.UseServerTls(betweenSilos));
            o.ConfigureSiloOutboundConnection(b => b.UseClientTls(betweenSilos));
            o.ConfigureGatewayInboundConnection(b => b.UseServerTls(gateway));
        });
    }
}
