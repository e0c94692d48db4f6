#include "AcmeAriServer.h"

#include "LoopbackServer.h"

#include <QJsonDocument>
#include <QJsonObject>

#include "OpenSslPtr.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <chrono>

#include <poll.h>

namespace staplescope::test {

namespace {

// Bounds: a request's head, and the time one connection may take.
constexpr qsizetype kMaxRequestBytes = 16 * 1024;
constexpr int kConnectionMs = 5000;

using SteadyClock = std::chrono::steady_clock;

bool waitFd(int fd, short events, SteadyClock::time_point deadline, const Connection& c)
{
    while (!c.stopping()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
        if (left <= 0)
            return false;
        pollfd p{fd, events, 0};
        const int rc = ::poll(&p, 1, int(std::min<long long>(left, 100)));
        if (rc > 0)
            return true;
        if (rc < 0 && errno != EINTR)
            return false;
    }
    return false;
}

QByteArray statusText(int status)
{
    switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    default: return "Status";
    }
}

// The server's certificate, for IP:127.0.0.1 (and DNS:localhost): PkiFactory writes DNS names only,
// and clients check the address they were given against the certificate.
IssuedCert loopbackServerCertificate(const IssuedCert& root)
{
    EvpPkeyPtr key(EVP_EC_gen("P-256"));
    X509Ptr x509(X509_new());
    if (!key || !x509)
        return {};
    X509_set_version(x509.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x509.get()), long(QDateTime::currentSecsSinceEpoch() & 0x7fffffff));
    X509_gmtime_adj(X509_getm_notBefore(x509.get()), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x509.get()), 7 * 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x509.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(x509.get(), X509_get_subject_name(root.x509()));
    X509_set_pubkey(x509.get(), key.get());
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, root.x509(), x509.get(), nullptr, nullptr, 0);
    const std::pair<int, const char*> extensions[] = {
        {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
        {NID_basic_constraints, "critical,CA:FALSE"},
        {NID_ext_key_usage, "serverAuth"},
        {NID_subject_key_identifier, "hash"},
        {NID_authority_key_identifier, "keyid"},
    };
    for (const auto& [nid, value] : extensions) {
        X509ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
        if (!extension || X509_add_ext(x509.get(), extension.get(), -1) != 1)
            return {};
    }
    if (X509_sign(x509.get(), root.key.get(), EVP_sha256()) <= 0)
        return {};
    ERR_clear_error();
    IssuedCert out;
    out.cert = std::shared_ptr<X509>(x509.release(), X509_free);
    out.key = std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free);
    return out;
}

} // namespace

QByteArray ariWindowJson(const QDateTime& start, const QDateTime& end, const QString& explanationUrl)
{
    QJsonObject o{{QStringLiteral("suggestedWindow"),
                   QJsonObject{{QStringLiteral("start"), start.toUTC().toString(Qt::ISODate)},
                               {QStringLiteral("end"), end.toUTC().toString(Qt::ISODate)}}}};
    if (!explanationUrl.isEmpty())
        o.insert(QStringLiteral("explanationURL"), explanationUrl);
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

struct AcmeAriServer::State {
    mutable std::mutex mutex;
    PkiFactory factory;
    IssuedCert root, server;
    std::shared_ptr<SSL_CTX> ctx;
    quint16 port = 0;
    bool offer = true;
    QHash<QString, AriAnswer> answers;
    int directoryRequests = 0;
    int renewalInfoRequests = 0;
    QStringList certIds;
};

AcmeAriServer::AcmeAriServer() : m_state(std::make_shared<State>())
{
    const QDateTime now = QDateTime::currentDateTimeUtc();
    CertSpec root;
    root.commonName = QStringLiteral("Staplescope Test ACME Root");
    root.isCa = true;
    root.notBefore = now.addDays(-1);
    root.notAfter = now.addDays(30);
    m_state->root = m_state->factory.issue(root, nullptr);
    m_state->server = loopbackServerCertificate(m_state->root);
    if (!m_state->server.cert)
        return;
    TlsServerConfig tls;
    tls.leaf = m_state->server;
    m_state->ctx = makeServerContext(tls);
}

AcmeAriServer::~AcmeAriServer() { stop(); }

bool AcmeAriServer::start()
{
    if (!m_state->ctx)
        return false;
    m_server = std::make_unique<LoopbackServer>([this](Connection& c) { handle(c); });
    const quint16 port = m_server->start();
    std::lock_guard lock(m_state->mutex);
    m_state->port = port;
    return port != 0;
}

void AcmeAriServer::stop()
{
    if (m_server)
        m_server->stop();
    m_server.reset();
}

quint16 AcmeAriServer::port() const
{
    std::lock_guard lock(m_state->mutex);
    return m_state->port;
}

QString AcmeAriServer::directoryUrl() const { return QStringLiteral("https://127.0.0.1:%1/dir").arg(port()); }
QString AcmeAriServer::renewalInfoBase() const { return QStringLiteral("https://127.0.0.1:%1/renewal-info").arg(port()); }
QByteArray AcmeAriServer::caPem() const { return m_state->root.certPem(); }

void AcmeAriServer::setOfferRenewalInfo(bool offer)
{
    std::lock_guard lock(m_state->mutex);
    m_state->offer = offer;
}

void AcmeAriServer::setAnswer(const QString& certId, const AriAnswer& answer)
{
    std::lock_guard lock(m_state->mutex);
    m_state->answers.insert(certId, answer);
}

void AcmeAriServer::setScenario(const QString& certId, AriScenario scenario, const QDateTime& notBefore, const QDateTime& notAfter,
                                const QDateTime& now)
{
    const qint64 lifetime = notBefore.secsTo(notAfter);
    const QDateTime normalStart = notBefore.addSecs(lifetime * 2 / 3);
    AriAnswer answer;
    switch (scenario) {
    case AriScenario::Normal:
        answer.body = ariWindowJson(normalStart, normalStart.addDays(2));
        break;
    case AriScenario::MovedEarlier:
        answer.body = ariWindowJson(now.addDays(-2), now.addSecs(-3600), QStringLiteral("https://ca.example.test/incidents/42"));
        break;
    case AriScenario::RetryAfter:
        answer.body = ariWindowJson(normalStart, normalStart.addDays(2));
        answer.retryAfter = "3600";
        break;
    case AriScenario::NotFound:
        answer.status = 404;
        answer.contentType = "application/problem+json";
        answer.body = "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"no such certificate\"}";
        break;
    case AriScenario::Garbage:
        answer.body = "{\"suggestedWindow\": {\"start\": oops";
        break;
    }
    setAnswer(certId, answer);
}

int AcmeAriServer::directoryRequests() const
{
    std::lock_guard lock(m_state->mutex);
    return m_state->directoryRequests;
}

int AcmeAriServer::renewalInfoRequests() const
{
    std::lock_guard lock(m_state->mutex);
    return m_state->renewalInfoRequests;
}

QStringList AcmeAriServer::requestedCertIds() const
{
    std::lock_guard lock(m_state->mutex);
    return m_state->certIds;
}

void AcmeAriServer::handle(Connection& connection)
{
    const std::shared_ptr<State> state = m_state;
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(state->ctx.get()), SSL_free);
    if (!ssl)
        return;
    SSL_set_fd(ssl.get(), connection.fd());
    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(kConnectionMs);
    const auto retry = [&](int rc) {
        const int err = SSL_get_error(ssl.get(), rc);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
            return false;
        return waitFd(connection.fd(), err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, connection);
    };
    for (;;) {
        const int rc = SSL_accept(ssl.get());
        if (rc == 1)
            break;
        if (!retry(rc)) {
            ERR_clear_error();
            return;
        }
    }
    QByteArray request;
    while (!request.contains("\r\n\r\n") && request.size() < kMaxRequestBytes) {
        char buf[2048];
        const int n = SSL_read(ssl.get(), buf, sizeof buf);
        if (n > 0) {
            request.append(buf, n);
            continue;
        }
        if (!retry(n)) {
            ERR_clear_error();
            return;
        }
    }
    const QList<QByteArray> requestLine = request.left(request.indexOf("\r\n")).split(' ');
    const QByteArray path = requestLine.value(1);
    AriAnswer answer;
    {
        std::lock_guard lock(state->mutex);
        const QString base = QStringLiteral("https://127.0.0.1:%1").arg(state->port);
        if (path == "/dir") {
            ++state->directoryRequests;
            QJsonObject dir{{QStringLiteral("newNonce"), base + QStringLiteral("/nonce-plz")},
                            {QStringLiteral("newAccount"), base + QStringLiteral("/sign-me-up")},
                            {QStringLiteral("newOrder"), base + QStringLiteral("/order-plz")},
                            {QStringLiteral("revokeCert"), base + QStringLiteral("/revoke-cert")},
                            {QStringLiteral("keyChange"), base + QStringLiteral("/rollover-account-key")}};
            if (state->offer)
                dir.insert(QStringLiteral("renewalInfo"), base + QStringLiteral("/renewal-info"));
            answer.body = QJsonDocument(dir).toJson(QJsonDocument::Compact);
        } else if (path.startsWith("/renewal-info/")) {
            ++state->renewalInfoRequests;
            const QString certId = QString::fromLatin1(path.mid(qsizetype(qstrlen("/renewal-info/"))));
            state->certIds << certId;
            if (state->answers.contains(certId)) {
                answer = state->answers.value(certId);
            } else {
                answer.status = 404;
                answer.contentType = "application/problem+json";
                answer.body = "{\"type\":\"urn:ietf:params:acme:error:malformed\",\"detail\":\"unknown certificate\"}";
            }
        } else {
            answer.status = 404;
            answer.contentType = "text/plain";
            answer.body = "not found\n";
        }
    }
    QByteArray response = "HTTP/1.1 " + QByteArray::number(answer.status) + ' ' + statusText(answer.status) + "\r\n";
    response += "Content-Type: " + answer.contentType + "\r\n";
    response += "Content-Length: " + QByteArray::number(answer.body.size()) + "\r\n";
    if (!answer.retryAfter.isEmpty())
        response += "Retry-After: " + answer.retryAfter + "\r\n";
    response += "Connection: close\r\n\r\n" + answer.body;
    qsizetype sent = 0;
    while (sent < response.size()) {
        const int n = SSL_write(ssl.get(), response.constData() + sent, int(response.size() - sent));
        if (n > 0) {
            sent += n;
            continue;
        }
        if (!retry(n))
            break;
    }
    SSL_shutdown(ssl.get());
    ERR_clear_error();
}

} // namespace staplescope::test
