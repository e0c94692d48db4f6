#pragma once
// Builds a throwaway PKI in memory: CAs, leaves, delegated OCSP responders and OCSP responses with
// chosen times, statuses, CertID hashes and signers. Used by the built-in demo, the tests and the
// benchmarks, so nothing with an expiry date is ever committed.

#include "OpenSslPtr.h"

#include <QByteArray>
#include <QDateTime>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace staplescope {

enum class KeyType { EcP256, Rsa2048, Ed25519, Rsa1024 /* too weak for today's clients, to test that */ };

// A certificate and its private key, as generated.
struct IssuedCert {
    std::shared_ptr<X509> cert;    // shared: many fixtures reference the same CA
    std::shared_ptr<EVP_PKEY> key;

    QByteArray certDer() const;
    QByteArray certPem() const;
    X509* x509() const { return cert.get(); }
};

struct CertSpec {
    QString commonName = QStringLiteral("www.example.test");
    QStringList dnsNames;            // SANs; empty for CAs
    QString organization = QStringLiteral("Staplescope Test");
    QDateTime notBefore;             // required
    QDateTime notAfter;              // required
    std::optional<QByteArray> serial; // big-endian bytes; random 16 bytes when absent
    bool negativeSerial = false;     // make the serial INTEGER negative (RFC 5280 forbids it; CAs did it)
    bool isCa = false;
    int pathLength = -1;             // -1: no pathLenConstraint
    bool mustStaple = false;         // TLS Feature: status_request
    bool ocspSigning = false;        // EKU id-kp-OCSPSigning (delegated responder)
    bool ocspNoCheck = false;        // id-pkix-ocsp-nocheck
    bool serverAuth = true;          // EKU serverAuth for leaves
    bool clientAuth = false;         // EKU clientAuth (with serverAuth = false: a client-only certificate)
    bool basicConstraints = true;    // false: no basicConstraints extension at all
    // keyUsage keyCertSign: nullopt gives it to CAs only; set it to make a CA that may not sign
    // certificates, or a CA:FALSE certificate that claims to.
    std::optional<bool> keyCertSign;
    bool digitalSignature = true;    // keyUsage digitalSignature (false, on an EC leaf: unusable for TLS)
    QStringList permittedDnsNames;   // name constraints (CAs): permitted dNSName subtrees
    QStringList excludedDnsNames;    // name constraints (CAs): excluded dNSName subtrees
    QString criticalExtensionOid;    // an extension no client knows, marked critical ("1.3.6.1.4.1.…")
    QStringList ocspUrls;            // AIA OCSP
    QStringList caIssuerUrls;        // AIA CA Issuers
    QStringList crlUrls;             // CRL distribution points
    bool subjectKeyId = true;
    bool authorityKeyId = true;
    KeyType keyType = KeyType::EcP256;
    std::shared_ptr<EVP_PKEY> reuseKey; // keep an existing key (renewal with the same key)
};

enum class OcspResponderIdKind { ByName, ByKey };

struct OcspSpec {
    // Response status other than successful gives a response with no body.
    int responseStatus = OCSP_RESPONSE_STATUS_SUCCESSFUL;
    int certStatus = V_OCSP_CERTSTATUS_GOOD;  // GOOD, REVOKED, UNKNOWN
    QDateTime revocationTime;                // for REVOKED
    int revocationReason = -1;               // OCSP_REVOKED_STATUS_*; -1 none
    QDateTime producedAt;                    // defaults to thisUpdate
    QDateTime thisUpdate;                    // required for successful
    std::optional<QDateTime> nextUpdate;     // absent: no nextUpdate field
    const EVP_MD* certIdHash = nullptr;      // nullptr: SHA-1; EVP_sha256() for SHA-256 CertIDs
    OcspResponderIdKind responderId = OcspResponderIdKind::ByKey;
    bool includeSignerCert = true;           // put the signer in the response's certs
    bool corruptSignature = false;           // flip a bit of the signature after signing
    const EVP_MD* signatureHash = nullptr;   // nullptr: SHA-256
};

class PkiFactory {
public:
    // `now` anchors the random-serial-independent defaults; everything else comes from specs.
    PkiFactory() = default;

    // Self-signed when issuer is null.
    IssuedCert issue(const CertSpec& spec, const IssuedCert* issuer = nullptr) const;

    // A response about `subject` (issued by `issuer`), signed by `signer` (issuer itself or a
    // delegated responder). Extra single responses may be appended for other certificates.
    QByteArray ocspResponse(const IssuedCert& subject, const IssuedCert& issuer, const IssuedCert& signer,
                            const OcspSpec& spec,
                            const QList<std::pair<const IssuedCert*, const IssuedCert*>>& alsoAbout = {}) const;

    // A CRL from `issuer` listing `revoked` serials, each with the CRLReason `reasonCode`
    // (OCSP_REVOKED_STATUS_KEYCOMPROMISE…) when it is not negative.
    QByteArray crlDer(const IssuedCert& issuer, const QDateTime& thisUpdate, const QDateTime& nextUpdate,
                      const QList<const IssuedCert*>& revoked = {}, int reasonCode = -1) const;

    static QByteArray toPem(const QByteArray& der, const char* label); // "CERTIFICATE", "OCSP RESPONSE"
    enum class KeyFormat { Pkcs8, Pkcs1Rsa, Sec1Ec, EncryptedPkcs8 };
    static QByteArray privateKeyPem(const EVP_PKEY* key, KeyFormat format, const QByteArray& passphrase = {});
    static QByteArray privateKeyDer(const EVP_PKEY* key); // PKCS#8 DER
    static QByteArray pkcs7Der(const QList<const IssuedCert*>& certs);
    static QByteArray pkcs7Pem(const QList<const IssuedCert*>& certs);
    static QByteArray pkcs12(const IssuedCert& leaf, const QList<const IssuedCert*>& chain,
                             const QByteArray& password);
    // An OCSP request for `subject` (to test that a request is recognised as the wrong thing).
    static QByteArray ocspRequestDer(const IssuedCert& subject, const IssuedCert& issuer);
};

} // namespace staplescope
