#include "OpenSslPtr.h"

#include <openssl/err.h>

namespace staplescope {

bool OpenSslErrors::hasReason(int library, int reason) const
{
    for (unsigned long code : codes)
        if (ERR_GET_LIB(code) == library && ERR_GET_REASON(code) == reason)
            return true;
    return false;
}

QString takeOpenSslErrors() { return takeOpenSslErrorDetails().text; }

OpenSslErrors takeOpenSslErrorDetails()
{
    OpenSslErrors errors;
    QStringList parts;
    unsigned long code = 0;
    const char* data = nullptr;
    int flags = 0;
    while ((code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) != 0) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        // "error:0480006C:PEM routines::no start line" -> keep the reason, which is what people read.
        QString text = QString::fromLatin1(buffer);
        const int lastColon = text.lastIndexOf(QLatin1Char(':'));
        QString reason = lastColon >= 0 ? text.mid(lastColon + 1) : text;
        if ((flags & ERR_TXT_STRING) && data && *data)
            reason += QStringLiteral(" (%1)").arg(QString::fromUtf8(data));
        if (!parts.contains(reason))
            parts << reason;
        errors.codes << code;
    }
    errors.text = parts.join(QStringLiteral("; "));
    return errors;
}

void clearOpenSslErrors() { ERR_clear_error(); }

BioPtr memoryBio(const QByteArray& data)
{
    return BioPtr(BIO_new_mem_buf(data.constData(), int(data.size())));
}

QByteArray bioContents(BIO* bio)
{
    char* ptr = nullptr;
    const long len = BIO_get_mem_data(bio, &ptr);
    return len > 0 ? QByteArray(ptr, int(len)) : QByteArray();
}

QDateTime asn1TimeToUtc(const ASN1_TIME* time)
{
    struct tm parts {};
    if (!time || ASN1_TIME_to_tm(time, &parts) != 1)
        return {};
    return QDateTime(QDate(parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday),
                     QTime(parts.tm_hour, parts.tm_min, parts.tm_sec), Qt::UTC);
}

QByteArray asn1Bytes(const ASN1_STRING* string)
{
    if (!string)
        return {};
    return QByteArray(reinterpret_cast<const char*>(ASN1_STRING_get0_data(string)), ASN1_STRING_length(string));
}

} // namespace staplescope
