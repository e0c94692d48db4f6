#pragma once

#include "Certificate.h"

#include <QDateTime>
#include <QList>
#include <QString>

#include <optional>

namespace staplescope {

enum class OcspCertStatus { Good, Revoked, Unknown };

// The identity a response is about: serial, plus hashes of the issuer's name and key made with
// the hash algorithm the response itself chose (SHA-1 or SHA-256; both occur).
struct OcspCertId {
    QString hashAlgorithm;   // "SHA-1", "SHA-256", …
    int hashNid = 0;
    QByteArray issuerNameHash;
    QByteArray issuerKeyHash;
    QByteArray serial;       // big-endian magnitude bytes
    bool serialNegative = false; // the INTEGER's sign: −0x1111 names another certificate than 0x1111

    QString serialHex() const;
    // Like OCSP_id_cmp: the serial with its sign, the hashes with the CertID's own algorithm.
    // Hash `cert`'s issuer name (and `issuer`'s key, when given) with our algorithm and compare.
    bool serialMatches(const Certificate& cert) const;
    bool issuerNameMatches(const Certificate& cert) const;            // hash of cert's issuer DN
    bool issuerKeyMatches(const Certificate& issuer) const;           // hash of issuer's public key
    bool matches(const Certificate& cert, const Certificate& issuer) const;
};

struct OcspSingleResponse {
    OcspCertId certId;
    OcspCertStatus status = OcspCertStatus::Unknown;
    QDateTime revocationTime;     // null unless revoked
    int revocationReason = -1;    // CRL reason code, -1 when absent
    QString revocationReasonName; // "keyCompromise", …
    QDateTime thisUpdate;
    QDateTime nextUpdate;         // null when the responder gave none
};

// An OCSP response as a server would staple it.
class OcspStaple {
public:
    enum class Encoding { Der, Pem, Base64 };

    struct ParseResult;
    // Parses a DER OCSPResponse. On failure the result carries the reason.
    static ParseResult fromDer(const QByteArray& der, const SourceLocation& source,
                               Encoding encoding = Encoding::Der);

    bool isNull() const { return !d; }
    const SourceLocation& source() const;
    // The same parsed response with another origin (one staple served by many endpoints).
    OcspStaple withSource(const SourceLocation& source) const
    {
        OcspStaple copy = *this;
        copy.m_source = source;
        return copy;
    }
    QString id() const;                 // "staple:" + first 16 hex digits of SHA-256 of the DER
    QByteArray der() const;
    Encoding encoding() const;          // how the file held it (servers want DER)

    int responseStatus() const;         // OCSP_RESPONSE_STATUS_*
    QString responseStatusName() const; // "successful", "tryLater", …
    bool isSuccessful() const;

    // Only for successful responses:
    OCSP_BASICRESP* basic0() const;     // borrowed
    QDateTime producedAt() const;
    QString responderId() const;        // "byName: CN=…" or "byKey: 3A:…"
    QString responderName() const;      // empty when identified by key
    QByteArray responderKeyHash() const; // empty when identified by name
    QList<OcspSingleResponse> responses() const;
    QList<Certificate> embeddedCertificates() const;
    QString signatureAlgorithm() const;

    // True when `signer` is the certificate this response names as its responder.
    bool isResponder(const Certificate& signer) const;
    // Verifies the response signature with `signer`'s key.
    bool verifySignature(const Certificate& signer) const;

    QString textDump() const;           // like `openssl ocsp -respin F -resp_text`

private:
    struct Data;
    std::shared_ptr<const Data> d;
    SourceLocation m_source;
};

struct OcspStaple::ParseResult {
    OcspStaple staple;
    QString error; // non-empty when parsing failed: why
};

QString ocspStatusName(OcspCertStatus status); // "good", "revoked", "unknown"

} // namespace staplescope
