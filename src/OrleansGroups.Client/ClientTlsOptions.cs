using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;
using Orleans.Hosting;
using OrleansGroups.Core.Security;

namespace OrleansGroups.Client;

/// <summary>
/// How a client trusts the TLS certificate of OrleansGroups silos started with a TLS certificate. Immutable. Choose
/// one: <see cref="TrustedCertificates"/> (pinning; recommended), <see cref="TargetHost"/> (the machine's trust store
/// and a host name check), or <see cref="AllowUntrustedCertificates"/> (development only).
/// </summary>
public sealed record ClientTlsOptions
{
    /// <summary>
    /// The silo certificate must be one of these or be issued by one of them: the silos' self-signed certificate, or
    /// the root of the private CA that issued theirs. Public certificates only (see <see cref="CertificateTrust.LoadTrusted"/>).
    /// The host name is not checked (gateways are reached by IP address); a certificate from any other authority is
    /// refused, even one the machine trusts. Default: none.
    /// </summary>
    public X509Certificate2Collection TrustedCertificates { get; init; } = [];

    /// <summary>
    /// Without <see cref="TrustedCertificates"/>: the name the silo certificate must carry, validated with the
    /// machine's trust store (e.g. the gateway's DNS name). Default: none.
    /// </summary>
    public string? TargetHost { get; init; }

    /// <summary>
    /// Accept any silo certificate (default false): the traffic is encrypted, but anyone between client and silo can
    /// pose as the silo. For self-signed development certificates only.
    /// </summary>
    public bool AllowUntrustedCertificates { get; init; }

    /// <summary>Told why a silo certificate was refused (diagnostics: the TLS layer itself only closes the connection).</summary>
    internal Action<string>? OnRejected { get; init; }

    /// <summary>Every contradiction in these options; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var modes = (TrustedCertificates.Count > 0 ? 1 : 0) + (AllowUntrustedCertificates ? 1 : 0);
        if (modes > 1)
        {
            errors.Add("Trust either pinned certificates or, in development, any certificate; not both.");
        }
        if (modes == 0 && string.IsNullOrWhiteSpace(TargetHost))
        {
            errors.Add("TLS needs a way to trust the silo: pinned certificates (the silo's certificate or its CA), " +
                "a target host name for the machine's trust store, or, in development only, any certificate.");
        }
        return errors;
    }

    /// <summary>Applies these settings to Orleans' TLS options of a client connection.</summary>
    internal void ApplyTo(TlsOptions tls)
    {
        // The client has no certificate of its own: the silos authenticate themselves, clients do not.
        tls.ClientCertificateMode = RemoteCertificateMode.NoCertificate;
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        if (AllowUntrustedCertificates)
        {
            tls.AllowAnyRemoteCertificate();
            return;
        }
        if (TrustedCertificates.Count > 0)
        {
            var anchors = new X509Certificate2Collection(TrustedCertificates);
            var onRejected = OnRejected;
            tls.RemoteCertificateValidation = (certificate, chain, _) =>
            {
                var problem = CertificateTrust.Check(certificate, anchors, chain);
                if (problem is not null)
                {
                    onRejected?.Invoke(problem);
                }
                return problem is null;
            };
            return;
        }
        var host = TargetHost;
        var rejected = OnRejected;
        tls.RemoteCertificateValidation = (certificate, _, errors) =>
        {
            if (errors != System.Net.Security.SslPolicyErrors.None)
            {
                rejected?.Invoke($"certificate {CertificateTrust.Describe(certificate)} is not trusted for '{host}' ({errors})");
            }
            return errors == System.Net.Security.SslPolicyErrors.None;
        };
        tls.OnAuthenticateAsClient = (_, ssl) => ssl.TargetHost = host;
    }
}

/// <summary>TLS for Orleans clients of OrleansGroups silos.</summary>
public static class OrleansGroupsClientTlsExtensions
{
    /// <summary>
    /// Connects to the silos' gateways over TLS, trusting their certificate as <paramref name="options"/> says
    /// (for silos started with <c>--tls-certificate</c>). Throws <see cref="ArgumentException"/> listing every
    /// contradiction in the options.
    /// </summary>
    public static IClientBuilder UseOrleansGroupsTls(this IClientBuilder builder, ClientTlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { Count: > 0 } errors)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }
        return builder.UseTls(options.ApplyTo);
    }
}
