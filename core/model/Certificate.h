#pragma once

#include "OpenSslPtr.h"
#include "SourceLocation.h"

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace staplescope {

// An X.509 certificate, parsed once; cheap to copy (shared, immutable).
class Certificate {
public:
    Certificate() = default;
    // Takes ownership; parses every field the analysis and the details view need.
    static Certificate fromX509(X509Ptr x509, const SourceLocation& source);
    // Parses DER; returns a null Certificate when it is not a certificate.
    static Certificate fromDer(const QByteArray& der, const SourceLocation& source);

    bool isNull() const { return !d; }
    X509* get0() const;              // borrowed; valid while this Certificate lives
    X509Ptr get1() const;            // a new reference for the caller
    const SourceLocation& source() const;
    Certificate withSource(const SourceLocation& source) const; // same certificate, other origin

    QString id() const;              // "cert:" + first 16 hex digits of the SHA-256 fingerprint
    QByteArray der() const;
    QByteArray sha256() const;       // raw fingerprint bytes
    QByteArray sha1() const;

    QString subject() const;         // one line, RFC 2253 order reversed for reading: "CN=a, O=b, C=c"
    QString issuer() const;
    QString commonName() const;      // CN, or first SAN, or subject
    QString displayName() const;     // "mail.example.org (serial 0A:1B…)"
    // A serial is a signed ASN.1 INTEGER: RFC 5280 forbids negative ones, but CAs have issued
    // them, and −0x1111 is another certificate than +0x1111. Compare magnitude and sign together.
    QByteArray serial() const;       // big-endian magnitude bytes
    bool serialNegative() const;
    QString serialHex() const;       // "0A:1B:…" uppercase, colon separated; "-0A:1B:…" when negative

    QDateTime notBefore() const;     // UTC
    QDateTime notAfter() const;      // UTC
    qint64 lifetimeSeconds() const;

    QByteArray subjectKeyId() const;
    QByteArray authorityKeyId() const;
    QByteArray subjectNameDer() const;
    QByteArray issuerNameDer() const;
    QByteArray publicKeyBitString() const; // what OCSP's issuerKeyHash hashes
    QByteArray publicKeyDer() const;       // SubjectPublicKeyInfo DER, to match private keys

    QStringList dnsNames() const;
    QStringList ipAddresses() const;
    QStringList ocspUrls() const;
    QStringList caIssuerUrls() const;
    QStringList crlUrls() const;

    bool isCa() const;
    bool isSelfIssued() const;       // subject == issuer
    bool isSelfSigned() const;       // self-issued and its own key verifies it
    bool mustStaple() const;         // TLS Feature extension lists status_request (5)
    bool hasOcspSigningUsage() const;
    bool hasOcspNoCheck() const;
    QString keyDescription() const;  // "EC P-256", "RSA 2048", "Ed25519"
    QString signatureAlgorithm() const;
    QString textDump() const;        // like `openssl x509 -text -noout`

    // True when `issuer`'s subject matches our issuer name, the key identifiers agree where both
    // exist, and issuer's key verifies our signature.
    bool isIssuedBy(const Certificate& issuer) const;
    // Names match (and key ids, where present), regardless of the signature.
    bool namesIssuer(const Certificate& candidate) const;
    bool verifySignatureWith(const Certificate& issuer) const;

    bool operator==(const Certificate& other) const; // same DER
    bool operator!=(const Certificate& other) const { return !(*this == other); }

private:
    struct Data;
    std::shared_ptr<const Data> d;
    SourceLocation m_source;
};

// The DER encoding of a name: X509_NAME_cmp compares encodings, so equal DER means equal names.
QByteArray x509NameDer(const X509_NAME* name);

// `when` as seen from `at`: "in 3 days 2 hours", "2 days 3 hours ago", "right now".
QString relativeTime(const QDateTime& at, const QDateTime& when);
// A finding's subject line for a certificate: "FILE: NAME (serial …)"; the name alone when the
// certificate comes from nowhere in particular.
QString certificateSubject(const Certificate& cert);

// Formats a duration for people: "2 days 3 hours", "45 minutes", "1 year 20 days".
QString formatDuration(qint64 seconds);
// "2026-11-24 08:00:00 UTC"
QString formatTime(const QDateTime& time);
QString hexColon(const QByteArray& bytes);
// A serial (magnitude bytes and sign) as one key for hashing and equality: "-" or "+" then the bytes.
QByteArray signedSerialKey(const QByteArray& magnitude, bool negative);
QString signedSerialHex(const QByteArray& magnitude, bool negative); // "-11:11" / "11:11"
// Why `cert`'s validity times cannot be used (a notBefore or notAfter that decodes but is not a
// time, such as month 13), naming the field and what clients do; empty when both are valid.
QString unreadableValidityText(const Certificate& cert);
// The version a certificate's DER states (0 for v1 … 2 for v3; absent means v1), read from the
// encoding without d2i_X509, so it can be named when a parser refuses the certificate for it.
// nullopt when the bytes do not start like a certificate.
std::optional<long> statedCertificateVersion(const QByteArray& der);
// Why `version` (X509_get_version's value) is not a certificate version, and what clients do;
// empty for v1, v2 and v3. `parsed`: whether this OpenSSL read the certificate anyway.
QString invalidVersionText(long version, bool parsed);

} // namespace staplescope
