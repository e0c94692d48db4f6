#pragma once

#include "Certificate.h"

#include <optional>

namespace staplescope {

// A certificate revocation list (read so the tool can recognise and report it).
class Crl {
public:
    Crl() = default;
    static Crl fromX509Crl(X509CrlPtr crl, const SourceLocation& source);
    bool isNull() const { return !d; }
    X509_CRL* get0() const;
    const SourceLocation& source() const;
    QString issuer() const;
    QByteArray issuerNameDer() const;
    QDateTime thisUpdate() const;
    QDateTime nextUpdate() const;
    int revokedCount() const;
    // Revocation time of `cert` if this CRL (from cert's issuer) lists its serial.
    std::optional<QDateTime> revocationTimeOf(const Certificate& cert) const;
    // The reason of that entry (its CRLReason extension, as OpenSSL names it: "keyCompromise"); empty
    // when the entry gives none or the CRL does not list `cert`.
    QString revocationReasonOf(const Certificate& cert) const;

private:
    struct Data;
    std::shared_ptr<const Data> d;
    SourceLocation m_source;
};

} // namespace staplescope
