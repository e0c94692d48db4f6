#include "HttpFetcher.h"

#include "NetText.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QHash>
#include <QHostAddress>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkProxyFactory>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QPointer>
#include <QRegularExpression>
#include <QSet>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslError>
#include <QTimer>

#include <algorithm>
#include <deque>
#include <mutex>
#include <vector>

#ifndef STAPLESCOPE_VERSION
#define STAPLESCOPE_VERSION "unknown"
#endif

namespace staplescope {

qsizetype maxBodyBytes(FetchKind kind)
{
    switch (kind) {
    case FetchKind::OcspResponse: return 64 * 1024;
    case FetchKind::Certificate: return 64 * 1024;
    case FetchKind::Crl: return 32 * 1024 * 1024;
    case FetchKind::AcmeJson: return 64 * 1024;
    }
    return 64 * 1024;
}

QString fetchKindName(FetchKind kind)
{
    switch (kind) {
    case FetchKind::OcspResponse: return QStringLiteral("OCSP response");
    case FetchKind::Certificate: return QStringLiteral("certificate");
    case FetchKind::Crl: return QStringLiteral("CRL");
    case FetchKind::AcmeJson: return QStringLiteral("ACME resource");
    }
    return {};
}

QString fetchFailureName(FetchFailure failure)
{
    switch (failure) {
    case FetchFailure::None: return QStringLiteral("none");
    case FetchFailure::InvalidUrl: return QStringLiteral("invalid-url");
    case FetchFailure::HostNotFound: return QStringLiteral("host-not-found");
    case FetchFailure::ConnectionRefused: return QStringLiteral("connection-refused");
    case FetchFailure::Timeout: return QStringLiteral("timeout");
    case FetchFailure::ConnectionClosed: return QStringLiteral("connection-closed");
    case FetchFailure::HttpStatus: return QStringLiteral("http-status");
    case FetchFailure::WrongContentType: return QStringLiteral("wrong-content-type");
    case FetchFailure::TooLarge: return QStringLiteral("too-large");
    case FetchFailure::TooManyRedirects: return QStringLiteral("too-many-redirects");
    case FetchFailure::EmptyBody: return QStringLiteral("empty-body");
    case FetchFailure::ProxyFailed: return QStringLiteral("proxy-failed");
    case FetchFailure::Tls: return QStringLiteral("tls");
    case FetchFailure::Network: return QStringLiteral("network");
    case FetchFailure::Cancelled: return QStringLiteral("cancelled");
    }
    return {};
}

QByteArray defaultUserAgent()
{
    QString version = QCoreApplication::applicationVersion();
    if (version.isEmpty())
        version = QStringLiteral(STAPLESCOPE_VERSION);
    return "Staplescope/" + version.toUtf8();
}

namespace {

// Bytes of a non-200 answer kept to quote its first line: an error page's title is near the top.
constexpr qsizetype kErrorBodyBytes = 16 * 1024;
// How often a fetch in progress looks at the cancel flag.
constexpr int kCancelPollMs = 50;
// The longest piece of a server's error page quoted in a message.
constexpr qsizetype kQuoteChars = 120;
// QNetworkAccessManager's fixed limit of parallel HTTP/1.1 connections to one host.
constexpr int kQtConnectionsPerHost = 6;

int defaultPort(const QUrl& url)
{
    return url.scheme().compare(QLatin1String("https"), Qt::CaseInsensitive) == 0 ? 443 : 80;
}

QString hostPort(const QUrl& url)
{
    return QStringLiteral("%1:%2").arg(url.host()).arg(url.port(defaultPort(url)));
}

QString plainUrl(const QUrl& url)
{
    return url.toString(QUrl::RemoveUserInfo);
}

// The lowercase variable, else its uppercase spelling.
QString environmentValue(const QByteArray& lower)
{
    QString value = qEnvironmentVariable(lower.constData());
    if (value.isEmpty())
        value = qEnvironmentVariable(lower.toUpper().constData());
    return value.trimmed();
}

bool noProxyMatches(const QString& noProxy, const QString& host)
{
    const QString h = host.toLower();
    for (QString entry : noProxy.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        entry = entry.trimmed().toLower();
        if (entry.isEmpty())
            continue;
        if (entry == QLatin1String("*"))
            return true;
        // "[::1]:8080", "host:80": the port is not part of the match (curl ignores it too).
        if (entry.startsWith(QLatin1Char('['))) {
            const qsizetype close = entry.indexOf(QLatin1Char(']'));
            entry = entry.mid(1, close > 0 ? close - 1 : -1);
        } else if (entry.count(QLatin1Char(':')) == 1) {
            entry = entry.left(entry.indexOf(QLatin1Char(':')));
        }
        if (entry.startsWith(QLatin1Char('.')))
            entry.remove(0, 1);
        if (h == entry || h.endsWith(QLatin1Char('.') + entry))
            return true;
    }
    return false;
}

QUrl parseProxyUrl(const QString& text)
{
    if (text.isEmpty())
        return {};
    QUrl url = QUrl::fromUserInput(text.contains(QLatin1String("://")) ? text : QStringLiteral("http://") + text);
    if (!url.isValid() || url.host().isEmpty())
        return {};
    return url;
}

QNetworkProxy toQtProxy(const QUrl& proxyUrl)
{
    const QString scheme = proxyUrl.scheme().toLower();
    const bool socks = scheme.startsWith(QLatin1String("socks"));
    // curl's default proxy port.
    QNetworkProxy proxy(socks ? QNetworkProxy::Socks5Proxy : QNetworkProxy::HttpProxy, proxyUrl.host(),
                        quint16(proxyUrl.port(1080)), proxyUrl.userName(QUrl::FullyDecoded),
                        proxyUrl.password(QUrl::FullyDecoded));
    return proxy;
}

// The environment's proxies, for QNAM: asked once per connection.
class EnvironmentProxyFactory : public QNetworkProxyFactory {
public:
    QList<QNetworkProxy> queryProxy(const QNetworkProxyQuery& query) override
    {
        const QUrl proxy = environmentProxyFor(query.url());
        if (proxy.isEmpty())
            return {QNetworkProxy(QNetworkProxy::NoProxy)};
        return {toQtProxy(proxy)};
    }
};

QByteArray acceptHeader(FetchKind kind)
{
    switch (kind) {
    case FetchKind::OcspResponse: return "application/ocsp-response";
    case FetchKind::Certificate:
        return "application/pkix-cert, application/x-x509-ca-cert, application/pkcs7-mime, */*;q=0.5";
    case FetchKind::Crl: return "application/pkix-crl, */*;q=0.5";
    case FetchKind::AcmeJson: return "application/json";
    }
    return "*/*";
}

QByteArray mediaType(const QByteArray& contentType)
{
    const qsizetype semi = contentType.indexOf(';');
    return (semi < 0 ? contentType : contentType.left(semi)).trimmed().toLower();
}

// What each kind may come as. Lenient where CAs are sloppy: CA Issuers and CRL files are often
// served by plain web servers as application/octet-stream, binary/octet-stream (S3), PEM as
// text/plain, or with no type at all. An HTML page is always refused (a captive portal, an error
// page with status 200).
bool contentTypeAccepted(FetchKind kind, const QByteArray& contentType)
{
    const QByteArray type = mediaType(contentType);
    if (type.isEmpty() || type == "application/octet-stream" || type == "binary/octet-stream")
        return true;
    switch (kind) {
    case FetchKind::OcspResponse: return type == "application/ocsp-response";
    case FetchKind::Certificate:
        return type == "application/pkix-cert" || type == "application/x-x509-ca-cert"
            || type == "application/x-x509-cert" || type == "application/x-x509-user-cert"
            || type == "application/pkcs7-mime" || type == "application/x-pkcs7-mime"
            || type == "application/x-pkcs7-certificates" || type == "application/pkcs7"
            || type == "application/pem-certificate-chain" || type == "application/x-pem-file"
            || type == "application/pkix-cert+pem" || type == "text/plain";
    case FetchKind::Crl:
        return type == "application/pkix-crl" || type == "application/x-pkcs7-crl" || type == "application/x-x509-crl"
            || type == "application/x-pem-file" || type == "text/plain";
    case FetchKind::AcmeJson: return type == "application/json";
    }
    return false;
}

QString withArticle(FetchKind kind)
{
    if (kind == FetchKind::OcspResponse)
        return QStringLiteral("an OCSP response");
    if (kind == FetchKind::AcmeJson)
        return QStringLiteral("an ACME resource");
    return QStringLiteral("a ") + fetchKindName(kind);
}

QString expectedTypes(FetchKind kind)
{
    switch (kind) {
    case FetchKind::OcspResponse: return QStringLiteral("application/ocsp-response");
    case FetchKind::Certificate: return QStringLiteral("application/pkix-cert, application/pkcs7-mime or similar");
    case FetchKind::Crl: return QStringLiteral("application/pkix-crl or similar");
    case FetchKind::AcmeJson: return QStringLiteral("application/json");
    }
    return {};
}

// The first thing a person would read on an error page: its <title>, else its first line of text.
QString firstLineOf(const QByteArray& body, const QByteArray& contentType)
{
    static const QRegularExpression title(QStringLiteral("<title[^>]*>([^<]*)</title>"),
                                          QRegularExpression::CaseInsensitiveOption);
    static const QRegularExpression tags(QStringLiteral("<[^>]*>"));
    // Decoded as Latin-1 only to find the line; quoted through serverText (kept raw, escaped on output).
    const QString text = QString::fromLatin1(body);
    const auto quote = [](const QString& line) {
        const QString simplified = line.simplified();
        return serverText(simplified.toLatin1(), kQuoteChars);
    };
    if (const auto m = title.match(text); m.hasMatch() && !m.captured(1).trimmed().isEmpty())
        return quote(m.captured(1));
    const bool looksHtml = mediaType(contentType).contains("html") || text.contains(QLatin1String("<html"), Qt::CaseInsensitive);
    QString stripped = looksHtml ? QString(text).replace(tags, QStringLiteral("\n")) : text;
    for (const QString& line : stripped.split(QLatin1Char('\n'))) {
        const QString t = line.trimmed();
        // A binary body has no line to quote.
        if (!t.isEmpty()) {
            for (const QChar c : t)
                if (c.unicode() < 0x20 && c != QLatin1Char('\t'))
                    return {};
            return quote(t);
        }
    }
    return {};
}

QByteArray cacheKey(const FetchRequest& request)
{
    QByteArray key;
    key += char('0' + int(request.kind));
    key += '\n' + request.url.toEncoded() + '\n' + request.postContentType + '\n' + request.postBody;
    return key;
}

bool isRedirect(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// One unique request on its way: its hops (redirects), timers and the body so far.
struct Job {
    FetchRequest request;
    QList<int> indices;            // the caller's requests it answers
    QUrl url;                      // this hop
    bool post = false;             // this hop is a POST
    QList<QUrl> visited;
    QPointer<QNetworkReply> reply;
    QByteArray body;
    int status = 0;
    bool answered = false;         // headers arrived on this hop
    qint64 announcedLength = -1;
    QElapsedTimer elapsed;
    QTimer* connectTimer = nullptr;
    QTimer* totalTimer = nullptr;
    FetchFailure abortFailure = FetchFailure::None; // why we aborted the reply ourselves
    QString abortMessage;
    QList<QSslError> sslErrors;    // why the server's certificate was not accepted (HTTPS)
    FetchResult result;
    bool done = false;
    int manager = -1;              // which QNetworkAccessManager carries it
    QString managerHost;
};

class FetchRun {
public:
    FetchRun(const FetchOptions& options, const std::atomic<bool>* cancel,
             const std::function<void(int, int)>& progress, int total)
        : m_options(options), m_cancel(cancel), m_progress(progress), m_total(total)
    {
        // Qt opens at most six connections per host in one QNAM (not settable before Qt 6.5); more
        // managers let `maxConcurrent` requests to one responder really be in flight at once.
        const int managers = qMax(1, (qMax(1, options.maxConcurrent) + kQtConnectionsPerHost - 1) / kQtConnectionsPerHost);
        for (int i = 0; i < managers; ++i) {
            auto nam = std::make_unique<QNetworkAccessManager>();
            nam->setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
            if (options.proxyFromEnvironment)
                nam->setProxyFactory(new EnvironmentProxyFactory); // QNAM owns it
            else
                nam->setProxy(QNetworkProxy(QNetworkProxy::NoProxy));
            m_nams.push_back(std::move(nam));
        }
        m_userAgent = options.userAgent.isEmpty() ? defaultUserAgent() : options.userAgent;
        if (options.allowHttps)
            buildTlsConfiguration();
    }

    void run(std::vector<std::unique_ptr<Job>>& jobs)
    {
        for (auto& job : jobs)
            m_queue.push_back(job.get());
        m_unfinished = int(jobs.size());
        QTimer cancelPoll;
        if (m_cancel) {
            QObject::connect(&cancelPoll, &QTimer::timeout, &m_context, [this] {
                if (m_cancel->load())
                    cancelAll();
            });
            cancelPoll.start(kCancelPollMs);
        }
        startMore();
        if (m_unfinished > 0)
            m_loop.exec();
        cancelPoll.stop();
    }

private:
    void startMore()
    {
        const int limit = qMax(1, m_options.maxConcurrent);
        while (m_running < limit && !m_queue.empty()) {
            Job* job = m_queue.front();
            m_queue.pop_front();
            begin(job);
        }
    }

    void begin(Job* job)
    {
        job->url = job->request.url;
        job->post = !job->request.postBody.isEmpty();
        job->result.request = job->request;
        job->elapsed.start();
        if (QString why = unusableUrl(job->url, job->request.kind); !why.isEmpty()) {
            finish(job, FetchFailure::InvalidUrl, why);
            return;
        }
        ++m_running;
        job->totalTimer = new QTimer(&m_context);
        job->totalTimer->setSingleShot(true);
        QObject::connect(job->totalTimer, &QTimer::timeout, &m_context, [this, job] {
            abort(job, FetchFailure::Timeout,
                  QStringLiteral("the answer from %1 did not complete within %2 (%3 received)")
                      .arg(hostPort(job->url), formatSeconds(m_options.totalTimeoutMs), formatBytes(job->body.size())));
        });
        job->totalTimer->start(qMax(1, m_options.totalTimeoutMs));
        job->connectTimer = new QTimer(&m_context);
        job->connectTimer->setSingleShot(true);
        QObject::connect(job->connectTimer, &QTimer::timeout, &m_context, [this, job] {
            const QString proxy = proxyText(job);
            abort(job, FetchFailure::Timeout,
                  QStringLiteral("%1 did not answer within %2%3")
                      .arg(hostPort(job->url), formatSeconds(m_options.connectTimeoutMs),
                           proxy.isEmpty() ? QString() : QStringLiteral(" (through the proxy %1)").arg(proxy)));
        });
        sendHop(job);
    }

    // Trust for HTTPS (ACME resources): the system's anchors unless told otherwise, plus the
    // given files; a file that holds no certificate makes every HTTPS request fail saying so.
    void buildTlsConfiguration()
    {
        m_tls = QSslConfiguration::defaultConfiguration();
        QList<QSslCertificate> anchors = m_options.httpsUseSystemTrust ? QSslConfiguration::systemCaCertificates()
                                                                       : QList<QSslCertificate>();
        for (const QString& file : m_options.httpsCaFiles) {
            QList<QSslCertificate> certs = QSslCertificate::fromPath(file, QSsl::Pem);
            if (certs.isEmpty())
                certs = QSslCertificate::fromPath(file, QSsl::Der);
            if (certs.isEmpty()) {
                m_tlsProblem = QStringLiteral("the CA file %1 holds no PEM or DER certificate (unreadable or another format)")
                                   .arg(file);
                continue;
            }
            anchors << certs;
        }
        m_tls.setCaCertificates(anchors);
        m_tls.setPeerVerifyMode(QSslSocket::VerifyPeer);
    }

    QString unusableUrl(const QUrl& url, FetchKind kind) const
    {
        if (!url.isValid() || url.host().isEmpty())
            return QStringLiteral("\"%1\" is not a URL that can be fetched").arg(url.toString());
        const QString scheme = url.scheme().toLower();
        if (kind == FetchKind::AcmeJson) {
            // RFC 8555 §6.1: ACME is HTTPS only; a plain http:// ACME URL (or a redirect to one)
            // would hand the answer to anyone on the way.
            if (scheme != QLatin1String("https"))
                return QStringLiteral("%1 is not an https:// URL; ACME servers are asked over HTTPS only").arg(plainUrl(url));
            if (!m_options.allowHttps)
                return QStringLiteral("%1 is an https:// URL and HTTPS was not enabled for this fetch").arg(plainUrl(url));
            if (!m_tlsProblem.isEmpty())
                return m_tlsProblem;
            return {};
        }
        if (scheme == QLatin1String("https"))
            return QStringLiteral("%1 is an https:// URL; OCSP responders, CRLs and CA Issuers are fetched over plain "
                                  "http:// only (their answers are signed, and checking a TLS server's certificate "
                                  "would itself need a revocation check)")
                .arg(plainUrl(url));
        if (scheme != QLatin1String("http"))
            return QStringLiteral("%1 is a %2: URL; only http:// URLs are fetched").arg(plainUrl(url), scheme);
        return {};
    }

    void sendHop(Job* job)
    {
        job->body.clear();
        job->status = 0;
        job->answered = false;
        job->announcedLength = -1;
        job->visited << job->url;
        QNetworkRequest request(job->url);
        request.setRawHeader("User-Agent", m_userAgent);
        request.setRawHeader("Accept", acceptHeader(job->request.kind));
        // Uncompressed: Qt would otherwise ask for gzip and inflate it, and the size cap and the
        // Content-Length check must see the bytes as sent.
        request.setRawHeader("Accept-Encoding", "identity");
        request.setAttribute(QNetworkRequest::CacheLoadControlAttribute, QNetworkRequest::AlwaysNetwork);
        request.setAttribute(QNetworkRequest::CacheSaveControlAttribute, false);
        request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
        request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::ManualRedirectPolicy);
        if (job->url.scheme().compare(QLatin1String("https"), Qt::CaseInsensitive) == 0)
            request.setSslConfiguration(m_tls);
        QNetworkReply* reply = nullptr;
        if (job->post) {
            request.setHeader(QNetworkRequest::ContentTypeHeader, job->request.postContentType.isEmpty()
                                                                      ? QByteArray("application/octet-stream")
                                                                      : job->request.postContentType);
            reply = managerFor(job)->post(request, job->request.postBody);
        } else {
            reply = managerFor(job)->get(request);
        }
        job->reply = reply;
        job->connectTimer->start(qMax(1, m_options.connectTimeoutMs));
        QObject::connect(reply, &QNetworkReply::metaDataChanged, &m_context, [this, job, reply] {
            if (reply != job->reply)
                return;
            onHeaders(job);
        });
        QObject::connect(reply, &QNetworkReply::readyRead, &m_context, [this, job, reply] {
            if (reply != job->reply)
                return;
            onBody(job);
        });
        // Recorded to say why, never ignored: the handshake then fails and the request with it.
        QObject::connect(reply, &QNetworkReply::sslErrors, &m_context, [job, reply](const QList<QSslError>& errors) {
            if (reply == job->reply)
                job->sslErrors << errors;
        });
        QObject::connect(reply, &QNetworkReply::finished, &m_context, [this, job, reply] {
            if (reply != job->reply)
                return;
            onFinished(job);
            reply->deleteLater();
        });
    }

    static QString hostKey(const QUrl& url)
    {
        return url.host().toLower() + QLatin1Char(':') + QString::number(url.port(defaultPort(url)));
    }

    // The manager with the fewest requests in flight to this job's host; kept for its redirects.
    QNetworkAccessManager* managerFor(Job* job)
    {
        if (job->manager < 0) {
            job->managerHost = hostKey(job->url);
            QList<int>& counts = m_inFlight[job->managerHost];
            counts.resize(qsizetype(m_nams.size()));
            job->manager = int(std::min_element(counts.begin(), counts.end()) - counts.begin());
            ++counts[job->manager];
        }
        return m_nams[size_t(job->manager)].get();
    }

    void releaseManager(Job* job)
    {
        if (job->manager >= 0)
            --m_inFlight[job->managerHost][job->manager];
        job->manager = -1;
    }

    void onHeaders(Job* job)
    {
        QNetworkReply* reply = job->reply;
        const QVariant status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute);
        if (!status.isValid())
            return;
        job->answered = true;
        job->connectTimer->stop();
        job->status = status.toInt();
        const QVariant length = reply->header(QNetworkRequest::ContentLengthHeader);
        job->announcedLength = length.isValid() ? length.toLongLong() : -1;
        const qsizetype cap = maxBodyBytes(job->request.kind);
        if (job->status == 200 && job->announcedLength > cap)
            abort(job, FetchFailure::TooLarge,
                  QStringLiteral("%1 announced %2 bytes, more than the %3 %4 may have")
                      .arg(hostPort(job->url))
                      .arg(job->announcedLength)
                      .arg(formatBytes(cap), withArticle(job->request.kind)));
    }

    void onBody(Job* job)
    {
        QNetworkReply* reply = job->reply;
        if (!job->answered)
            onHeaders(job);
        if (job->done || job->abortFailure != FetchFailure::None)
            return;
        job->body += reply->readAll();
        const qsizetype cap = maxBodyBytes(job->request.kind);
        if (job->status == 200 && job->body.size() > cap) {
            abort(job, FetchFailure::TooLarge,
                  QStringLiteral("the body from %1 grew past the %2 %3 may have; stopped reading")
                      .arg(hostPort(job->url), formatBytes(cap), withArticle(job->request.kind)));
        } else if (job->status != 200 && job->body.size() > kErrorBodyBytes) {
            if (isRedirect(job->status)) {
                // A redirect's body is never used; only Location counts.
                job->body.clear();
            } else {
                // Enough of an error page to quote it; the rest is not needed.
                job->body.truncate(kErrorBodyBytes);
                finishHttpStatus(job);
            }
        }
    }

    void abort(Job* job, FetchFailure failure, const QString& message)
    {
        if (job->done)
            return;
        job->abortFailure = failure;
        job->abortMessage = message;
        if (job->reply && job->reply->isRunning())
            job->reply->abort(); // finished() follows synchronously or soon
        else
            finish(job, failure, message);
    }

    void cancelAll()
    {
        m_queue.clear();
        for (Job* job : m_all) {
            if (!job->done && job->reply)
                abort(job, FetchFailure::Cancelled, QStringLiteral("cancelled"));
        }
        // Jobs never started.
        if (m_running == 0)
            m_loop.quit();
    }

    QString trustText() const
    {
        QStringList parts;
        if (m_options.httpsUseSystemTrust)
            parts << QStringLiteral("the system's CA certificates");
        for (const QString& file : m_options.httpsCaFiles)
            parts << file;
        return parts.isEmpty() ? QStringLiteral("nothing") : parts.join(QStringLiteral(", "));
    }

    QString proxyText(const Job* job) const
    {
        const QUrl proxy = m_options.proxyFromEnvironment ? environmentProxyFor(job->url) : QUrl();
        return proxy.isEmpty() ? QString() : QStringLiteral("%1:%2").arg(proxy.host()).arg(proxy.port(1080));
    }

    void onFinished(Job* job)
    {
        if (job->done)
            return;
        QNetworkReply* reply = job->reply;
        if (!job->answered)
            onHeaders(job);
        if (job->abortFailure != FetchFailure::None) {
            finish(job, job->abortFailure, job->abortMessage);
            return;
        }
        job->body += reply->readAll();
        const QNetworkReply::NetworkError error = reply->error();
        if (job->status == 0) {
            finishNetworkError(job, error, reply->errorString());
            return;
        }
        if (isRedirect(job->status)) {
            followRedirect(job);
            return;
        }
        if (job->status != 200) {
            finishHttpStatus(job);
            return;
        }
        const qsizetype cap = maxBodyBytes(job->request.kind);
        if (job->body.size() > cap) {
            finish(job, FetchFailure::TooLarge,
                   QStringLiteral("the body from %1 is larger than the %2 %3 may have")
                       .arg(hostPort(job->url), formatBytes(cap), withArticle(job->request.kind)));
            return;
        }
        if (error != QNetworkReply::NoError || (job->announcedLength >= 0 && job->body.size() < job->announcedLength)) {
            finish(job, FetchFailure::ConnectionClosed,
                   job->announcedLength >= 0
                       ? QStringLiteral("%1 closed the connection after %2 of the %3 bytes it announced")
                             .arg(hostPort(job->url))
                             .arg(job->body.size())
                             .arg(job->announcedLength)
                       : QStringLiteral("%1 broke off the answer after %2 bytes (%3)")
                             .arg(hostPort(job->url))
                             .arg(job->body.size())
                             .arg(reply->errorString()));
            return;
        }
        job->result.contentType = reply->header(QNetworkRequest::ContentTypeHeader).toByteArray();
        if (!contentTypeAccepted(job->request.kind, job->result.contentType)) {
            const QString line = firstLineOf(job->body, job->result.contentType);
            finish(job, FetchFailure::WrongContentType,
                   QStringLiteral("%1 answered with content type %2, not %3 (%4)%5")
                       .arg(hostPort(job->url), serverText(mediaType(job->result.contentType), kQuoteChars),
                            withArticle(job->request.kind), expectedTypes(job->request.kind),
                            line.isEmpty() ? QString() : QStringLiteral(": \"%1\"").arg(line)));
            return;
        }
        if (job->body.isEmpty()) {
            finish(job, FetchFailure::EmptyBody, QStringLiteral("%1 answered HTTP 200 with an empty body").arg(hostPort(job->url)));
            return;
        }
        job->result.body = job->body;
        finish(job, FetchFailure::None, {});
    }

    void finishNetworkError(Job* job, QNetworkReply::NetworkError error, const QString& qtText)
    {
        const QString where = hostPort(job->url);
        const QString proxy = proxyText(job);
        // Through a proxy, a refused or unresolvable connection is the proxy's (Qt reports the
        // plain errors for it); the server itself would have been reported by the proxy as HTTP 502.
        if (!proxy.isEmpty() && error == QNetworkReply::ConnectionRefusedError)
            error = QNetworkReply::ProxyConnectionRefusedError;
        if (!proxy.isEmpty() && error == QNetworkReply::HostNotFoundError)
            error = QNetworkReply::ProxyNotFoundError;
        switch (error) {
        case QNetworkReply::HostNotFoundError:
            finish(job, FetchFailure::HostNotFound,
                   QStringLiteral("the host name %1 could not be resolved (DNS)").arg(job->url.host()));
            return;
        case QNetworkReply::ConnectionRefusedError:
            finish(job, FetchFailure::ConnectionRefused, QStringLiteral("%1 refused the connection").arg(where));
            return;
        case QNetworkReply::RemoteHostClosedError:
            finish(job, FetchFailure::ConnectionClosed,
                   QStringLiteral("%1 closed the connection without answering").arg(where));
            return;
        case QNetworkReply::TimeoutError:
            finish(job, FetchFailure::Timeout, QStringLiteral("%1 did not answer in time").arg(where));
            return;
        case QNetworkReply::OperationCanceledError:
            finish(job, FetchFailure::Cancelled, QStringLiteral("cancelled"));
            return;
        case QNetworkReply::SslHandshakeFailedError: {
            QStringList why;
            for (const QSslError& e : std::as_const(job->sslErrors))
                if (!why.contains(e.errorString()))
                    why << e.errorString();
            finish(job, FetchFailure::Tls,
                   why.isEmpty() ? QStringLiteral("the TLS handshake with %1 failed: %2").arg(where, qtText)
                                 : QStringLiteral("the TLS certificate of %1 was not accepted: %2 (trusted: %3)")
                                       .arg(where, why.join(QStringLiteral("; ")),
                                            trustText()));
            return;
        }
        case QNetworkReply::ProxyConnectionRefusedError:
            finish(job, FetchFailure::ProxyFailed, QStringLiteral("the proxy %1 (from the environment) refused the connection").arg(proxy));
            return;
        case QNetworkReply::ProxyConnectionClosedError:
            finish(job, FetchFailure::ProxyFailed, QStringLiteral("the proxy %1 (from the environment) closed the connection").arg(proxy));
            return;
        case QNetworkReply::ProxyNotFoundError:
            finish(job, FetchFailure::ProxyFailed,
                   QStringLiteral("the proxy host name %1 (from the environment) could not be resolved").arg(proxy));
            return;
        case QNetworkReply::ProxyTimeoutError:
            finish(job, FetchFailure::ProxyFailed, QStringLiteral("the proxy %1 (from the environment) did not answer in time").arg(proxy));
            return;
        case QNetworkReply::ProxyAuthenticationRequiredError:
            finish(job, FetchFailure::ProxyFailed,
                   QStringLiteral("the proxy %1 (from the environment) wants credentials that were not accepted").arg(proxy));
            return;
        default:
            finish(job, FetchFailure::Network, QStringLiteral("fetching from %1 failed: %2").arg(where, qtText));
            return;
        }
    }

    void finishHttpStatus(Job* job)
    {
        QNetworkReply* reply = job->reply;
        const QString reason = reply ? reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString().trimmed() : QString();
        const QByteArray contentType = reply ? reply->header(QNetworkRequest::ContentTypeHeader).toByteArray() : QByteArray();
        const QString line = firstLineOf(job->body, contentType);
        QString message = QStringLiteral("%1 answered HTTP %2").arg(hostPort(job->url)).arg(job->status);
        if (!reason.isEmpty())
            message += QLatin1Char(' ') + serverText(reason.toLatin1(), kQuoteChars);
        if (!line.isEmpty() && line != reason)
            message += QStringLiteral(": \"%1\"").arg(line);
        job->result.contentType = contentType;
        job->abortFailure = FetchFailure::HttpStatus; // a later finished() must not override it
        job->abortMessage = message;
        finish(job, FetchFailure::HttpStatus, message);
        if (reply && reply->isRunning())
            reply->abort();
    }

    void followRedirect(Job* job)
    {
        const QUrl location = job->reply->attribute(QNetworkRequest::RedirectionTargetAttribute).toUrl();
        if (location.isEmpty()) {
            finish(job, FetchFailure::HttpStatus,
                   QStringLiteral("%1 answered HTTP %2 (a redirect) without saying where to").arg(hostPort(job->url)).arg(job->status));
            return;
        }
        const QUrl next = job->url.resolved(location);
        if (job->visited.contains(next)) {
            finish(job, FetchFailure::TooManyRedirects,
                   QStringLiteral("redirect loop: %1 redirects back to %2").arg(plainUrl(job->url), plainUrl(next)));
            return;
        }
        if (job->visited.size() > m_options.maxRedirects) {
            finish(job, FetchFailure::TooManyRedirects,
                   QStringLiteral("more than %1 redirects (the last from %2 to %3)")
                       .arg(m_options.maxRedirects)
                       .arg(plainUrl(job->url), plainUrl(next)));
            return;
        }
        if (QString why = unusableUrl(next, job->request.kind); !why.isEmpty()) {
            finish(job, FetchFailure::InvalidUrl, QStringLiteral("%1 redirected: %2").arg(plainUrl(job->url), why));
            return;
        }
        // 303 means "GET the other place"; 301/302/307/308 keep the method (as curl does for OCSP POSTs).
        if (job->status == 303)
            job->post = false;
        job->url = next;
        sendHop(job);
    }

    void finish(Job* job, FetchFailure failure, const QString& message)
    {
        if (job->done)
            return;
        job->done = true;
        if (job->connectTimer)
            job->connectTimer->stop();
        if (job->totalTimer)
            job->totalTimer->stop();
        job->result.failure = failure;
        job->result.error = message;
        job->result.finalUrl = job->url;
        job->result.httpStatus = job->status;
        job->result.elapsedMs = job->elapsed.isValid() ? job->elapsed.elapsed() : 0;
        job->result.proxy = proxyText(job);
        if (job->reply && job->status != 0)
            job->result.headers = job->reply->rawHeaderPairs();
        if (failure != FetchFailure::None)
            job->result.body.clear();
        releaseManager(job);
        if (job->reply)
            --m_running;
        --m_unfinished;
        m_finishedIndices += int(job->indices.size());
        if (m_progress)
            m_progress(m_finishedIndices, m_total);
        if (m_cancel && m_cancel->load()) {
            m_queue.clear();
        }
        if (m_unfinished <= 0 || (m_running == 0 && m_queue.empty())) {
            m_loop.quit();
            return;
        }
        // Not from inside the reply's own signal: QNAM may start the next request synchronously.
        QTimer::singleShot(0, &m_context, [this] { startMore(); });
    }

public:
    std::vector<Job*> m_all;
    int m_finishedIndices = 0;

private:
    const FetchOptions& m_options;
    const std::atomic<bool>* m_cancel;
    std::function<void(int, int)> m_progress;
    int m_total;
    QByteArray m_userAgent;
    QSslConfiguration m_tls;
    QString m_tlsProblem;       // a CA file that could not be used
    QObject m_context;
    std::vector<std::unique_ptr<QNetworkAccessManager>> m_nams; // after m_context: destroyed first
    QHash<QString, QList<int>> m_inFlight; // per host:port, requests in flight per manager
    QEventLoop m_loop;
    std::deque<Job*> m_queue;
    int m_running = 0;
    int m_unfinished = 0;
};

} // namespace

QUrl environmentProxyFor(const QUrl& url)
{
    const QString scheme = url.scheme().toLower();
    // curl reads only the lowercase http_proxy (HTTP_PROXY can be set by a CGI request header);
    // we do the same for http and accept both spellings for the others.
    const QString proxy = scheme == QLatin1String("https") ? environmentValue("https_proxy")
                                                           : qEnvironmentVariable("http_proxy").trimmed();
    if (proxy.isEmpty())
        return {};
    if (noProxyMatches(environmentValue("no_proxy"), url.host()))
        return {};
    return parseProxyUrl(proxy);
}

QByteArray FetchResult::header(const QByteArray& name) const
{
    for (const auto& [key, value] : headers)
        if (key.compare(name, Qt::CaseInsensitive) == 0)
            return value;
    return {};
}

struct HttpFetcher::Cache {
    std::mutex mutex;
    QHash<QByteArray, FetchResult> results; // successful ones only
};

HttpFetcher::HttpFetcher(FetchOptions options) : m_options(std::move(options)), m_cache(std::make_unique<Cache>()) {}

HttpFetcher::~HttpFetcher() = default;

QList<FetchResult> HttpFetcher::fetchAll(const QList<FetchRequest>& requests, const std::atomic<bool>* cancel,
                                         const std::function<void(int done, int total)>& progress)
{
    QList<FetchResult> results(requests.size());
    std::vector<std::unique_ptr<Job>> jobs;
    QHash<QByteArray, Job*> byKey;
    int cached = 0;
    {
        std::lock_guard lock(m_cache->mutex);
        for (int i = 0; i < requests.size(); ++i) {
            const QByteArray key = cacheKey(requests[i]);
            if (const auto it = m_cache->results.constFind(key); it != m_cache->results.constEnd()) {
                results[i] = *it;
                results[i].request = requests[i];
                results[i].fromCache = true;
                ++cached;
                continue;
            }
            if (Job* job = byKey.value(key)) {
                job->indices << i;
                continue;
            }
            auto job = std::make_unique<Job>();
            job->request = requests[i];
            job->indices << i;
            byKey.insert(key, job.get());
            jobs.push_back(std::move(job));
        }
    }
    if (progress && cached > 0)
        progress(cached, int(requests.size()));
    if (!jobs.empty()) {
        FetchRun run(m_options, cancel, progress, int(requests.size()));
        run.m_finishedIndices = cached;
        for (auto& job : jobs)
            run.m_all.push_back(job.get());
        run.run(jobs);
    }
    std::lock_guard lock(m_cache->mutex);
    for (const auto& job : jobs) {
        FetchResult result = job->result;
        if (!job->done) {
            // Cancelled before it started.
            result.request = job->request;
            result.failure = FetchFailure::Cancelled;
            result.error = QStringLiteral("cancelled");
        }
        if (result.ok())
            m_cache->results.insert(cacheKey(job->request), result);
        bool first = true;
        for (int i : job->indices) {
            results[i] = result;
            results[i].fromCache = !first;
            first = false;
        }
    }
    return results;
}

} // namespace staplescope
