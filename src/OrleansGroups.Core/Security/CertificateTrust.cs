using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OrleansGroups.Core.Security;

/// <summary>
/// Trust in a TLS peer by pinned anchors: the peer's certificate must be one of the trusted certificates or be issued
/// (directly or through intermediates) by one of them. The host name is not checked: Orleans silos and gateways are
/// reached by IP address, which certificates rarely name; the pin is what authenticates the peer. A certificate
/// from any other authority, even one the machine trusts, is refused.
/// </summary>
/// <remarks>
/// Revocation is not checked: pinned anchors are private (a self-signed certificate or a private CA), which rarely
/// publish revocation lists; replace the anchor to revoke.
/// </remarks>
public static class CertificateTrust
{
    /// <summary>
    /// Null when <paramref name="certificate"/> chains to one of <paramref name="anchors"/> and is valid now;
    /// otherwise why it is refused, in one line.
    /// </summary>
    /// <param name="certificate">The certificate the peer presented.</param>
    /// <param name="anchors">The trusted certificates (roots, or the peer's own self-signed certificate).</param>
    /// <param name="presented">The chain TLS built for the peer, whose certificates serve as intermediates; may be null.</param>
    public static string? Check(X509Certificate2 certificate, X509Certificate2Collection anchors, X509Chain? presented = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(anchors);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        try
        {
            if (chain.Build(certificate))
            {
                return null;
            }
        }
        catch (CryptographicException e)
        {
            return $"certificate {Describe(certificate)} cannot be checked: {e.Message}";
        }
        var reasons = chain.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct();
        return $"certificate {Describe(certificate)} is not issued by a trusted certificate ({string.Join(", ", reasons)})";
    }

    /// <summary>
    /// Reads trusted certificates from a file: PEM (one or more <c>BEGIN CERTIFICATE</c> blocks) or DER. Only public
    /// certificates: a file with a private key is refused, so a key is never copied to where only trust is needed.
    /// </summary>
    /// <exception cref="InvalidDataException">The file holds no certificate, or holds a private key.</exception>
    public static X509Certificate2Collection LoadTrusted(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        if (text.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path} holds a private key; give the public certificate only (PEM or DER)");
        }
        var certificates = new X509Certificate2Collection();
        try
        {
            if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
            {
                certificates.ImportFromPem(text);
            }
            else
            {
                certificates.Add(X509CertificateLoader.LoadCertificate(bytes));
            }
        }
        catch (CryptographicException e)
        {
            throw new InvalidDataException($"{path} is not a PEM or DER certificate: {e.Message}", e);
        }
        if (certificates.Count == 0 || certificates.Any(c => c.HasPrivateKey))
        {
            throw new InvalidDataException($"{path} must hold public certificates only (PEM or DER)");
        }
        return certificates;
    }

    /// <summary>Subject and thumbprint, for messages.</summary>
    public static string Describe(X509Certificate2 certificate) => $"'{certificate.Subject}' ({certificate.Thumbprint})";
}
