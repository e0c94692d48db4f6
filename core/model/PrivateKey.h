#pragma once

#include "Certificate.h"

namespace staplescope {

// A private key found in the inputs. Its material never leaves this class: callers learn only its
// type, whether it is encrypted, and whether it matches a certificate.
class PrivateKey {
public:
    PrivateKey() = default;
    static PrivateKey fromKey(EvpPkeyPtr key, const QString& format, const SourceLocation& source);
    // An encrypted key we were not given (or not able to use) a passphrase for.
    static PrivateKey encrypted(const QString& format, const SourceLocation& source);

    bool isNull() const { return !d; }
    bool isEncrypted() const;
    QString format() const;          // "PKCS#8", "PKCS#1 RSA", "SEC1 EC", "encrypted PKCS#8"
    QString keyDescription() const;  // "EC P-256", "RSA 2048"; empty when encrypted
    const SourceLocation& source() const;
    QString id() const;              // "key:" + hash of the public key, never of private material
    bool matches(const Certificate& cert) const; // false when encrypted
    // The public key as a certificate's subjectPublicKey BIT STRING holds it (to match certificates).
    QByteArray publicKeyBitString() const;

private:
    struct Data;
    std::shared_ptr<const Data> d;
    SourceLocation m_source;
};

} // namespace staplescope
