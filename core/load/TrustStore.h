#pragma once

#include "Certificate.h"
#include "Finding.h"

namespace staplescope {

// Trust anchors: the system store (optional) plus extra CA files (--ca-file, settings).
class TrustStore {
public:
    explicit TrustStore(bool useSystemStore = true);
    TrustStore(const TrustStore&) = delete;
    TrustStore& operator=(const TrustStore&) = delete;

    // Adds every certificate in a PEM/DER file; findings explain a file that holds none.
    QList<Finding> addCaFile(const QString& path);
    void addCertificate(const Certificate& cert);

    X509_STORE* get0() const { return m_store.get(); }
    bool usesSystemStore() const { return m_useSystem; }
    const QList<Certificate>& extraAnchors() const { return m_extra; }

    // A trusted certificate whose subject is `cert`'s issuer and whose key verifies it.
    Certificate findIssuer(const Certificate& cert) const;
    // True when `cert` itself (same DER) is a trust anchor.
    bool isAnchor(const Certificate& cert) const;

private:
    X509StorePtr m_store;
    bool m_useSystem;
    QList<Certificate> m_extra;
};

} // namespace staplescope
