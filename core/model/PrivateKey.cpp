#include "PrivateKey.h"

#include <QCryptographicHash>

#include <openssl/core_names.h>

namespace staplescope {

struct PrivateKey::Data {
    EvpPkeyPtr key; // private material: used only to compare public halves, never serialised
    QString format;
    QString description;
    QByteArray publicBits;
    QString id;
    bool encrypted = false;
};

namespace {

void appendDerLength(QByteArray& out, qsizetype length)
{
    if (length < 0x80) {
        out.append(char(length));
        return;
    }
    QByteArray bytes;
    for (qsizetype l = length; l > 0; l >>= 8)
        bytes.prepend(char(l & 0xff));
    out.append(char(0x80 | bytes.size()));
    out.append(bytes);
}

QByteArray derInteger(const BIGNUM* value)
{
    QByteArray magnitude(BN_num_bytes(value), Qt::Uninitialized);
    BN_bn2bin(value, reinterpret_cast<unsigned char*>(magnitude.data()));
    if (magnitude.isEmpty() || (uchar(magnitude.at(0)) & 0x80))
        magnitude.prepend('\0'); // DER INTEGER: positive needs a clear top bit
    QByteArray out(1, '\x02');
    appendDerLength(out, magnitude.size());
    return out + magnitude;
}

// The subjectPublicKey bits a certificate for this key would carry. Built from the key's own
// parameters because i2d_PUBKEY constructs an OpenSSL 3 encoder per call, the costliest thing
// in loading a folder of keys.
QByteArray publicKeyBitsOf(EVP_PKEY* key)
{
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC: {
        size_t length = 0;
        if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0, &length) == 1) {
            QByteArray point(qsizetype(length), Qt::Uninitialized);
            if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                reinterpret_cast<unsigned char*>(point.data()), length, &length) == 1)
                return point.left(qsizetype(length));
        }
        break;
    }
    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448:
    case EVP_PKEY_X25519:
    case EVP_PKEY_X448: {
        size_t length = 0;
        if (EVP_PKEY_get_raw_public_key(key, nullptr, &length) == 1) {
            QByteArray raw(qsizetype(length), Qt::Uninitialized);
            if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &length) == 1)
                return raw.left(qsizetype(length));
        }
        break;
    }
    case EVP_PKEY_RSA: {
        // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
        BIGNUM* n = nullptr;
        BIGNUM* e = nullptr;
        const bool ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
                        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) == 1;
        const BignumPtr modulus(n), exponent(e);
        if (ok) {
            const QByteArray body = derInteger(modulus.get()) + derInteger(exponent.get());
            QByteArray out(1, '\x30');
            appendDerLength(out, body.size());
            return out + body;
        }
        break;
    }
    default:
        break;
    }
    // Anything else: the generic (slow) route through a SubjectPublicKeyInfo.
    unsigned char* spki = nullptr;
    const int length = i2d_PUBKEY(key, &spki);
    QByteArray bits;
    if (length > 0) {
        const unsigned char* p = spki;
        if (X509_PUBKEY* pub = d2i_X509_PUBKEY(nullptr, &p, length)) {
            const unsigned char* data = nullptr;
            int dataLength = 0;
            if (X509_PUBKEY_get0_param(nullptr, &data, &dataLength, nullptr, pub) == 1)
                bits = QByteArray(reinterpret_cast<const char*>(data), dataLength);
            X509_PUBKEY_free(pub);
        }
        OPENSSL_free(spki);
    }
    clearOpenSslErrors();
    return bits;
}

} // namespace

PrivateKey PrivateKey::fromKey(EvpPkeyPtr key, const QString& format, const SourceLocation& source)
{
    if (!key)
        return {};
    auto data = std::make_shared<Data>();
    data->publicBits = publicKeyBitsOf(key.get());
    data->format = format;
    const int bits = EVP_PKEY_get_bits(key.get());
    switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA: data->description = QStringLiteral("RSA %1").arg(bits); break;
    case EVP_PKEY_EC: {
        char group[80] = {};
        size_t len = 0;
        EVP_PKEY_get_utf8_string_param(key.get(), "group", group, sizeof group, &len);
        const int nid = OBJ_sn2nid(group);
        const char* nist = nid != NID_undef ? EC_curve_nid2nist(nid) : nullptr;
        data->description = QStringLiteral("EC %1").arg(QString::fromLatin1(nist ? nist : group));
        break;
    }
    case EVP_PKEY_ED25519: data->description = QStringLiteral("Ed25519"); break;
    default: data->description = QStringLiteral("%1 %2").arg(QString::fromLatin1(EVP_PKEY_get0_type_name(key.get())), QString::number(bits));
    }
    data->id = QStringLiteral("key:") +
               QString::fromLatin1(QCryptographicHash::hash(data->publicBits, QCryptographicHash::Sha256).toHex().left(16));
    data->key = std::move(key);
    clearOpenSslErrors();
    PrivateKey result;
    result.d = std::move(data);
    result.m_source = source;
    return result;
}

PrivateKey PrivateKey::encrypted(const QString& format, const SourceLocation& source)
{
    auto data = std::make_shared<Data>();
    data->format = format;
    data->encrypted = true;
    data->id = QStringLiteral("key:encrypted:") +
               QString::fromLatin1(QCryptographicHash::hash(source.display().toUtf8(), QCryptographicHash::Sha256).toHex().left(12));
    PrivateKey result;
    result.d = std::move(data);
    result.m_source = source;
    return result;
}

bool PrivateKey::isEncrypted() const { return d && d->encrypted; }
QString PrivateKey::format() const { return d ? d->format : QString(); }
QString PrivateKey::keyDescription() const { return d ? d->description : QString(); }
const SourceLocation& PrivateKey::source() const { return m_source; }
QString PrivateKey::id() const { return d ? d->id : QString(); }
QByteArray PrivateKey::publicKeyBitString() const { return d ? d->publicBits : QByteArray(); }

bool PrivateKey::matches(const Certificate& cert) const
{
    if (!d || d->encrypted || cert.isNull())
        return false;
    EVP_PKEY* certKey = X509_get0_pubkey(cert.get0());
    const bool equal = certKey && EVP_PKEY_eq(certKey, d->key.get()) == 1;
    clearOpenSslErrors();
    return equal;
}

} // namespace staplescope
