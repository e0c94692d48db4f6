#include "Certificate.h"

#include <QCryptographicHash>
#include <QHash>
#include <QMutex>
#include <QTimeZone>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

namespace staplescope {

QByteArray x509NameDer(const X509_NAME* name)
{
    unsigned char* out = nullptr;
    const int len = i2d_X509_NAME(name, &out);
    if (len <= 0)
        return {};
    QByteArray result(reinterpret_cast<const char*>(out), len);
    OPENSSL_free(out);
    return result;
}

namespace {

QString nameToString(const X509_NAME* name)
{
    // One line, most specific first ("CN=a, O=b, C=c"), as admins read it in other tools.
    BioPtr bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    return QString::fromUtf8(bioContents(bio.get())).replace(QStringLiteral(","), QStringLiteral(", "))
        .replace(QStringLiteral("\\, "), QStringLiteral("\\,"));
}

QString firstEntry(const X509_NAME* name, int nid)
{
    const int pos = X509_NAME_get_index_by_NID(name, nid, -1);
    if (pos < 0)
        return {};
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, pos));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0)
        return {};
    QString result = QString::fromUtf8(reinterpret_cast<const char*>(utf8), len);
    OPENSSL_free(utf8);
    return result;
}

QString asn1StringToQString(const ASN1_STRING* s)
{
    return QString::fromLatin1(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
}

QString describeKey(const EVP_PKEY* key)
{
    if (!key)
        return QStringLiteral("unknown key");
    const int bits = EVP_PKEY_get_bits(key);
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        return QStringLiteral("RSA %1").arg(bits);
    case EVP_PKEY_EC: {
        char group[80] = {};
        size_t len = 0;
        if (EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) == 1) {
            const int nid = OBJ_sn2nid(group);
            const char* nist = nid != NID_undef ? EC_curve_nid2nist(nid) : nullptr;
            return QStringLiteral("EC %1").arg(QString::fromLatin1(nist ? nist : group));
        }
        return QStringLiteral("EC %1").arg(bits);
    }
    case EVP_PKEY_ED25519: return QStringLiteral("Ed25519");
    case EVP_PKEY_ED448: return QStringLiteral("Ed448");
    case EVP_PKEY_DSA: return QStringLiteral("DSA %1").arg(bits);
    default: break;
    }
    const char* name = EVP_PKEY_get0_type_name(key);
    return QStringLiteral("%1 %2").arg(QString::fromLatin1(name ? name : "key"), QString::number(bits));
}

} // namespace

QString hexColon(const QByteArray& bytes)
{
    return QString::fromLatin1(bytes.toHex(':').toUpper());
}

QByteArray signedSerialKey(const QByteArray& magnitude, bool negative)
{
    return (negative ? QByteArrayLiteral("-") : QByteArrayLiteral("+")) + magnitude;
}

QString signedSerialHex(const QByteArray& magnitude, bool negative)
{
    return (negative ? QStringLiteral("-") : QString()) + hexColon(magnitude);
}

QString unreadableValidityText(const Certificate& cert)
{
    const bool beforeOk = cert.notBefore().isValid(), afterOk = cert.notAfter().isValid();
    if (cert.isNull() || (beforeOk && afterOk))
        return {};
    const QString fields = !beforeOk && !afterOk ? QStringLiteral("notBefore and notAfter are")
                           : !beforeOk           ? QStringLiteral("notBefore is")
                                                 : QStringLiteral("notAfter is");
    // OpenSSL's verifier fails it with X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD (or NOT_AFTER):
    // clients reject it whatever the date.
    return QStringLiteral("The certificate's %1 not a valid time (it decodes, but names no real moment); its validity "
                          "period is unknown, so its expiry is not checked. Clients reject it (OpenSSL: \"format error in "
                          "certificate's %2 field\").")
        .arg(fields, !beforeOk ? QStringLiteral("notBefore") : QStringLiteral("notAfter"));
}

std::optional<long> statedCertificateVersion(const QByteArray& der)
{
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    const unsigned char* const end = p + der.size();
    long length = 0;
    int tag = 0, cls = 0;
    // One header: ASN1_get_object leaves `p` at the content and sets 0x80 on a bad header or a
    // length running past `end`.
    auto header = [&](int wantTag, int wantClass, bool constructed) {
        if (end - p < 2)
            return false;
        const int info = ASN1_get_object(&p, &length, &tag, &cls, long(end - p));
        return !(info & 0x80) && tag == wantTag && cls == wantClass && bool(info & V_ASN1_CONSTRUCTED) == constructed;
    };
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { version [0] EXPLICIT INTEGER DEFAULT v1, … } … }
    if (!header(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, true) || !header(V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, true))
        return std::nullopt;
    const unsigned char* const afterTbsHeader = p;
    if (!header(0, V_ASN1_CONTEXT_SPECIFIC, true)) {
        p = afterTbsHeader;
        return header(V_ASN1_INTEGER, V_ASN1_UNIVERSAL, false) ? std::optional<long>(0) : std::nullopt; // the serial: v1
    }
    const unsigned char* integer = p;
    if (!header(V_ASN1_INTEGER, V_ASN1_UNIVERSAL, false))
        return std::nullopt;
    const OpenSslPtr<ASN1_INTEGER, ASN1_INTEGER_free> version(d2i_ASN1_INTEGER(nullptr, &integer, long(p + length - integer)));
    ERR_clear_error();
    if (!version)
        return std::nullopt;
    // ASN1_INTEGER_get answers -1 for a value too large for a long as well; either way, not 0…2.
    return ASN1_INTEGER_get(version.get());
}

QString invalidVersionText(long version, bool parsed)
{
    if (version >= 0 && version <= 2)
        return {};
    const QString stated = version >= 0 ? QStringLiteral("%1 (\"v%2\")").arg(QString::number(version), QString::number(version + 1))
                                        : QString::number(version);
    // Measured with OpenSSL 3.0: d2i_X509 accepts any version and X509_verify_cert does not look
    // at it. BoringSSL's parser (X509_R_INVALID_VERSION) and Go's crypto/x509 refuse it.
    return parsed ? QStringLiteral("The certificate's version field is %1; only v1, v2 and v3 (0, 1, 2) exist. OpenSSL 3.0 reads and "
                                   "verifies it anyway, but stricter clients (BoringSSL, so Chrome and Android; Go) refuse to parse it, "
                                   "so the certificate fails there.")
                        .arg(stated)
                  : QStringLiteral("The certificate's version field is %1; only v1, v2 and v3 (0, 1, 2) exist, and OpenSSL refuses to "
                                   "read it, as do BoringSSL and Go.")
                        .arg(stated);
}

QString formatTime(const QDateTime& time)
{
    if (!time.isValid())
        return QStringLiteral("(none)");
    return time.toUTC().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")) + QStringLiteral(" UTC");
}

QString relativeTime(const QDateTime& at, const QDateTime& when)
{
    const qint64 secs = at.secsTo(when);
    if (secs == 0)
        return QStringLiteral("right now");
    return secs > 0 ? QStringLiteral("in %1").arg(formatDuration(secs)) : QStringLiteral("%1 ago").arg(formatDuration(secs));
}

QString certificateSubject(const Certificate& cert)
{
    const QString where = cert.source().display();
    return where.isEmpty() ? cert.displayName() : QStringLiteral("%1: %2").arg(where, cert.displayName());
}

QString formatDuration(qint64 seconds)
{
    seconds = qAbs(seconds);
    struct Unit {
        qint64 seconds;
        const char* singular;
        const char* plural;
    };
    static const Unit units[] = {{365 * 86400, "year", "years"}, {86400, "day", "days"},
                                 {3600, "hour", "hours"},        {60, "minute", "minutes"},
                                 {1, "second", "seconds"}};
    QStringList parts;
    for (const Unit& unit : units) {
        const qint64 n = seconds / unit.seconds;
        if (n > 0 || (!parts.isEmpty())) {
            if (n > 0)
                parts << QStringLiteral("%1 %2").arg(n).arg(QLatin1String(n == 1 ? unit.singular : unit.plural));
            seconds -= n * unit.seconds;
            if (parts.size() == 2 || (!parts.isEmpty() && n == 0))
                break; // two units are enough to act on: "2 days 3 hours"
        }
    }
    return parts.isEmpty() ? QStringLiteral("0 seconds") : parts.join(QLatin1Char(' '));
}

struct Certificate::Data {
    X509Ptr x509;
    QByteArray der, sha256, sha1;
    QString id, subject, issuer, commonName, serialHex, keyDescription, signatureAlgorithm;
    bool serialNegative = false;
    QByteArray serial, ski, aki, subjectDer, issuerDer, publicKeyBits, publicKeyDer;
    QDateTime notBefore, notAfter;
    QStringList dnsNames, ipAddresses, ocspUrls, caIssuerUrls, crlUrls;
    bool isCa = false, selfIssued = false, selfSigned = false, mustStaple = false, ocspSigning = false,
         ocspNoCheck = false;
    // Signature checks are the costliest step and a bundle is re-evaluated on every "as of" change;
    // the answer for a given issuer never changes, so remember it (by the issuer's fingerprint).
    mutable QMutex verifiedMutex;
    mutable QHash<QByteArray, bool> verifiedBy;
};

Certificate Certificate::fromDer(const QByteArray& der, const SourceLocation& source)
{
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    X509Ptr x509(d2i_X509(nullptr, &p, der.size()));
    if (!x509 || p != reinterpret_cast<const unsigned char*>(der.constData()) + der.size()) {
        clearOpenSslErrors();
        return {};
    }
    return fromX509(std::move(x509), source);
}

Certificate Certificate::fromX509(X509Ptr x509, const SourceLocation& source)
{
    if (!x509)
        return {};
    auto data = std::make_shared<Data>();
    X509* x = x509.get();

    unsigned char* derOut = nullptr;
    const int derLen = i2d_X509(x, &derOut);
    if (derLen <= 0) {
        clearOpenSslErrors();
        return {};
    }
    data->der = QByteArray(reinterpret_cast<const char*>(derOut), derLen);
    OPENSSL_free(derOut);
    data->sha256 = QCryptographicHash::hash(data->der, QCryptographicHash::Sha256);
    data->sha1 = QCryptographicHash::hash(data->der, QCryptographicHash::Sha1);
    data->id = QStringLiteral("cert:") + QString::fromLatin1(data->sha256.toHex().left(16));

    const X509_NAME* subject = X509_get_subject_name(x);
    const X509_NAME* issuer = X509_get_issuer_name(x);
    data->subject = nameToString(subject);
    data->issuer = nameToString(issuer);
    data->subjectDer = x509NameDer(subject);
    data->issuerDer = x509NameDer(issuer);

    const ASN1_INTEGER* serial = X509_get0_serialNumber(x);
    BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (bn) {
        QByteArray bytes(BN_num_bytes(bn.get()), Qt::Uninitialized);
        BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
        if (bytes.isEmpty())
            bytes = QByteArray(1, '\0');
        data->serial = bytes;
        data->serialNegative = BN_is_negative(bn.get()) != 0; // BN_bn2bin wrote only the magnitude
    }
    data->serialHex = signedSerialHex(data->serial, data->serialNegative);

    data->notBefore = asn1TimeToUtc(X509_get0_notBefore(x));
    data->notAfter = asn1TimeToUtc(X509_get0_notAfter(x));

    if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(x))
        data->ski = asn1Bytes(ski);
    if (const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(x))
        data->aki = asn1Bytes(aki);

    if (const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(x))
        data->publicKeyBits = asn1Bytes(bits);
    data->keyDescription = describeKey(X509_get0_pubkey(x));
    // i2d_X509_PUBKEY re-emits the parsed SubjectPublicKeyInfo; i2d_PUBKEY would build an OpenSSL 3
    // encoder for every certificate, which costs more than everything else we do with it.
    if (X509_PUBKEY* pub = X509_get_X509_PUBKEY(x)) {
        unsigned char* spki = nullptr;
        const int spkiLen = i2d_X509_PUBKEY(pub, &spki);
        if (spkiLen > 0) {
            data->publicKeyDer = QByteArray(reinterpret_cast<const char*>(spki), spkiLen);
            OPENSSL_free(spki);
        }
    }

    const int sigNid = X509_get_signature_nid(x);
    data->signatureAlgorithm = QString::fromLatin1(OBJ_nid2ln(sigNid));

    if (GeneralNamesPtr names{static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr))}) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
            const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
            if (gn->type == GEN_DNS) {
                data->dnsNames << asn1StringToQString(gn->d.dNSName);
            } else if (gn->type == GEN_IPADD) {
                const QByteArray raw = asn1Bytes(gn->d.iPAddress);
                if (raw.size() == 4)
                    data->ipAddresses << QStringLiteral("%1.%2.%3.%4").arg(uchar(raw[0])).arg(uchar(raw[1]))
                                             .arg(uchar(raw[2])).arg(uchar(raw[3]));
                else
                    data->ipAddresses << QString::fromLatin1(raw.toHex(':'));
            }
        }
    }

    if (AuthorityInfoAccessPtr aia{static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(x, NID_info_access, nullptr, nullptr))}) {
        for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia.get()); ++i) {
            const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), i);
            if (ad->location->type != GEN_URI)
                continue;
            const QString uri = asn1StringToQString(ad->location->d.uniformResourceIdentifier);
            const int method = OBJ_obj2nid(ad->method);
            if (method == NID_ad_OCSP)
                data->ocspUrls << uri;
            else if (method == NID_ad_ca_issuers)
                data->caIssuerUrls << uri;
        }
    }

    if (CrlDistPointsPtr points{static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(x, NID_crl_distribution_points, nullptr, nullptr))}) {
        for (int i = 0; i < sk_DIST_POINT_num(points.get()); ++i) {
            const DIST_POINT* dp = sk_DIST_POINT_value(points.get(), i);
            if (!dp->distpoint || dp->distpoint->type != 0)
                continue;
            const GENERAL_NAMES* fullNames = dp->distpoint->name.fullname;
            for (int j = 0; j < sk_GENERAL_NAME_num(fullNames); ++j) {
                const GENERAL_NAME* gn = sk_GENERAL_NAME_value(fullNames, j);
                if (gn->type == GEN_URI)
                    data->crlUrls << asn1StringToQString(gn->d.uniformResourceIdentifier);
            }
        }
    }

    // X509_check_ca / X509_get_extension_flags compute the cached extension flags (and would fail
    // on malformed extensions, which we then simply do not report as present).
    const uint32_t flags = X509_get_extension_flags(x);
    data->isCa = X509_check_ca(x) > 0 && (flags & EXFLAG_CA);
    data->selfIssued = data->subjectDer == data->issuerDer;
    data->ocspSigning = (flags & EXFLAG_XKUSAGE) && (X509_get_extended_key_usage(x) & XKU_OCSP_SIGN);
    data->ocspNoCheck = X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1) >= 0;
    if (data->selfIssued) {
        EVP_PKEY* key = X509_get0_pubkey(x);
        data->selfSigned = key && X509_verify(x, key) == 1;
    }

    // TLS Feature (RFC 7633): a SEQUENCE OF INTEGER; 5 is status_request ("must staple").
    const int tlsFeature = X509_get_ext_by_NID(x, NID_tlsfeature, -1);
    if (tlsFeature >= 0) {
        if (auto* features = static_cast<STACK_OF(ASN1_INTEGER)*>(X509_get_ext_d2i(x, NID_tlsfeature, nullptr, nullptr))) {
            for (int i = 0; i < sk_ASN1_INTEGER_num(features); ++i)
                if (ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features, i)) == 5)
                    data->mustStaple = true;
            sk_ASN1_INTEGER_pop_free(features, ASN1_INTEGER_free);
        }
    }

    data->commonName = firstEntry(subject, NID_commonName);
    if (data->commonName.isEmpty())
        data->commonName = !data->dnsNames.isEmpty() ? data->dnsNames.first() : data->subject;
    clearOpenSslErrors();

    data->x509 = std::move(x509);
    Certificate cert;
    cert.d = std::move(data);
    cert.m_source = source;
    return cert;
}

X509* Certificate::get0() const { return d ? d->x509.get() : nullptr; }
X509Ptr Certificate::get1() const
{
    if (!d)
        return {};
    X509_up_ref(d->x509.get());
    return X509Ptr(d->x509.get());
}
const SourceLocation& Certificate::source() const { return m_source; }
Certificate Certificate::withSource(const SourceLocation& source) const
{
    Certificate copy = *this;
    copy.m_source = source;
    return copy;
}
QString Certificate::id() const { return d ? d->id : QString(); }
QByteArray Certificate::der() const { return d ? d->der : QByteArray(); }
QByteArray Certificate::sha256() const { return d ? d->sha256 : QByteArray(); }
QByteArray Certificate::sha1() const { return d ? d->sha1 : QByteArray(); }
QString Certificate::subject() const { return d ? d->subject : QString(); }
QString Certificate::issuer() const { return d ? d->issuer : QString(); }
QString Certificate::commonName() const { return d ? d->commonName : QString(); }
QString Certificate::displayName() const
{
    return d ? QStringLiteral("%1 (serial %2)").arg(d->commonName, d->serialHex) : QString();
}
QByteArray Certificate::serial() const { return d ? d->serial : QByteArray(); }
bool Certificate::serialNegative() const { return d && d->serialNegative; }
QString Certificate::serialHex() const { return d ? d->serialHex : QString(); }
QDateTime Certificate::notBefore() const { return d ? d->notBefore : QDateTime(); }
QDateTime Certificate::notAfter() const { return d ? d->notAfter : QDateTime(); }
qint64 Certificate::lifetimeSeconds() const { return d ? d->notBefore.secsTo(d->notAfter) : 0; }
QByteArray Certificate::subjectKeyId() const { return d ? d->ski : QByteArray(); }
QByteArray Certificate::authorityKeyId() const { return d ? d->aki : QByteArray(); }
QByteArray Certificate::subjectNameDer() const { return d ? d->subjectDer : QByteArray(); }
QByteArray Certificate::issuerNameDer() const { return d ? d->issuerDer : QByteArray(); }
QByteArray Certificate::publicKeyBitString() const { return d ? d->publicKeyBits : QByteArray(); }
QByteArray Certificate::publicKeyDer() const { return d ? d->publicKeyDer : QByteArray(); }
QStringList Certificate::dnsNames() const { return d ? d->dnsNames : QStringList(); }
QStringList Certificate::ipAddresses() const { return d ? d->ipAddresses : QStringList(); }
QStringList Certificate::ocspUrls() const { return d ? d->ocspUrls : QStringList(); }
QStringList Certificate::caIssuerUrls() const { return d ? d->caIssuerUrls : QStringList(); }
QStringList Certificate::crlUrls() const { return d ? d->crlUrls : QStringList(); }
bool Certificate::isCa() const { return d && d->isCa; }
bool Certificate::isSelfIssued() const { return d && d->selfIssued; }
bool Certificate::isSelfSigned() const { return d && d->selfSigned; }
bool Certificate::mustStaple() const { return d && d->mustStaple; }
bool Certificate::hasOcspSigningUsage() const { return d && d->ocspSigning; }
bool Certificate::hasOcspNoCheck() const { return d && d->ocspNoCheck; }
QString Certificate::keyDescription() const { return d ? d->keyDescription : QString(); }
QString Certificate::signatureAlgorithm() const { return d ? d->signatureAlgorithm : QString(); }

QString Certificate::textDump() const
{
    if (!d)
        return {};
    BioPtr bio(BIO_new(BIO_s_mem()));
    X509_print_ex(bio.get(), d->x509.get(), XN_FLAG_ONELINE, 0);
    return QString::fromUtf8(bioContents(bio.get()));
}

bool Certificate::namesIssuer(const Certificate& candidate) const
{
    if (!d || !candidate.d)
        return false;
    if (d->issuerDer != candidate.d->subjectDer)
        return false;
    // Key identifiers disambiguate a re-keyed CA with the same name.
    if (!d->aki.isEmpty() && !candidate.d->ski.isEmpty() && d->aki != candidate.d->ski)
        return false;
    return true;
}

bool Certificate::verifySignatureWith(const Certificate& issuer) const
{
    if (!d || !issuer.d)
        return false;
    {
        const QMutexLocker lock(&d->verifiedMutex);
        if (const auto it = d->verifiedBy.constFind(issuer.d->sha256); it != d->verifiedBy.constEnd())
            return *it;
    }
    EVP_PKEY* key = X509_get0_pubkey(issuer.d->x509.get());
    const bool ok = key && X509_verify(d->x509.get(), key) == 1;
    clearOpenSslErrors();
    const QMutexLocker lock(&d->verifiedMutex);
    d->verifiedBy.insert(issuer.d->sha256, ok);
    return ok;
}

bool Certificate::isIssuedBy(const Certificate& issuer) const
{
    return namesIssuer(issuer) && verifySignatureWith(issuer);
}

bool Certificate::operator==(const Certificate& other) const
{
    if (!d || !other.d)
        return !d && !other.d;
    return d == other.d || d->sha256 == other.d->sha256;
}

} // namespace staplescope
