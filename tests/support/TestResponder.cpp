#include "TestResponder.h"

#include "Certificate.h"
#include "LoopbackServer.h"
#include "TestPki.h"

#include <QRegularExpression>
#include <QUrl>

#include <chrono>
#include <thread>

namespace staplescope::test {

namespace {

using SteadyClock = std::chrono::steady_clock;

// Bounds on what a client may send: these are tests, but a broken client must not hang them.
constexpr qsizetype kMaxHeadBytes = 64 * 1024;
constexpr qsizetype kMaxBodyBytes = 1024 * 1024;
constexpr int kIdleTimeoutMs = 30000;     // a keep-alive connection with nothing more to ask
constexpr int kSlowBodyByteIntervalMs = 100;

QString serialKey(const ASN1_INTEGER* serial)
{
    if (!serial)
        return {};
    BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (!bn)
        return {};
    QByteArray bytes(BN_num_bytes(bn.get()), '\0');
    BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
    if (bytes.isEmpty())
        bytes = QByteArray(1, '\0');
    return signedSerialHex(bytes, BN_is_negative(bn.get()));
}

QString serialKey(const IssuedCert& cert)
{
    return cert.cert ? serialKey(X509_get0_serialNumber(cert.cert.get())) : QString();
}

// Sleeps in slices so a stopping server is not held up.
void pause(const Connection& connection, int ms)
{
    const auto until = SteadyClock::now() + std::chrono::milliseconds(ms);
    while (!connection.stopping() && SteadyClock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 10)));
}

struct HttpAnswer {
    int status = 200;
    QByteArray reason = "OK";
    QByteArray contentType;
    QByteArray body;
    QList<QByteArray> headers; // extra "Name: value" lines
};

QByteArray statusLine(int status, const QByteArray& reason)
{
    return "HTTP/1.1 " + QByteArray::number(status) + ' ' + reason + "\r\n";
}

QByteArray head(const HttpAnswer& a, bool withLength, bool close)
{
    QByteArray out = statusLine(a.status, a.reason);
    out += "Server: staplescope-test-responder\r\n";
    if (!a.contentType.isEmpty())
        out += "Content-Type: " + a.contentType + "\r\n";
    if (withLength)
        out += "Content-Length: " + QByteArray::number(a.body.size()) + "\r\n";
    for (const QByteArray& h : a.headers)
        out += h + "\r\n";
    if (close)
        out += "Connection: close\r\n";
    out += "\r\n";
    return out;
}

// Gives every entry of a CRL the reason keyCompromise (as the OCSP answers say) and signs it again.
QByteArray withKeyCompromiseReasons(const QByteArray& crlDer, const IssuedCert& signer)
{
    const auto* p = reinterpret_cast<const unsigned char*>(crlDer.constData());
    X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, long(crlDer.size())));
    if (!crl)
        return crlDer;
    STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl.get());
    if (sk_X509_REVOKED_num(entries) <= 0)
        return crlDer;
    for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
        OpenSslPtr<ASN1_ENUMERATED, ASN1_ENUMERATED_free> reason(ASN1_ENUMERATED_new());
        if (!reason || ASN1_ENUMERATED_set(reason.get(), OCSP_REVOKED_STATUS_KEYCOMPROMISE) != 1
            || X509_REVOKED_add1_ext_i2d(sk_X509_REVOKED_value(entries, i), NID_crl_reason, reason.get(), 0, 0) != 1)
            return crlDer;
    }
    const EVP_MD* md = EVP_PKEY_get_id(signer.key.get()) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
    if (X509_CRL_sign(crl.get(), signer.key.get(), md) <= 0)
        return crlDer;
    unsigned char* out = nullptr;
    const int len = i2d_X509_CRL(crl.get(), &out);
    if (len <= 0)
        return crlDer;
    QByteArray der(reinterpret_cast<const char*>(out), len);
    OPENSSL_free(out);
    return der;
}

} // namespace

QString responderScenarioName(ResponderScenario scenario)
{
    switch (scenario) {
    case ResponderScenario::Good: return QStringLiteral("good");
    case ResponderScenario::Revoked: return QStringLiteral("revoked");
    case ResponderScenario::Unknown: return QStringLiteral("unknown");
    case ResponderScenario::TryLater: return QStringLiteral("tryLater");
    case ResponderScenario::InternalError: return QStringLiteral("internalError");
    case ResponderScenario::Unauthorized: return QStringLiteral("unauthorized");
    case ResponderScenario::MalformedRequest: return QStringLiteral("malformedRequest");
    case ResponderScenario::OtherSerial: return QStringLiteral("other serial");
    case ResponderScenario::Expired: return QStringLiteral("expired");
    case ResponderScenario::FromTheFuture: return QStringLiteral("from the future");
    case ResponderScenario::NoNextUpdate: return QStringLiteral("no nextUpdate");
    case ResponderScenario::BadSignature: return QStringLiteral("bad signature");
    case ResponderScenario::WrongSigner: return QStringLiteral("wrong signer");
    case ResponderScenario::WrongNonce: return QStringLiteral("wrong nonce");
    case ResponderScenario::Garbage: return QStringLiteral("garbage");
    case ResponderScenario::Http500: return QStringLiteral("HTTP 500");
    case ResponderScenario::HtmlErrorPage: return QStringLiteral("HTML error page");
    case ResponderScenario::WrongContentType: return QStringLiteral("wrong content type");
    case ResponderScenario::Oversized: return QStringLiteral("oversized");
    case ResponderScenario::OversizedNoLength: return QStringLiteral("oversized without length");
    case ResponderScenario::Slow: return QStringLiteral("slow");
    case ResponderScenario::SlowBody: return QStringLiteral("slow body");
    case ResponderScenario::RedirectLoop: return QStringLiteral("redirect loop");
    case ResponderScenario::ClosedMidBody: return QStringLiteral("closed mid-body");
    case ResponderScenario::CloseWithoutAnswer: return QStringLiteral("close without answer");
    }
    return {};
}

struct TestResponder::State {
    mutable std::mutex mutex;
    ResponderCa ca;
    QDateTime now;
    PkiFactory factory;
    IssuedCert other;      // for OtherSerial
    IssuedCert stranger;   // for WrongSigner: a CA nobody authorised
    QHash<QString, IssuedCert> certs;              // by serial key
    std::function<std::optional<IssuedCert>(const QString&)> lookup; // for serials not in certs
    QHash<QString, ResponderScenario> bySerial;
    QHash<QString, ResponderScenario> byPath;
    ResponderScenario defaultScenario = ResponderScenario::Good;
    QHash<QString, std::pair<QByteArray, QByteArray>> files; // path → bytes, content type
    bool delegated = false;
    bool echoNonce = true;
    int latencyMs = 0;
    int slowMs = 5000;
    qsizetype oversizeBytes = 80 * 1024;
    QList<ResponderRequest> log;
    std::atomic<int> requests{0};
    std::atomic<int> ocspRequests{0};
    std::atomic<int> connections{0};
    std::atomic<int> inFlight{0};
    std::atomic<int> maxInFlight{0};
    quint16 port = 0;

    ResponderScenario scenarioFor(const QString& serial) const
    {
        return bySerial.value(serial, defaultScenario);
    }

    QByteArray crlDer() const
    {
        QList<const IssuedCert*> revoked;
        for (auto it = certs.constBegin(); it != certs.constEnd(); ++it)
            if (scenarioFor(it.key()) == ResponderScenario::Revoked)
                revoked << &it.value();
        return withKeyCompromiseReasons(factory.crlDer(ca.issuer, now.addDays(-1), now.addDays(6), revoked), ca.issuer);
    }

    QByteArray issuerBytes(IssuerFormat format) const
    {
        switch (format) {
        case IssuerFormat::Der: return ca.issuer.certDer();
        case IssuerFormat::Pem: return ca.issuer.certPem();
        case IssuerFormat::Pkcs7Der: return PkiFactory::pkcs7Der({&ca.issuer});
        case IssuerFormat::Pkcs7Pem: return PkiFactory::pkcs7Pem({&ca.issuer});
        }
        return {};
    }
};

TestResponder::TestResponder(const TestPki& pki) : TestResponder(ResponderCa{pki.intermediate, pki.responder}, pki.now())
{
    addCertificate(pki.leaf);
}

TestResponder::TestResponder(ResponderCa ca, const QDateTime& now) : m_state(std::make_shared<State>())
{
    m_state->now = now;
    setCa(std::move(ca));
    CertSpec strangerSpec;
    strangerSpec.commonName = QStringLiteral("Stranger Test CA");
    strangerSpec.isCa = true;
    strangerSpec.notBefore = now.addDays(-100);
    strangerSpec.notAfter = now.addDays(1000);
    m_state->stranger = m_state->factory.issue(strangerSpec);
}

TestResponder::~TestResponder() { stop(); }

bool TestResponder::start()
{
    m_server = std::make_unique<LoopbackServer>([this](Connection& c) { handle(c); });
    const quint16 port = m_server->start();
    std::lock_guard lock(m_state->mutex);
    m_state->port = port;
    return port != 0;
}

void TestResponder::stop()
{
    if (m_server)
        m_server->stop();
}

quint16 TestResponder::port() const
{
    std::lock_guard lock(m_state->mutex);
    return m_state->port;
}

QString TestResponder::baseUrl() const { return QStringLiteral("http://127.0.0.1:%1").arg(port()); }
QString TestResponder::ocspUrl() const { return baseUrl() + QStringLiteral("/ocsp"); }
QString TestResponder::crlUrl(bool pem) const { return baseUrl() + (pem ? QStringLiteral("/int.pem.crl") : QStringLiteral("/int.crl")); }

QString TestResponder::issuerUrl(IssuerFormat format) const
{
    switch (format) {
    case IssuerFormat::Der: return baseUrl() + QStringLiteral("/issuer.der");
    case IssuerFormat::Pem: return baseUrl() + QStringLiteral("/issuer.pem");
    case IssuerFormat::Pkcs7Der: return baseUrl() + QStringLiteral("/issuer.p7c");
    case IssuerFormat::Pkcs7Pem: return baseUrl() + QStringLiteral("/issuer.p7b");
    }
    return {};
}

QString TestResponder::redirectingUrl(const QString& path, int hops) const
{
    const QString rest = path.startsWith(QLatin1Char('/')) ? path.mid(1) : path;
    return baseUrl() + QStringLiteral("/redirect/%1/%2").arg(hops).arg(rest);
}

CertSpec TestResponder::leafSpec() const
{
    const QDateTime at = now();
    CertSpec spec;
    spec.commonName = QStringLiteral("www.example.test");
    spec.dnsNames = {QStringLiteral("www.example.test"), QStringLiteral("example.test")};
    spec.notBefore = at.addDays(-10);
    spec.notAfter = at.addDays(80);
    spec.ocspUrls = {ocspUrl()};
    spec.caIssuerUrls = {issuerUrl()};
    spec.crlUrls = {crlUrl()};
    return spec;
}

IssuedCert TestResponder::issueLeaf(const std::function<void(CertSpec&)>& tweak)
{
    CertSpec spec = leafSpec();
    if (tweak)
        tweak(spec);
    return issueLeaf(spec);
}

IssuedCert TestResponder::issueLeaf(const CertSpec& spec)
{
    IssuedCert issuer;
    {
        std::lock_guard lock(m_state->mutex);
        issuer = m_state->ca.issuer;
    }
    IssuedCert leaf = m_state->factory.issue(spec, &issuer);
    addCertificate(leaf);
    return leaf;
}

void TestResponder::addCertificate(const IssuedCert& cert)
{
    std::lock_guard lock(m_state->mutex);
    m_state->certs.insert(serialKey(cert), cert);
}

void TestResponder::setCa(ResponderCa ca)
{
    std::lock_guard lock(m_state->mutex);
    m_state->ca = std::move(ca);
    CertSpec otherSpec;
    otherSpec.commonName = QStringLiteral("other.example.test");
    otherSpec.dnsNames = {otherSpec.commonName};
    otherSpec.notBefore = m_state->now.addDays(-10);
    otherSpec.notAfter = m_state->now.addDays(80);
    m_state->other = m_state->factory.issue(otherSpec, &m_state->ca.issuer);
}

void TestResponder::setCertificateLookup(std::function<std::optional<IssuedCert>(const QString&)> lookup)
{
    std::lock_guard lock(m_state->mutex);
    m_state->lookup = std::move(lookup);
}

void TestResponder::setScenario(const IssuedCert& cert, ResponderScenario scenario) { setScenario(serialKey(cert), scenario); }

void TestResponder::setScenario(const QString& serialHex, ResponderScenario scenario)
{
    std::lock_guard lock(m_state->mutex);
    m_state->bySerial.insert(serialHex.toUpper(), scenario);
}

void TestResponder::setDefaultScenario(ResponderScenario scenario)
{
    std::lock_guard lock(m_state->mutex);
    m_state->defaultScenario = scenario;
}

void TestResponder::setPathScenario(const QString& path, ResponderScenario scenario)
{
    std::lock_guard lock(m_state->mutex);
    m_state->byPath.insert(path, scenario);
}

void TestResponder::clearScenarios()
{
    std::lock_guard lock(m_state->mutex);
    m_state->byPath.clear();
    m_state->bySerial.clear();
    m_state->defaultScenario = ResponderScenario::Good;
}

void TestResponder::serve(const QString& path, const QByteArray& bytes, const QByteArray& contentType)
{
    std::lock_guard lock(m_state->mutex);
    m_state->files.insert(path, {bytes, contentType});
}

QString TestResponder::serveCrl(const QString& path, const QDateTime& thisUpdate, const QDateTime& nextUpdate,
                                const QList<const IssuedCert*>& revoked, const IssuedCert* signer)
{
    IssuedCert by;
    {
        std::lock_guard lock(m_state->mutex);
        by = signer ? *signer : m_state->ca.issuer;
    }
    serve(path, m_state->factory.crlDer(by, thisUpdate, nextUpdate, revoked), "application/pkix-crl");
    return baseUrl() + path;
}

QString TestResponder::serveCertificate(const QString& path, const IssuedCert& cert, IssuerFormat format)
{
    switch (format) {
    case IssuerFormat::Der: serve(path, cert.certDer(), "application/pkix-cert"); break;
    case IssuerFormat::Pem: serve(path, cert.certPem(), "application/x-pem-file"); break;
    case IssuerFormat::Pkcs7Der: serve(path, PkiFactory::pkcs7Der({&cert}), "application/pkcs7-mime"); break;
    case IssuerFormat::Pkcs7Pem: serve(path, PkiFactory::pkcs7Pem({&cert}), "application/x-pem-file"); break;
    }
    return baseUrl() + path;
}

void TestResponder::setNow(const QDateTime& now)
{
    std::lock_guard lock(m_state->mutex);
    m_state->now = now;
}

QDateTime TestResponder::now() const
{
    std::lock_guard lock(m_state->mutex);
    return m_state->now;
}

void TestResponder::setDelegatedSigner(bool delegated)
{
    std::lock_guard lock(m_state->mutex);
    m_state->delegated = delegated;
}

void TestResponder::setEchoNonce(bool echo)
{
    std::lock_guard lock(m_state->mutex);
    m_state->echoNonce = echo;
}

void TestResponder::setLatencyMs(int ms)
{
    std::lock_guard lock(m_state->mutex);
    m_state->latencyMs = ms;
}

void TestResponder::setSlowMs(int ms)
{
    std::lock_guard lock(m_state->mutex);
    m_state->slowMs = ms;
}

void TestResponder::setOversizeBytes(qsizetype bytes)
{
    std::lock_guard lock(m_state->mutex);
    m_state->oversizeBytes = bytes;
}

int TestResponder::requestCount() const { return m_state->requests.load(); }
int TestResponder::ocspRequestCount() const { return m_state->ocspRequests.load(); }
int TestResponder::maxRequestsInFlight() const { return m_state->maxInFlight.load(); }
int TestResponder::connectionCount() const { return m_server ? m_server->connectionsAccepted() : 0; }

QList<ResponderRequest> TestResponder::requests() const
{
    std::lock_guard lock(m_state->mutex);
    return m_state->log;
}

void TestResponder::clearRequests()
{
    std::lock_guard lock(m_state->mutex);
    m_state->log.clear();
    // The counts start again too, so a check after clearRequests() sees only what came after it.
    m_state->requests = 0;
    m_state->ocspRequests = 0;
}

namespace {

// Reads HTTP requests off one connection, keeping what arrived beyond the current one.
class RequestReader {
public:
    explicit RequestReader(Connection& c) : m_c(c) {}

    // The head (request line and headers, without the blank line); nullopt on close or idle.
    std::optional<QByteArray> readHead()
    {
        const auto deadline = SteadyClock::now() + std::chrono::milliseconds(kIdleTimeoutMs);
        for (;;) {
            const qsizetype end = m_buffer.indexOf("\r\n\r\n");
            if (end >= 0) {
                QByteArray head = m_buffer.left(end);
                m_buffer.remove(0, end + 4);
                return head;
            }
            if (m_buffer.size() > kMaxHeadBytes || !more(deadline))
                return std::nullopt;
        }
    }

    std::optional<QByteArray> readBody(qsizetype length)
    {
        const auto deadline = SteadyClock::now() + std::chrono::milliseconds(10000);
        while (m_buffer.size() < length)
            if (!more(deadline))
                return std::nullopt;
        QByteArray body = m_buffer.left(length);
        m_buffer.remove(0, length);
        return body;
    }

private:
    bool more(SteadyClock::time_point deadline)
    {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
        if (left <= 0)
            return false;
        const QByteArray bytes = m_c.readSome(int(left));
        if (bytes.isEmpty())
            return false;
        m_buffer += bytes;
        return true;
    }

    Connection& m_c;
    QByteArray m_buffer;
};

int responseStatusOf(ResponderScenario s)
{
    switch (s) {
    case ResponderScenario::TryLater: return OCSP_RESPONSE_STATUS_TRYLATER;
    case ResponderScenario::InternalError: return OCSP_RESPONSE_STATUS_INTERNALERROR;
    case ResponderScenario::Unauthorized: return OCSP_RESPONSE_STATUS_UNAUTHORIZED;
    case ResponderScenario::MalformedRequest: return OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
    default: return OCSP_RESPONSE_STATUS_SUCCESSFUL;
    }
}

QByteArray unsuccessful(int status)
{
    OcspResponsePtr response(OCSP_response_create(status, nullptr));
    unsigned char* out = nullptr;
    const int len = response ? i2d_OCSP_RESPONSE(response.get(), &out) : -1;
    if (len <= 0)
        return {};
    QByteArray der(reinterpret_cast<const char*>(out), len);
    OPENSSL_free(out);
    return der;
}

// Adds `nonce` (the request's, or another one) to a signed response and signs it again.
QByteArray withNonce(const QByteArray& responseDer, OCSP_REQUEST* request, const QByteArray& otherNonce,
                     const IssuedCert& signer)
{
    const auto* p = reinterpret_cast<const unsigned char*>(responseDer.constData());
    OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, long(responseDer.size())));
    OcspBasicRespPtr basic(response ? OCSP_response_get1_basic(response.get()) : nullptr);
    if (!basic)
        return responseDer;
    const int added = otherNonce.isEmpty()
        ? OCSP_copy_nonce(basic.get(), request)
        : OCSP_basic_add1_nonce(basic.get(),
                                reinterpret_cast<unsigned char*>(const_cast<char*>(otherNonce.constData())),
                                int(otherNonce.size()));
    if (added != 1)
        return responseDer;
    // Signed again over the changed tbsResponseData, keeping responderId, producedAt and certs.
    // (OCSP_basic_sign would set the responderId anew, and OpenSSL 3.0's OCSP_RESPID_set_by_key
    // leaks the key hash it replaces.)
    const EVP_MD* md = EVP_PKEY_get_id(signer.key.get()) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    auto* data = const_cast<OCSP_RESPDATA*>(OCSP_resp_get0_respdata(basic.get()));
    auto* algorithm = const_cast<X509_ALGOR*>(OCSP_resp_get0_tbs_sigalg(basic.get()));
    auto* signature = const_cast<ASN1_OCTET_STRING*>(OCSP_resp_get0_signature(basic.get()));
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, signer.key.get()) != 1
        || ASN1_item_sign_ctx(ASN1_ITEM_rptr(OCSP_RESPDATA), algorithm, nullptr, signature, data, ctx.get()) <= 0)
        return responseDer;
    OcspResponsePtr signedResponse(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
    unsigned char* out = nullptr;
    const int len = signedResponse ? i2d_OCSP_RESPONSE(signedResponse.get(), &out) : -1;
    if (len <= 0)
        return responseDer;
    QByteArray der(reinterpret_cast<const char*>(out), len);
    OPENSSL_free(out);
    return der;
}

} // namespace

void TestResponder::handle(Connection& connection)
{
    const std::shared_ptr<State> state = m_state;
    const int connectionNumber = ++state->connections;
    RequestReader reader(connection);
    while (!connection.stopping()) {
        const std::optional<QByteArray> headBytes = reader.readHead();
        if (!headBytes)
            return;
        const QList<QByteArray> lines = headBytes->split('\n');
        const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
        if (requestLine.size() != 3) {
            connection.send(head(HttpAnswer{400, "Bad Request", "text/plain", "bad request line\n", {}}, true, true)
                            + "bad request line\n");
            return;
        }
        ResponderRequest request;
        request.method = requestLine[0];
        request.target = requestLine[1];
        request.connection = connectionNumber;
        bool close = requestLine[2] == "HTTP/1.0";
        qsizetype contentLength = 0;
        for (qsizetype i = 1; i < lines.size(); ++i) {
            const QByteArray line = lines[i].trimmed();
            const qsizetype colon = line.indexOf(':');
            if (colon <= 0)
                continue;
            const QByteArray name = line.left(colon).trimmed().toLower();
            const QByteArray value = line.mid(colon + 1).trimmed();
            if (name == "content-length")
                contentLength = value.toLongLong();
            else if (name == "connection")
                close = close || value.toLower() == "close";
            else if (name == "host")
                request.host = value;
            else if (name == "user-agent")
                request.userAgent = value;
            else if (name == "accept")
                request.accept = value;
            else if (name == "content-type")
                request.contentType = value;
        }
        if (contentLength < 0 || contentLength > kMaxBodyBytes)
            return;
        if (contentLength > 0) {
            const std::optional<QByteArray> body = reader.readBody(contentLength);
            if (!body)
                return;
            request.body = *body;
        }
        // Absolute form, as a client sends it to a proxy.
        QByteArray path = request.target;
        if (path.startsWith("http://") || path.startsWith("https://")) {
            request.absoluteForm = true;
            const qsizetype slash = path.indexOf('/', path.indexOf("://") + 3);
            path = slash < 0 ? QByteArray("/") : path.mid(slash);
        }
        request.path = path;
        // Counted from the whole request read until its answer is sent (or the connection ends).
        struct InFlight {
            State& s;
            explicit InFlight(State& state) : s(state)
            {
                const int now = ++s.inFlight;
                int seen = s.maxInFlight.load();
                while (now > seen && !s.maxInFlight.compare_exchange_weak(seen, now)) {
                }
            }
            ~InFlight() { --s.inFlight; }
        } inFlight(*state);
        // Routed without the query ("/issuer.der?n=1" is /issuer.der: distinct URLs, same file).
        const QString pathText = QString::fromLatin1(path.left(path.indexOf('?') < 0 ? path.size() : path.indexOf('?')));

        // Decide the answer under the lock, then send it without.
        HttpAnswer answer;
        ResponderScenario scenario = ResponderScenario::Good;
        int latency = 0, slowMs = 0;
        qsizetype oversize = 0;
        QString redirectTo;
        {
            std::lock_guard lock(state->mutex);
            latency = state->latencyMs;
            slowMs = state->slowMs;
            oversize = state->oversizeBytes;
            static const QRegularExpression redirect(QStringLiteral("^/redirect/(\\d+)/(.*)$"));
            // "/ocsp", or any longer path ending in it ("/a/long/prefix/ocsp", to make GET URLs long).
            const qsizetype ocspAt = pathText.indexOf(QLatin1String("/ocsp/"));
            const bool isOcspGet = request.method == "GET" && ocspAt >= 0 && !pathText.startsWith(QLatin1String("/redirect/"));
            const bool isOcspPost = request.method == "POST" && pathText.endsWith(QLatin1String("/ocsp"));
            // A scenario for "/ocsp" covers its GETs ("/ocsp/<request>") too.
            const QString scenarioPath = isOcspGet ? pathText.left(ocspAt + 5) : pathText;
            const bool hasPathScenario = state->byPath.contains(scenarioPath);
            scenario = state->byPath.value(scenarioPath, ResponderScenario::Good);
            if (const auto m = redirect.match(pathText); m.hasMatch()) {
                const int hops = m.captured(1).toInt();
                redirectTo = hops <= 1 ? QStringLiteral("/") + m.captured(2)
                                       : QStringLiteral("/redirect/%1/%2").arg(hops - 1).arg(m.captured(2));
                answer = HttpAnswer{302, "Found", "text/plain", "moved\n", {"Location: " + redirectTo.toLatin1()}};
            } else if (isOcspGet || isOcspPost) {
                ++state->ocspRequests;
                request.ocspGet = isOcspGet;
                request.ocspRequestDer = isOcspGet
                    ? QByteArray::fromBase64(QByteArray::fromPercentEncoding(path.mid(ocspAt + qsizetype(strlen("/ocsp/")))))
                    : request.body;
                const auto* p = reinterpret_cast<const unsigned char*>(request.ocspRequestDer.constData());
                OcspRequestPtr ocspRequest(d2i_OCSP_REQUEST(nullptr, &p, long(request.ocspRequestDer.size())));
                answer.contentType = "application/ocsp-response";
                OCSP_CERTID* id = nullptr;
                if (ocspRequest && OCSP_request_onereq_count(ocspRequest.get()) >= 1)
                    id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(ocspRequest.get(), 0));
                ASN1_OBJECT* hashObject = nullptr;
                ASN1_INTEGER* serial = nullptr;
                if (!id || OCSP_id_get0_info(nullptr, &hashObject, nullptr, &serial, id) != 1) {
                    answer.body = unsuccessful(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
                } else {
                    const QString key = serialKey(serial);
                    if (!hasPathScenario)
                        scenario = state->scenarioFor(key);
                    const EVP_MD* hash = EVP_get_digestbyobj(hashObject);
                    // Does the request name our CA? (Same hash algorithm, our name and key.)
                    OcspCertIdPtr ours(hash ? OCSP_cert_id_new(hash, X509_get_subject_name(state->ca.issuer.x509()),
                                                               X509_get0_pubkey_bitstr(state->ca.issuer.x509()), serial)
                                            : nullptr);
                    const bool ourIssuer = ours && OCSP_id_issuer_cmp(ours.get(), id) == 0;
                    auto subject = state->certs.constFind(key);
                    if (ourIssuer && subject == state->certs.constEnd() && state->lookup) {
                        if (std::optional<IssuedCert> found = state->lookup(key); found && found->cert)
                            subject = state->certs.insert(key, *found);
                    }
                    if (!ourIssuer || subject == state->certs.constEnd()) {
                        answer.body = unsuccessful(OCSP_RESPONSE_STATUS_UNAUTHORIZED);
                    } else if (responseStatusOf(scenario) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
                        answer.body = unsuccessful(responseStatusOf(scenario));
                    } else {
                        // HTTP-level scenarios (closed mid-body, slow …) send a good response their way.
                        OcspSpec spec;
                        spec.certIdHash = EVP_MD_get_type(hash) == NID_sha1 ? nullptr : hash;
                        spec.thisUpdate = state->now.addSecs(-3600);
                        spec.nextUpdate = state->now.addDays(7);
                        const IssuedCert* signer = state->delegated && state->ca.delegatedSigner.cert
                            ? &state->ca.delegatedSigner
                            : &state->ca.issuer;
                        const IssuedCert* about = &subject.value();
                        switch (scenario) {
                        case ResponderScenario::Revoked:
                            spec.certStatus = V_OCSP_CERTSTATUS_REVOKED;
                            spec.revocationTime = state->now.addDays(-1);
                            spec.revocationReason = OCSP_REVOKED_STATUS_KEYCOMPROMISE;
                            break;
                        case ResponderScenario::Unknown: spec.certStatus = V_OCSP_CERTSTATUS_UNKNOWN; break;
                        case ResponderScenario::OtherSerial: about = &state->other; break;
                        case ResponderScenario::Expired:
                            spec.thisUpdate = state->now.addDays(-10);
                            spec.nextUpdate = state->now.addDays(-3);
                            break;
                        case ResponderScenario::FromTheFuture:
                            spec.thisUpdate = state->now.addDays(1);
                            spec.nextUpdate = state->now.addDays(8);
                            break;
                        case ResponderScenario::NoNextUpdate: spec.nextUpdate.reset(); break;
                        case ResponderScenario::BadSignature: spec.corruptSignature = true; break;
                        case ResponderScenario::WrongSigner: signer = &state->stranger; break;
                        default: break;
                        }
                        answer.body = state->factory.ocspResponse(*about, state->ca.issuer, *signer, spec);
                        const bool askedNonce =
                            OCSP_REQUEST_get_ext_by_NID(ocspRequest.get(), NID_id_pkix_OCSP_Nonce, -1) >= 0;
                        if (scenario == ResponderScenario::WrongNonce)
                            answer.body = withNonce(answer.body, ocspRequest.get(), QByteArray(16, '\x5a'), *signer);
                        else if (askedNonce && state->echoNonce && scenario != ResponderScenario::BadSignature)
                            answer.body = withNonce(answer.body, ocspRequest.get(), {}, *signer);
                    }
                }
            } else if (state->files.contains(pathText)) {
                const auto& [bytes, type] = state->files.value(pathText);
                answer.body = bytes;
                answer.contentType = type;
            } else if (pathText == QLatin1String("/int.crl")) {
                answer.body = state->crlDer();
                answer.contentType = "application/pkix-crl";
            } else if (pathText == QLatin1String("/int.pem.crl")) {
                answer.body = PkiFactory::toPem(state->crlDer(), "X509 CRL");
                answer.contentType = "application/x-pem-file";
            } else if (pathText == QLatin1String("/issuer.der")) {
                answer.body = state->issuerBytes(IssuerFormat::Der);
                answer.contentType = "application/pkix-cert";
            } else if (pathText == QLatin1String("/issuer.pem")) {
                answer.body = state->issuerBytes(IssuerFormat::Pem);
                answer.contentType = "application/x-pem-file";
            } else if (pathText == QLatin1String("/issuer.p7c")) {
                answer.body = state->issuerBytes(IssuerFormat::Pkcs7Der);
                answer.contentType = "application/pkcs7-mime";
            } else if (pathText == QLatin1String("/issuer.p7b")) {
                answer.body = state->issuerBytes(IssuerFormat::Pkcs7Pem);
                answer.contentType = "application/x-pem-file";
            } else {
                answer = HttpAnswer{404, "Not Found", "text/plain", "no such path: " + path + "\n", {}};
            }
            state->log << request;
            ++state->requests;
        }

        if (latency > 0)
            pause(connection, latency);
        switch (scenario) {
        case ResponderScenario::Garbage:
            answer.body = QByteArray("\x01\x02garbage, not DER\xff\xfe", 21);
            break;
        case ResponderScenario::Http500:
            answer = HttpAnswer{500, "Internal Server Error", "text/plain", "Internal Server Error\n", {}};
            break;
        case ResponderScenario::HtmlErrorPage:
            answer = HttpAnswer{503, "Service Unavailable", "text/html; charset=utf-8",
                                "<!DOCTYPE html>\n<html><head><title>503 Service Temporarily Unavailable</title></head>\n"
                                "<body><h1>Service Temporarily Unavailable</h1><p>Try again later.</p></body></html>\n",
                                {}};
            break;
        case ResponderScenario::WrongContentType:
            answer = HttpAnswer{200, "OK", "text/html",
                                "<html><head><title>Welcome to the hotel network</title></head><body>Log in</body></html>\n", {}};
            break;
        case ResponderScenario::Oversized:
            answer.body = QByteArray(oversize, '\x30');
            break;
        case ResponderScenario::RedirectLoop:
            answer = HttpAnswer{302, "Found", "text/plain", "moved\n", {"Location: " + path}};
            break;
        case ResponderScenario::Slow:
            pause(connection, slowMs);
            break;
        default:
            break;
        }
        if (connection.stopping())
            return;
        switch (scenario) {
        case ResponderScenario::CloseWithoutAnswer:
            return;
        case ResponderScenario::ClosedMidBody:
            connection.send(head(answer, true, true) + answer.body.left(answer.body.size() / 2));
            return;
        case ResponderScenario::OversizedNoLength: {
            if (!connection.send(head(answer, false, true)))
                return;
            const QByteArray chunk(16 * 1024, '\x30');
            for (qsizetype sent = 0; sent < oversize && !connection.stopping(); sent += chunk.size())
                if (!connection.send(chunk))
                    return;
            return;
        }
        case ResponderScenario::SlowBody:
            if (!connection.send(head(answer, true, close)))
                return;
            for (qsizetype i = 0; i < answer.body.size() && !connection.stopping(); ++i) {
                pause(connection, kSlowBodyByteIntervalMs);
                if (!connection.send(answer.body.mid(i, 1)))
                    return;
            }
            break;
        default:
            if (!connection.send(head(answer, true, close) + answer.body))
                return;
            break;
        }
        if (close)
            return;
    }
}

} // namespace staplescope::test
