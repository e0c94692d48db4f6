#include "OnlineCliOptions.h"

namespace staplescope::cli {

namespace {

// Bounds on what may be asked for: a minute per request is already far more than a responder
// needs; a thousand requests in flight is more than any one host should get.
constexpr int kMaxTimeoutSeconds = 600;
constexpr int kMaxConcurrency = 1000;

} // namespace

OnlineCliOptions::OnlineCliOptions()
    : m_timeout(QStringLiteral("timeout"),
                QStringLiteral("Seconds to wait for each responder, CRL or CA Issuers server (default 10 to connect, "
                               "30 in all); also the connect timeout when smaller."),
                QStringLiteral("SECONDS")),
      m_concurrency(QStringLiteral("concurrency"), QStringLiteral("Requests in flight at once (default 16)."), QStringLiteral("N")),
      m_responder(QStringLiteral("responder"),
                  QStringLiteral("Ask this OCSP responder (http:// URL) instead of the certificate's AIA OCSP URL."),
                  QStringLiteral("URL")),
      m_certIdHash(QStringLiteral("certid-hash"),
                   QStringLiteral("Hash for the OCSP request's CertID: sha1 (default; what every responder answers) or sha256."),
                   QStringLiteral("HASH")),
      m_ocspMethod(QStringLiteral("ocsp-method"),
                   QStringLiteral("get (RFC 5019; the default when the request URL fits 255 bytes) or post (the default otherwise)."),
                   QStringLiteral("METHOD")),
      m_nonce(QStringLiteral("nonce"),
              QStringLiteral("Put a nonce in OCSP requests and refuse a response with another one (most CA responders "
                             "send pre-signed responses without it, which is accepted)."))
{
}

void OnlineCliOptions::addOptions(QCommandLineParser& parser) const
{
    for (const auto& option : {m_timeout, m_concurrency, m_responder, m_certIdHash, m_ocspMethod, m_nonce})
        parser.addOption(option);
}

QString OnlineCliOptions::read(const QCommandLineParser& parser)
{
    if (parser.isSet(m_timeout)) {
        bool ok = false;
        const double seconds = parser.value(m_timeout).toDouble(&ok);
        if (!ok || seconds <= 0 || seconds > kMaxTimeoutSeconds)
            return QStringLiteral("--timeout '%1' is not a number of seconds between 0 and %2").arg(parser.value(m_timeout)).arg(kMaxTimeoutSeconds);
        options.fetch.totalTimeoutMs = int(seconds * 1000);
        options.fetch.connectTimeoutMs = qMin(options.fetch.connectTimeoutMs, options.fetch.totalTimeoutMs);
    }
    if (parser.isSet(m_concurrency)) {
        bool ok = false;
        const int n = parser.value(m_concurrency).toInt(&ok);
        if (!ok || n < 1 || n > kMaxConcurrency)
            return QStringLiteral("--concurrency '%1' is not a number from 1 to %2").arg(parser.value(m_concurrency)).arg(kMaxConcurrency);
        options.fetch.maxConcurrent = n;
    }
    if (parser.isSet(m_responder)) {
        const QUrl url(parser.value(m_responder), QUrl::StrictMode);
        if (!url.isValid() || url.scheme() != QLatin1String("http") || url.host().isEmpty())
            return QStringLiteral("--responder '%1' is not an http:// URL").arg(parser.value(m_responder));
        options.ocsp.responder = url;
    }
    if (parser.isSet(m_certIdHash)) {
        const auto hash = parseCertIdHash(parser.value(m_certIdHash));
        if (!hash)
            return QStringLiteral("--certid-hash '%1' is neither sha1 nor sha256").arg(parser.value(m_certIdHash));
        options.ocsp.certIdHash = *hash;
    }
    if (parser.isSet(m_ocspMethod)) {
        const auto method = parseOcspMethod(parser.value(m_ocspMethod));
        if (!method)
            return QStringLiteral("--ocsp-method '%1' is neither get nor post").arg(parser.value(m_ocspMethod));
        options.ocsp.method = *method;
    }
    options.ocsp.nonce = parser.isSet(m_nonce);
    return {};
}

} // namespace staplescope::cli
