#include "Crl.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

namespace staplescope {


struct Crl::Data {
    X509CrlPtr crl;
    QString issuer;
    QDateTime thisUpdate, nextUpdate;
};

Crl Crl::fromX509Crl(X509CrlPtr crl, const SourceLocation& source)
{
    if (!crl)
        return {};
    auto data = std::make_shared<Data>();
    BioPtr bio(BIO_new(BIO_s_mem()));
    X509_NAME_print_ex(bio.get(), X509_CRL_get_issuer(crl.get()), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    data->issuer = QString::fromUtf8(bioContents(bio.get())).replace(QStringLiteral(","), QStringLiteral(", "));
    data->thisUpdate = asn1TimeToUtc(X509_CRL_get0_lastUpdate(crl.get()));
    data->nextUpdate = asn1TimeToUtc(X509_CRL_get0_nextUpdate(crl.get()));
    data->crl = std::move(crl);
    Crl result;
    result.d = std::move(data);
    result.m_source = source;
    return result;
}

X509_CRL* Crl::get0() const { return d ? d->crl.get() : nullptr; }
const SourceLocation& Crl::source() const { return m_source; }
QString Crl::issuer() const { return d ? d->issuer : QString(); }
QByteArray Crl::issuerNameDer() const { return d ? x509NameDer(X509_CRL_get_issuer(d->crl.get())) : QByteArray(); }
QDateTime Crl::thisUpdate() const { return d ? d->thisUpdate : QDateTime(); }
QDateTime Crl::nextUpdate() const { return d ? d->nextUpdate : QDateTime(); }
int Crl::revokedCount() const
{
    // A CRL that revokes nothing has no revokedCertificates field: the stack is NULL, and
    // sk_X509_REVOKED_num(NULL) is -1, not 0.
    return d ? qMax(0, sk_X509_REVOKED_num(X509_CRL_get_REVOKED(d->crl.get()))) : 0;
}

std::optional<QDateTime> Crl::revocationTimeOf(const Certificate& cert) const
{
    if (!d || cert.isNull())
        return std::nullopt;
    if (X509_NAME_cmp(X509_CRL_get_issuer(d->crl.get()), X509_get_issuer_name(cert.get0())) != 0)
        return std::nullopt;
    X509_REVOKED* entry = nullptr;
    if (X509_CRL_get0_by_serial(d->crl.get(), &entry, X509_get0_serialNumber(cert.get0())) != 1 || !entry)
        return std::nullopt;
    return asn1TimeToUtc(X509_REVOKED_get0_revocationDate(entry));
}

QString Crl::revocationReasonOf(const Certificate& cert) const
{
    if (!revocationTimeOf(cert))
        return {};
    X509_REVOKED* entry = nullptr;
    if (X509_CRL_get0_by_serial(d->crl.get(), &entry, X509_get0_serialNumber(cert.get0())) != 1 || !entry)
        return {};
    int critical = 0;
    const Asn1EnumeratedPtr reason(static_cast<ASN1_ENUMERATED*>(X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &critical, nullptr)));
    if (!reason) {
        ERR_clear_error();
        return {};
    }
    return QString::fromLatin1(OCSP_crl_reason_str(int(ASN1_ENUMERATED_get(reason.get()))));
}

} // namespace staplescope
