#include "OcspStaple.h"

#include <QCryptographicHash>
#include <QHash>
#include <QMutex>

#include <openssl/objects.h>

namespace staplescope {

namespace {

QByteArray integerBytes(const ASN1_INTEGER* value)
{
    BignumPtr bn(ASN1_INTEGER_to_BN(value, nullptr));
    if (!bn)
        return {};
    QByteArray bytes(BN_num_bytes(bn.get()), Qt::Uninitialized);
    BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
    return bytes.isEmpty() ? QByteArray(1, '\0') : bytes;
}

// Hashes with the digest a CertID names. OpenSSL's EVP covers every algorithm a CA would use.
QByteArray digest(int nid, const QByteArray& data)
{
    const EVP_MD* md = EVP_get_digestbynid(nid);
    if (!md)
        return {};
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.constData(), size_t(data.size()), out, &len, md, nullptr) != 1) {
        clearOpenSslErrors();
        return {};
    }
    return QByteArray(reinterpret_cast<const char*>(out), int(len));
}

QString hashName(const ASN1_OBJECT* algorithm)
{
    const int nid = OBJ_obj2nid(algorithm);
    switch (nid) {
    case NID_sha1: return QStringLiteral("SHA-1");
    case NID_sha224: return QStringLiteral("SHA-224");
    case NID_sha256: return QStringLiteral("SHA-256");
    case NID_sha384: return QStringLiteral("SHA-384");
    case NID_sha512: return QStringLiteral("SHA-512");
    default: break;
    }
    if (nid != NID_undef) {
        if (const char* name = OBJ_nid2sn(nid))
            return QString::fromLatin1(name);
    }
    // An OID OpenSSL has no name for: OBJ_nid2sn(NID_undef) would say "UNDEF", which names
    // nothing; the dotted OID (no_name = 1) is what a reader can look up.
    char oid[128];
    const int len = algorithm ? OBJ_obj2txt(oid, int(sizeof oid), algorithm, 1) : -1;
    if (len <= 0 || len >= int(sizeof oid))
        return QStringLiteral("unknown hash");
    return QString::fromLatin1(oid, len);
}

// RFC 6960 4.2.1: 0–3, 5 and 6; 4 is not used. Anything else is not an OCSP answer at all.
bool isDefinedResponseStatus(int status)
{
    switch (status) {
    case OCSP_RESPONSE_STATUS_SUCCESSFUL:
    case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST:
    case OCSP_RESPONSE_STATUS_INTERNALERROR:
    case OCSP_RESPONSE_STATUS_TRYLATER:
    case OCSP_RESPONSE_STATUS_SIGREQUIRED:
    case OCSP_RESPONSE_STATUS_UNAUTHORIZED:
        return true;
    default:
        return false;
    }
}

QString responseStatusText(int status)
{
    switch (status) {
    case OCSP_RESPONSE_STATUS_SUCCESSFUL: return QStringLiteral("successful");
    case OCSP_RESPONSE_STATUS_MALFORMEDREQUEST: return QStringLiteral("malformedRequest");
    case OCSP_RESPONSE_STATUS_INTERNALERROR: return QStringLiteral("internalError");
    case OCSP_RESPONSE_STATUS_TRYLATER: return QStringLiteral("tryLater");
    case OCSP_RESPONSE_STATUS_SIGREQUIRED: return QStringLiteral("sigRequired");
    case OCSP_RESPONSE_STATUS_UNAUTHORIZED: return QStringLiteral("unauthorized");
    default: return QStringLiteral("status %1").arg(status);
    }
}

} // namespace

QString ocspStatusName(OcspCertStatus status)
{
    switch (status) {
    case OcspCertStatus::Good: return QStringLiteral("good");
    case OcspCertStatus::Revoked: return QStringLiteral("revoked");
    case OcspCertStatus::Unknown: return QStringLiteral("unknown");
    }
    return QStringLiteral("unknown");
}

QString OcspCertId::serialHex() const { return signedSerialHex(serial, serialNegative); }

bool OcspCertId::serialMatches(const Certificate& cert) const
{
    return !cert.isNull() && cert.serial() == serial && cert.serialNegative() == serialNegative;
}

bool OcspCertId::issuerNameMatches(const Certificate& cert) const
{
    return !cert.isNull() && digest(hashNid, cert.issuerNameDer()) == issuerNameHash;
}

bool OcspCertId::issuerKeyMatches(const Certificate& issuer) const
{
    return !issuer.isNull() && digest(hashNid, issuer.publicKeyBitString()) == issuerKeyHash;
}

bool OcspCertId::matches(const Certificate& cert, const Certificate& issuer) const
{
    return serialMatches(cert) && issuerNameMatches(cert) && issuerKeyMatches(issuer);
}

struct OcspStaple::Data {
    OcspResponsePtr response;
    OcspBasicRespPtr basic;
    QByteArray der;
    QString id;
    Encoding encoding = Encoding::Der;
    int status = 0;
    QDateTime producedAt;
    QString responderName;
    QByteArray responderKeyHash;
    QList<OcspSingleResponse> responses;
    // Signature results by signer fingerprint: evaluation repeats for every "as of" time.
    mutable QMutex verifiedMutex;
    mutable QHash<QByteArray, bool> verifiedBy;
    QList<Certificate> embedded;
    QString signatureAlgorithm;
};

OcspStaple::ParseResult OcspStaple::fromDer(const QByteArray& der, const SourceLocation& source, Encoding encoding)
{
    ParseResult result;
    const auto* begin = reinterpret_cast<const unsigned char*>(der.constData());
    const unsigned char* p = begin;
    OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, der.size()));
    if (!response) {
        const QString why = takeOpenSslErrors();
        result.error = QStringLiteral("not a valid OCSP response (%1)").arg(why.isEmpty() ? QStringLiteral("DER decoding failed") : why);
        return result;
    }
    if (p != begin + der.size()) {
        result.error = QStringLiteral("%1 bytes of trailing data after the OCSP response").arg(begin + der.size() - p);
        return result;
    }

    auto data = std::make_shared<Data>();
    data->der = der;
    data->id = QStringLiteral("staple:") +
               QString::fromLatin1(QCryptographicHash::hash(der, QCryptographicHash::Sha256).toHex().left(16));
    data->encoding = encoding;
    data->status = OCSP_response_status(response.get());
    if (!isDefinedResponseStatus(data->status)) {
        result.error = QStringLiteral("its response status is %1, which RFC 6960 does not define (only 0, 1, 2, 3, 5 and 6 "
                                      "are); it is not an answer from an OCSP responder")
                           .arg(data->status);
        clearOpenSslErrors();
        return result;
    }

    if (data->status == OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        data->basic.reset(OCSP_response_get1_basic(response.get()));
        if (!data->basic) {
            result.error = QStringLiteral("the OCSP response says successful but carries no basic response (%1)")
                               .arg(takeOpenSslErrors());
            return result;
        }
        OCSP_BASICRESP* bs = data->basic.get();
        data->producedAt = asn1TimeToUtc(OCSP_resp_get0_produced_at(bs));

        const ASN1_OCTET_STRING* keyHash = nullptr;
        const X509_NAME* name = nullptr;
        if (OCSP_resp_get0_id(bs, &keyHash, &name) == 1) {
            if (name) {
                BioPtr bio(BIO_new(BIO_s_mem()));
                X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
                data->responderName = QString::fromUtf8(bioContents(bio.get())).replace(QStringLiteral(","), QStringLiteral(", "));
            }
            if (keyHash)
                data->responderKeyHash = asn1Bytes(keyHash);
        }

        for (int i = 0; i < OCSP_resp_count(bs); ++i) {
            OCSP_SINGLERESP* single = OCSP_resp_get0(bs, i);
            OcspSingleResponse entry;
            ASN1_OCTET_STRING* nameHash = nullptr;
            ASN1_OBJECT* md = nullptr;
            ASN1_OCTET_STRING* issuerKeyHash = nullptr;
            ASN1_INTEGER* serial = nullptr;
            OCSP_id_get0_info(&nameHash, &md, &issuerKeyHash, &serial, const_cast<OCSP_CERTID*>(OCSP_SINGLERESP_get0_id(single)));
            entry.certId.hashNid = OBJ_obj2nid(md);
            entry.certId.hashAlgorithm = hashName(md);
            entry.certId.issuerNameHash = asn1Bytes(nameHash);
            entry.certId.issuerKeyHash = asn1Bytes(issuerKeyHash);
            entry.certId.serial = integerBytes(serial);
            entry.certId.serialNegative = serial && ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER;

            int reason = -1;
            ASN1_GENERALIZEDTIME *revoked = nullptr, *thisUpdate = nullptr, *nextUpdate = nullptr;
            const int status = OCSP_single_get0_status(single, &reason, &revoked, &thisUpdate, &nextUpdate);
            entry.status = status == V_OCSP_CERTSTATUS_GOOD      ? OcspCertStatus::Good
                           : status == V_OCSP_CERTSTATUS_REVOKED ? OcspCertStatus::Revoked
                                                                 : OcspCertStatus::Unknown;
            entry.revocationTime = asn1TimeToUtc(revoked);
            entry.revocationReason = reason;
            if (reason >= 0)
                entry.revocationReasonName = QString::fromLatin1(OCSP_crl_reason_str(reason));
            entry.thisUpdate = asn1TimeToUtc(thisUpdate);
            entry.nextUpdate = asn1TimeToUtc(nextUpdate);
            data->responses << entry;
        }

        const STACK_OF(X509)* certs = OCSP_resp_get0_certs(bs);
        for (int i = 0; i < sk_X509_num(certs); ++i) {
            X509* x = sk_X509_value(certs, i);
            X509_up_ref(x);
            SourceLocation where = source;
            where.path = QStringLiteral("%1 (embedded signer certificate)").arg(source.path);
            data->embedded << Certificate::fromX509(X509Ptr(x), where);
        }

        const X509_ALGOR* alg = OCSP_resp_get0_tbs_sigalg(bs);
        if (alg) {
            const ASN1_OBJECT* obj = nullptr;
            X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
            data->signatureAlgorithm = QString::fromLatin1(OBJ_nid2ln(OBJ_obj2nid(obj)));
        }
    }
    data->response = std::move(response);
    clearOpenSslErrors();

    result.staple.d = std::move(data);
    result.staple.m_source = source;
    return result;
}

const SourceLocation& OcspStaple::source() const { return m_source; }
QString OcspStaple::id() const { return d ? d->id : QString(); }
QByteArray OcspStaple::der() const { return d ? d->der : QByteArray(); }
OcspStaple::Encoding OcspStaple::encoding() const { return d ? d->encoding : Encoding::Der; }
int OcspStaple::responseStatus() const { return d ? d->status : -1; }
QString OcspStaple::responseStatusName() const { return responseStatusText(responseStatus()); }
bool OcspStaple::isSuccessful() const { return d && d->status == OCSP_RESPONSE_STATUS_SUCCESSFUL && d->basic; }
OCSP_BASICRESP* OcspStaple::basic0() const { return d ? d->basic.get() : nullptr; }
QDateTime OcspStaple::producedAt() const { return d ? d->producedAt : QDateTime(); }
QString OcspStaple::responderName() const { return d ? d->responderName : QString(); }
QByteArray OcspStaple::responderKeyHash() const { return d ? d->responderKeyHash : QByteArray(); }
QString OcspStaple::responderId() const
{
    if (!d)
        return {};
    if (!d->responderName.isEmpty())
        return QStringLiteral("byName: %1").arg(d->responderName);
    return QStringLiteral("byKey: %1").arg(hexColon(d->responderKeyHash));
}
QList<OcspSingleResponse> OcspStaple::responses() const { return d ? d->responses : QList<OcspSingleResponse>(); }
QList<Certificate> OcspStaple::embeddedCertificates() const { return d ? d->embedded : QList<Certificate>(); }
QString OcspStaple::signatureAlgorithm() const { return d ? d->signatureAlgorithm : QString(); }

bool OcspStaple::isResponder(const Certificate& signer) const
{
    if (!d || signer.isNull())
        return false;
    if (!d->responderKeyHash.isEmpty()) // RFC 6960: SHA-1 of the key's BIT STRING contents
        return QCryptographicHash::hash(signer.publicKeyBitString(), QCryptographicHash::Sha1) == d->responderKeyHash;
    // Only a successful response has a responder ID: tryLater and the other errors carry no basic
    // response at all, and OCSP_resp_get0_id dereferences what it is given.
    if (!d->basic)
        return false;
    const X509_NAME* name = nullptr;
    const ASN1_OCTET_STRING* keyHash = nullptr;
    if (OCSP_resp_get0_id(d->basic.get(), &keyHash, &name) != 1 || !name)
        return false;
    return X509_NAME_cmp(name, X509_get_subject_name(signer.get0())) == 0;
}

bool OcspStaple::verifySignature(const Certificate& signer) const
{
    if (!isSuccessful() || signer.isNull())
        return false;
    // OpenSSL 3.0 has no public "verify with this key" for OCSP; OCSP_basic_verify with only our
    // candidate as signer (NOINTERN) and NOVERIFY checks exactly the signature, nothing else.
    if (!isResponder(signer))
        return false;
    {
        const QMutexLocker lock(&d->verifiedMutex);
        if (const auto it = d->verifiedBy.constFind(signer.sha256()); it != d->verifiedBy.constEnd())
            return *it;
    }
    X509StackPtr signers(sk_X509_new_null());
    sk_X509_push(signers.get(), signer.get0());
    X509StorePtr emptyStore(X509_STORE_new());
    const bool ok = OCSP_basic_verify(d->basic.get(), signers.get(), emptyStore.get(),
                                      OCSP_NOINTERN | OCSP_NOVERIFY | OCSP_NOCHECKS) == 1;
    // The stack borrowed the certificate: release the slot without freeing it.
    sk_X509_pop(signers.get());
    clearOpenSslErrors();
    const QMutexLocker lock(&d->verifiedMutex);
    d->verifiedBy.insert(signer.sha256(), ok);
    return ok;
}

QString OcspStaple::textDump() const
{
    if (!d)
        return {};
    BioPtr bio(BIO_new(BIO_s_mem()));
    OCSP_RESPONSE_print(bio.get(), d->response.get(), 0);
    return QString::fromUtf8(bioContents(bio.get()));
}

} // namespace staplescope
