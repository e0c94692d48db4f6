#include "PrivateKey.h"

#include <QCryptographicHash>

namespace staplescope {

struct PrivateKey::Data {
    EvpPkeyPtr key; // private material: used only to compare public halves, never serialised
    QString format;
    QString description;
    QByteArray publicDer;
    QString id;
    bool encrypted = false;
};

namespace {

QByteArray encodePublicKey(EVP_PKEY* key)
{
    unsigned char* out = nullptr;
    const int len = i2d_PUBKEY(key, &out);
    if (len <= 0) {
        clearOpenSslErrors();
        return {};
    }
    QByteArray der(reinterpret_cast<const char*>(out), len);
    OPENSSL_free(out);
    return der;
}

} // namespace

PrivateKey PrivateKey::fromKey(EvpPkeyPtr key, const QString& format, const SourceLocation& source)
{
    if (!key)
        return {};
    auto data = std::make_shared<Data>();
    data->publicDer = encodePublicKey(key.get());
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
    default: data->description = QStringLiteral("%1 %2").arg(QString::fromLatin1(EVP_PKEY_get0_type_name(key.get()))).arg(bits);
    }
    data->id = QStringLiteral("key:") +
               QString::fromLatin1(QCryptographicHash::hash(data->publicDer, QCryptographicHash::Sha256).toHex().left(16));
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
QByteArray PrivateKey::publicKeyDer() const { return d ? d->publicDer : QByteArray(); }

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
