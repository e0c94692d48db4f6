#include "TrustStore.h"

#include "FindingRegistry.h"
#include "Loader.h"

namespace staplescope {

TrustStore::TrustStore(bool useSystemStore) : m_store(X509_STORE_new()), m_useSystem(useSystemStore)
{
    if (useSystemStore) {
        // /etc/ssl/certs (hashed directory, looked up lazily) and the default bundle file.
        X509_STORE_set_default_paths(m_store.get());
        clearOpenSslErrors();
    }
}

QList<Finding> TrustStore::addCaFile(const QString& path)
{
    const LoadedInputs inputs = Loader().loadPaths({path});
    QList<Finding> findings = inputs.findings;
    for (const Certificate& cert : inputs.certificates)
        addCertificate(cert);
    if (inputs.certificates.isEmpty() && findings.isEmpty()) {
        findings << makeFinding(FindingCode::InputUnrecognized, Severity::Error, QStringLiteral("No certificates in the CA file"), path,
                                QStringLiteral("The CA file given as a trust anchor holds no certificates."),
                                QStringLiteral("Give a PEM or DER file with the CA certificates to trust."), {},
                                Remedy{RemedyKind::AddTrustAnchor, path, {}, {}});
    }
    return findings;
}

void TrustStore::addCertificate(const Certificate& cert)
{
    if (cert.isNull() || isAnchor(cert))
        return;
    X509_STORE_add_cert(m_store.get(), cert.get0());
    clearOpenSslErrors(); // "cert already in hash table" is not an error for us
    m_extra << cert;
}

Certificate TrustStore::findIssuer(const Certificate& cert) const
{
    if (cert.isNull())
        return {};
    for (const Certificate& anchor : m_extra)
        if (cert.isIssuedBy(anchor))
            return anchor;
    if (!m_useSystem)
        return {};
    // The system store is a lazily read hashed directory: ask OpenSSL to look the name up.
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), m_store.get(), cert.get0(), nullptr) != 1) {
        clearOpenSslErrors();
        return {};
    }
    OpenSslPtr<STACK_OF(X509), freeX509Stack> candidates(
        X509_STORE_CTX_get1_certs(ctx.get(), X509_get_issuer_name(cert.get0())));
    clearOpenSslErrors();
    for (int i = 0; i < sk_X509_num(candidates.get()); ++i) {
        X509* x = sk_X509_value(candidates.get(), i);
        X509_up_ref(x);
        const Certificate candidate =
            Certificate::fromX509(X509Ptr(x), SourceLocation{QStringLiteral("system trust store"), 0, 1});
        if (cert.isIssuedBy(candidate))
            return candidate;
    }
    return {};
}

bool TrustStore::isAnchor(const Certificate& cert) const
{
    for (const Certificate& anchor : m_extra)
        if (anchor == cert)
            return true;
    if (!m_useSystem || !cert.isSelfIssued())
        return false;
    const Certificate found = findIssuer(cert);
    return !found.isNull() && found == cert;
}

} // namespace staplescope
