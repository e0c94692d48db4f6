#include "AcmeRenewalInfo.h"

#include "NetText.h"

#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QLocale>
#include <QRegularExpression>
#include <QTimeZone>

#include <algorithm>
#include <mutex>

#include <openssl/asn1.h>
#include <openssl/x509.h>

namespace staplescope {

namespace {

// The longest piece of a server's answer quoted in a message.
constexpr qsizetype kQuoteChars = 120;
// Bound on the process-wide answers kept for Retry-After (one per certificate asked).
constexpr qsizetype kMaxCachedAnswers = 4096;

QString base64Url(const QByteArray& bytes)
{
    return QString::fromLatin1(bytes.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
}

// RFC 3339 needs an explicit offset; a time without one would be read as local time.
QDateTime parseRfc3339(const QString& text)
{
    static const QRegularExpression shape(
        QStringLiteral("^\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?([Zz]|[+-]\\d{2}:\\d{2})$"));
    if (!shape.match(text).hasMatch())
        return {};
    QString normalized = text;
    normalized[10] = QLatin1Char('T');
    if (normalized.endsWith(QLatin1Char('z')))
        normalized[normalized.size() - 1] = QLatin1Char('Z');
    const QDateTime parsed = QDateTime::fromString(normalized, Qt::ISODateWithMs);
    return parsed.isValid() ? parsed.toUTC() : QDateTime();
}

struct CachedAnswer {
    RenewalWindow window;
};

std::mutex& cacheMutex()
{
    static std::mutex mutex;
    return mutex;
}

QHash<QString, CachedAnswer>& cache()
{
    static QHash<QString, CachedAnswer> answers;
    return answers;
}

FetchResult fetchOne(HttpFetcher& fetcher, const QUrl& url, const std::atomic<bool>* cancel)
{
    FetchRequest request;
    request.kind = FetchKind::AcmeJson;
    request.url = url;
    return fetcher.fetchAll({request}, cancel).value(0);
}

} // namespace

QString acmeCertId(const QByteArray& authorityKeyId, const QByteArray& serialContent)
{
    if (authorityKeyId.isEmpty() || serialContent.isEmpty())
        return {};
    return base64Url(authorityKeyId) + QLatin1Char('.') + base64Url(serialContent);
}

QByteArray serialDerContent(const Certificate& cert)
{
    if (cert.isNull())
        return {};
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get0());
    const int length = serial ? i2d_ASN1_INTEGER(serial, nullptr) : 0;
    if (length <= 2)
        return {};
    QByteArray der(length, Qt::Uninitialized);
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ASN1_INTEGER(serial, &out) != length)
        return {};
    // Tag 0x02, then the length in short form (< 0x80) or long form (0x80 | number of length octets).
    const auto lengthOctet = static_cast<unsigned char>(der.at(1));
    const qsizetype headerSize = lengthOctet < 0x80 ? 2 : 2 + (lengthOctet & 0x7f);
    return headerSize < der.size() ? der.mid(headerSize) : QByteArray();
}

QString acmeCertId(const Certificate& cert, QString* why)
{
    if (cert.authorityKeyId().isEmpty()) {
        if (why)
            *why = QStringLiteral("the certificate has no Authority Key Identifier, which ACME Renewal Information needs to name it");
        return {};
    }
    return acmeCertId(cert.authorityKeyId(), serialDerContent(cert));
}

QDateTime parseRetryAfter(const QByteArray& value, const QDateTime& now)
{
    const QDateTime base = now.toUTC();
    const QByteArray text = value.trimmed();
    qint64 seconds = kAriDefaultRetrySeconds;
    bool ok = false;
    const qint64 delta = text.toLongLong(&ok);
    if (ok) {
        seconds = delta;
    } else if (!text.isEmpty()) {
        // IMF-fixdate (RFC 9110 §5.6.7), the only date form servers are to send.
        QDateTime date = QLocale::c().toDateTime(QString::fromLatin1(text), QStringLiteral("ddd, dd MMM yyyy HH:mm:ss 'GMT'"));
        if (date.isValid()) {
            date.setTimeSpec(Qt::UTC);
            seconds = base.secsTo(date);
        }
    }
    seconds = std::clamp(seconds, kAriMinRetrySeconds, kAriMaxRetrySeconds);
    return base.addSecs(seconds);
}

std::optional<QUrl> renewalInfoUrlFromDirectory(const QByteArray& json, QString* error)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError || !doc.isObject()) {
        *error = QStringLiteral("the ACME directory is not a JSON object (%1)")
                     .arg(parseError.error != QJsonParseError::NoError ? parseError.errorString()
                                                                       : QStringLiteral("a JSON value of another kind"));
        return QUrl();
    }
    const QJsonObject directory = doc.object();
    // Every ACME directory names newNonce and newOrder (RFC 8555 §7.1.1); without them it is not one.
    if (!directory.value(QStringLiteral("newOrder")).isString() && !directory.value(QStringLiteral("newNonce")).isString()) {
        *error = QStringLiteral("the JSON object is no ACME directory (it has neither newNonce nor newOrder)");
        return QUrl();
    }
    const QJsonValue value = directory.value(QStringLiteral("renewalInfo"));
    if (value.isUndefined() || value.isNull())
        return std::nullopt;
    const QUrl url(value.toString(), QUrl::StrictMode);
    if (!value.isString() || !url.isValid() || url.scheme() != QLatin1String("https") || url.host().isEmpty()) {
        *error = QStringLiteral("the ACME directory's renewalInfo is not an https:// URL: \"%1\"")
                     .arg(serverText(QJsonDocument(QJsonObject{{QStringLiteral("v"), value}}).toJson(QJsonDocument::Compact), kQuoteChars));
        return QUrl();
    }
    return url;
}

RenewalWindow parseRenewalInfo(const QByteArray& json, QString* error)
{
    QJsonParseError parseError;
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (parseError.error != QJsonParseError::NoError || !doc.isObject()) {
        *error = QStringLiteral("the renewalInfo answer is not a JSON object: \"%1\"").arg(serverText(json.left(kQuoteChars), kQuoteChars));
        return {};
    }
    const QJsonValue suggested = doc.object().value(QStringLiteral("suggestedWindow"));
    if (!suggested.isObject()) {
        *error = QStringLiteral("the renewalInfo answer has no suggestedWindow object");
        return {};
    }
    const QString startText = suggested.toObject().value(QStringLiteral("start")).toString();
    const QString endText = suggested.toObject().value(QStringLiteral("end")).toString();
    RenewalWindow window;
    window.start = parseRfc3339(startText);
    window.end = parseRfc3339(endText);
    if (!window.start.isValid() || !window.end.isValid()) {
        *error = QStringLiteral("the suggestedWindow's %1 is not an RFC 3339 time: \"%2\"")
                     .arg(window.start.isValid() ? QStringLiteral("end") : QStringLiteral("start"),
                          serverText((window.start.isValid() ? endText : startText).toUtf8(), kQuoteChars));
        return {};
    }
    // RFC 9773 §4.2: a window whose end is not after its start is invalid and must be ignored.
    if (window.end <= window.start) {
        *error = QStringLiteral("the suggestedWindow ends (%1) before it starts (%2)").arg(formatTime(window.end), formatTime(window.start));
        return {};
    }
    if (window.start.secsTo(window.end) > kAriMaxWindowSeconds) {
        *error = QStringLiteral("the suggestedWindow spans more than a year (%1 to %2)").arg(formatTime(window.start), formatTime(window.end));
        return {};
    }
    const QJsonValue explanation = doc.object().value(QStringLiteral("explanationURL"));
    if (explanation.isString()) {
        const QUrl url(explanation.toString(), QUrl::StrictMode);
        if (url.isValid() && (url.scheme() == QLatin1String("https") || url.scheme() == QLatin1String("http")) && !url.host().isEmpty())
            window.explanationUrl = serverText(url.toEncoded(), 2048);
    }
    return window;
}

AriLookup fetchRenewalInfo(const Certificate& cert, const QUrl& directory, const AriOptions& options, const QDateTime& now,
                           const std::atomic<bool>* cancel)
{
    AriLookup lookup;
    lookup.directory = directory;
    QString why;
    lookup.certId = acmeCertId(cert, &why);
    if (lookup.certId.isEmpty()) {
        lookup.error = why;
        return lookup;
    }
    if (!directory.isValid() || directory.scheme() != QLatin1String("https") || directory.host().isEmpty()) {
        lookup.error = QStringLiteral("the ACME directory \"%1\" is not an https:// URL").arg(directory.toString());
        return lookup;
    }
    FetchOptions fetchOptions = options.fetch;
    fetchOptions.allowHttps = true;
    fetchOptions.httpsCaFiles = options.caFiles;
    fetchOptions.httpsUseSystemTrust = options.useSystemTrust;
    HttpFetcher fetcher(fetchOptions);

    const FetchResult dir = fetchOne(fetcher, directory, cancel);
    if (!dir.ok()) {
        lookup.error = QStringLiteral("the ACME directory %1 could not be fetched: %2").arg(directory.toString(QUrl::RemoveUserInfo), dir.error);
        return lookup;
    }
    const std::optional<QUrl> base = renewalInfoUrlFromDirectory(dir.body, &why);
    if (!base) {
        lookup.notOffered = true;
        lookup.error = QStringLiteral("the ACME directory %1 offers no renewalInfo (the CA does not support ACME Renewal Information)")
                           .arg(directory.toString(QUrl::RemoveUserInfo));
        return lookup;
    }
    if (!base->isValid()) {
        lookup.error = QStringLiteral("%1: %2").arg(directory.toString(QUrl::RemoveUserInfo), why);
        return lookup;
    }
    QString path = base->path();
    if (!path.endsWith(QLatin1Char('/')))
        path += QLatin1Char('/');
    lookup.renewalInfoUrl = *base;
    lookup.renewalInfoUrl.setPath(path + lookup.certId);
    const QString key = lookup.renewalInfoUrl.toString();

    if (options.reuseUntilRetryAfter) {
        std::lock_guard lock(cacheMutex());
        const auto it = cache().constFind(key);
        if (it != cache().constEnd() && it->window.retryAfter.isValid() && now < it->window.retryAfter) {
            lookup.window = it->window;
            lookup.fromCache = true;
            return lookup;
        }
    }

    const FetchResult info = fetchOne(fetcher, lookup.renewalInfoUrl, cancel);
    if (!info.ok()) {
        lookup.error = info.httpStatus == 404
            ? QStringLiteral("the CA has no renewal information for this certificate (%1 answered 404)").arg(lookup.renewalInfoUrl.toString())
            : QStringLiteral("the renewalInfo for this certificate could not be fetched: %1").arg(info.error);
        return lookup;
    }
    RenewalWindow window = parseRenewalInfo(info.body, &why);
    if (window.isNull()) {
        lookup.error = QStringLiteral("%1 answered, but %2").arg(lookup.renewalInfoUrl.toString(), why);
        return lookup;
    }
    window.source = key;
    window.fetchedAt = now.toUTC();
    window.retryAfter = parseRetryAfter(info.header("Retry-After"), now);
    lookup.window = window;
    if (options.reuseUntilRetryAfter) {
        std::lock_guard lock(cacheMutex());
        if (cache().size() >= kMaxCachedAnswers)
            cache().clear();
        cache().insert(key, CachedAnswer{window});
    }
    return lookup;
}

void clearRenewalInfoCache()
{
    std::lock_guard lock(cacheMutex());
    cache().clear();
}

} // namespace staplescope
