// The HTTP fetcher (core/net/HttpFetcher) and the online lookups (core/net/OnlineLookup) against
// the loopback responder (tests/support/TestResponder): every failure mode, GET and POST, proxies,
// redirects, deduplication, bounded concurrency and connection reuse; issuers and CRLs.

#include "HttpFetcher.h"
#include "NetText.h"
#include "OnlineLookup.h"
#include "TestPki.h"
#include "TestResponder.h"

#include <QtTest>

#include <QThreadPool>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

using namespace staplescope;
using namespace staplescope::test;

Q_DECLARE_METATYPE(staplescope::test::ResponderScenario)
Q_DECLARE_METATYPE(staplescope::FetchFailure)
Q_DECLARE_METATYPE(staplescope::FetchKind)

namespace {

// Short, so failure cases finish fast; generous enough for a loaded CI machine.
FetchOptions quickOptions()
{
    FetchOptions o;
    o.connectTimeoutMs = 2000;
    o.totalTimeoutMs = 5000;
    o.proxyFromEnvironment = false;
    return o;
}

FetchRequest get(FetchKind kind, const QString& url)
{
    FetchRequest r;
    r.kind = kind;
    r.url = QUrl(url);
    return r;
}

FetchResult fetchOne(const FetchRequest& request, const FetchOptions& options = quickOptions())
{
    HttpFetcher fetcher(options);
    return fetcher.fetchAll({request}).value(0);
}

// A port nothing listens on: bound once to get a free number, then closed.
quint16 closedPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

// Sets (or unsets, for an empty value) environment variables for one scope.
class ScopedEnv {
public:
    ScopedEnv(std::initializer_list<std::pair<const char*, QByteArray>> values)
    {
        for (const auto& [name, value] : values) {
            m_saved.append({name, qgetenv(name), qEnvironmentVariableIsSet(name)});
            if (value.isEmpty())
                qunsetenv(name);
            else
                qputenv(name, value);
        }
    }
    ~ScopedEnv()
    {
        for (const auto& s : m_saved) {
            if (s.wasSet)
                qputenv(s.name, s.value);
            else
                qunsetenv(s.name);
        }
    }

private:
    struct Saved {
        const char* name;
        QByteArray value;
        bool wasSet;
    };
    QList<Saved> m_saved;
};

const std::initializer_list<std::pair<const char*, QByteArray>> kNoProxyEnv{
    {"http_proxy", {}}, {"HTTP_PROXY", {}}, {"https_proxy", {}}, {"HTTPS_PROXY", {}}, {"no_proxy", {}}, {"NO_PROXY", {}}};

} // namespace

class TestFetcher : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    // The fetcher
    void fetchesBodyWithUserAgentAndAccept();
    void failures_data();
    void failures();
    void sizeCapDependsOnKind();
    void hostNotFound();
    void connectionRefused();
    void connectTimeoutWhenNothingAnswers();
    void totalTimeoutWhenTheBodyTrickles();
    void nonHttpUrlsAreRefused();
    void redirects();
    void identicalRequestsAreMadeOnce();
    void concurrencyIsBoundedAndConnectionsReused();
    void proxyFromEnvironment();
    void environmentProxyRules();
    void worksOnWorkerThreads();
    void cancelStopsWaiting();
};

void TestFetcher::initTestCase()
{
    // Nothing in this test may go through a proxy of the machine running it.
    for (const auto& [name, value] : kNoProxyEnv)
        qunsetenv(name);
}

void TestFetcher::fetchesBodyWithUserAgentAndAccept()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const FetchResult r = fetchOne(get(FetchKind::Certificate, responder.issuerUrl()));
    QVERIFY2(r.ok(), qPrintable(r.error));
    QCOMPARE(r.body, pki.intermediate.certDer());
    QCOMPARE(r.httpStatus, 200);
    QCOMPARE(r.contentType, QByteArray("application/pkix-cert"));
    QVERIFY(!r.fromCache);
    const QList<ResponderRequest> seen = responder.requests();
    QCOMPARE(seen.size(), 1);
    QCOMPARE(seen[0].userAgent, QByteArray("Staplescope/" STAPLESCOPE_EXPECTED_VERSION));
    QVERIFY(seen[0].accept.startsWith("application/pkix-cert"));
    QVERIFY(!seen[0].absoluteForm);
    QCOMPARE(defaultUserAgent(), QByteArray("Staplescope/" STAPLESCOPE_EXPECTED_VERSION));
}

void TestFetcher::failures_data()
{
    QTest::addColumn<ResponderScenario>("scenario");
    QTest::addColumn<FetchFailure>("failure");
    QTest::addColumn<QStringList>("contains");
    using S = ResponderScenario;
    using F = FetchFailure;
    QTest::newRow("HTTP 500") << S::Http500 << F::HttpStatus
                              << QStringList{"answered HTTP 500 Internal Server Error"};
    QTest::newRow("HTML error page") << S::HtmlErrorPage << F::HttpStatus
                                     << QStringList{"HTTP 503 Service Unavailable", "\"503 Service Temporarily Unavailable\""};
    QTest::newRow("wrong content type") << S::WrongContentType << F::WrongContentType
                                        << QStringList{"content type text/html", "not an OCSP response", "Welcome to the hotel network"};
    QTest::newRow("oversized with Content-Length") << S::Oversized << F::TooLarge
                                                   << QStringList{"announced 81920 bytes", "64 KiB"};
    QTest::newRow("oversized without length") << S::OversizedNoLength << F::TooLarge
                                              << QStringList{"grew past the 64 KiB", "stopped reading"};
    QTest::newRow("redirect loop") << S::RedirectLoop << F::TooManyRedirects << QStringList{"redirect loop", "redirects back to"};
    QTest::newRow("closed mid-body") << S::ClosedMidBody << F::ConnectionClosed << QStringList{"closed the connection after", "of the"};
    QTest::newRow("closed without answer") << S::CloseWithoutAnswer << F::ConnectionClosed
                                           << QStringList{"closed the connection without answering"};
}

void TestFetcher::failures()
{
    QFETCH(ResponderScenario, scenario);
    QFETCH(FetchFailure, failure);
    QFETCH(QStringList, contains);
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    responder.setPathScenario(QStringLiteral("/some.ocsp"), scenario);
    responder.serve(QStringLiteral("/some.ocsp"), pki.goodStaple(), "application/ocsp-response");
    const FetchResult r = fetchOne(get(FetchKind::OcspResponse, responder.baseUrl() + QStringLiteral("/some.ocsp")));
    QCOMPARE(fetchFailureName(r.failure), fetchFailureName(failure));
    QVERIFY(r.body.isEmpty());
    for (const QString& fragment : contains)
        QVERIFY2(r.error.contains(fragment), qPrintable(r.error));
}

void TestFetcher::sizeCapDependsOnKind()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    responder.setOversizeBytes(100 * 1024);
    responder.setPathScenario(QStringLiteral("/big"), ResponderScenario::Oversized);
    responder.serve(QStringLiteral("/big"), "x", "application/octet-stream");
    const QString url = responder.baseUrl() + QStringLiteral("/big");
    // 100 KiB is over the 64 KiB of a certificate, well under the 32 MiB of a CRL.
    const FetchResult asCert = fetchOne(get(FetchKind::Certificate, url));
    QCOMPARE(asCert.failure, FetchFailure::TooLarge);
    QVERIFY2(asCert.error.contains(QLatin1String("64 KiB a certificate")), qPrintable(asCert.error));
    const FetchResult asCrl = fetchOne(get(FetchKind::Crl, url));
    QVERIFY2(asCrl.ok(), qPrintable(asCrl.error));
    QCOMPARE(asCrl.body.size(), 100 * 1024);
    QCOMPARE(maxBodyBytes(FetchKind::Crl), 32 * 1024 * 1024);
}

void TestFetcher::hostNotFound()
{
    // .invalid never resolves (RFC 6761); the resolver says so at once.
    const FetchResult r = fetchOne(get(FetchKind::OcspResponse, QStringLiteral("http://ocsp.staplescope.invalid/")));
    QCOMPARE(r.failure, FetchFailure::HostNotFound);
    QVERIFY2(r.error.contains(QLatin1String("ocsp.staplescope.invalid could not be resolved (DNS)")), qPrintable(r.error));
}

void TestFetcher::connectionRefused()
{
    const quint16 port = closedPort();
    const FetchResult r = fetchOne(get(FetchKind::OcspResponse, QStringLiteral("http://127.0.0.1:%1/").arg(port)));
    QCOMPARE(r.failure, FetchFailure::ConnectionRefused);
    QCOMPARE(r.error, QStringLiteral("127.0.0.1:%1 refused the connection").arg(port));
}

void TestFetcher::connectTimeoutWhenNothingAnswers()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    responder.setSlowMs(3000);
    responder.setPathScenario(QStringLiteral("/slow"), ResponderScenario::Slow);
    FetchOptions o = quickOptions();
    o.connectTimeoutMs = 300;
    const FetchResult r = fetchOne(get(FetchKind::OcspResponse, responder.baseUrl() + QStringLiteral("/slow")), o);
    QCOMPARE(r.failure, FetchFailure::Timeout);
    QVERIFY2(r.error.contains(QStringLiteral("127.0.0.1:%1 did not answer within 0.3 s").arg(responder.port())), qPrintable(r.error));
}

void TestFetcher::totalTimeoutWhenTheBodyTrickles()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    responder.setPathScenario(QStringLiteral("/trickle"), ResponderScenario::SlowBody);
    responder.serve(QStringLiteral("/trickle"), QByteArray(100, 'x'), "application/pkix-crl");
    FetchOptions o = quickOptions();
    o.totalTimeoutMs = 400;
    const FetchResult r = fetchOne(get(FetchKind::Crl, responder.baseUrl() + QStringLiteral("/trickle")), o);
    QCOMPARE(r.failure, FetchFailure::Timeout);
    QVERIFY2(r.error.contains(QLatin1String("did not complete within 0.4 s")), qPrintable(r.error));
}

void TestFetcher::nonHttpUrlsAreRefused()
{
    HttpFetcher fetcher(quickOptions());
    const auto results = fetcher.fetchAll({get(FetchKind::OcspResponse, QStringLiteral("https://ocsp.example.test/")),
                                           get(FetchKind::Crl, QStringLiteral("ldap://ldap.example.test/cn=CA?crl")),
                                           get(FetchKind::Crl, QStringLiteral("not a url"))});
    QCOMPARE(results.size(), 3);
    for (const FetchResult& r : results)
        QCOMPARE(r.failure, FetchFailure::InvalidUrl);
    QVERIFY2(results[0].error.contains(QLatin1String("plain http:// only")), qPrintable(results[0].error));
    QVERIFY2(results[1].error.contains(QLatin1String("a ldap: URL; only http:// URLs are fetched")), qPrintable(results[1].error));
}

void TestFetcher::redirects()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const FetchResult three = fetchOne(get(FetchKind::Certificate, responder.redirectingUrl(QStringLiteral("/issuer.der"), 3)));
    QVERIFY2(three.ok(), qPrintable(three.error));
    QCOMPARE(three.body, pki.intermediate.certDer());
    QCOMPARE(three.finalUrl, QUrl(responder.issuerUrl()));
    QCOMPARE(responder.requestCount(), 4);

    const FetchResult four = fetchOne(get(FetchKind::Certificate, responder.redirectingUrl(QStringLiteral("/issuer.der"), 4)));
    QCOMPARE(four.failure, FetchFailure::TooManyRedirects);
    QVERIFY2(four.error.contains(QLatin1String("more than 3 redirects")), qPrintable(four.error));

    // A POST keeps its method and body through a 302 (as curl does for OCSP).
    responder.clearRequests();
    FetchRequest post = get(FetchKind::OcspResponse, responder.redirectingUrl(QStringLiteral("/ocsp"), 1));
    post.postBody = PkiFactory::ocspRequestDer(pki.leaf, pki.intermediate);
    post.postContentType = "application/ocsp-request";
    const FetchResult posted = fetchOne(post);
    QVERIFY2(posted.ok(), qPrintable(posted.error));
    QCOMPARE(responder.requests().last().method, QByteArray("POST"));
    QCOMPARE(responder.requests().last().body, post.postBody);
}

void TestFetcher::identicalRequestsAreMadeOnce()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    HttpFetcher fetcher(quickOptions());
    const FetchRequest request = get(FetchKind::Crl, responder.crlUrl());
    const QList<FetchResult> results = fetcher.fetchAll(QList<FetchRequest>(10, request));
    QCOMPARE(results.size(), 10);
    QCOMPARE(responder.requestCount(), 1);
    for (const FetchResult& r : results)
        QVERIFY2(r.ok(), qPrintable(r.error));
    QCOMPARE(results[0].fromCache, false);
    QCOMPARE(results[9].fromCache, true);
    QCOMPARE(results[9].body, results[0].body);

    // A later call on the same fetcher reuses the result; a new fetcher asks again.
    const FetchResult again = fetcher.fetchAll({request}).value(0);
    QVERIFY(again.ok() && again.fromCache);
    QCOMPARE(responder.requestCount(), 1);
    HttpFetcher other(quickOptions());
    QVERIFY(!other.fetchAll({request}).value(0).fromCache);
    QCOMPARE(responder.requestCount(), 2);

    // A POST with another body is another request.
    FetchRequest a = get(FetchKind::OcspResponse, responder.ocspUrl());
    a.postContentType = "application/ocsp-request";
    a.postBody = PkiFactory::ocspRequestDer(pki.leaf, pki.intermediate);
    FetchRequest b = a;
    b.postBody = PkiFactory::ocspRequestDer(pki.intermediate, pki.root);
    fetcher.fetchAll({a, b, a});
    QCOMPARE(responder.requestCount(), 4);
}

void TestFetcher::concurrencyIsBoundedAndConnectionsReused()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    responder.setLatencyMs(30);
    QList<FetchRequest> requests;
    for (int i = 0; i < 9; ++i)
        requests << get(FetchKind::Certificate, responder.issuerUrl() + QStringLiteral("?n=%1").arg(i));

    // One at a time: every request on the one kept-alive connection.
    FetchOptions serial = quickOptions();
    serial.maxConcurrent = 1;
    int progressCalls = 0, lastDone = 0;
    const auto results = HttpFetcher(serial).fetchAll(requests, nullptr, [&](int done, int total) {
        ++progressCalls;
        lastDone = done;
        QCOMPARE(total, 9);
    });
    for (const FetchResult& r : results)
        QVERIFY2(r.ok(), qPrintable(r.error));
    QCOMPARE(responder.requestCount(), 9);
    QCOMPARE(responder.connectionCount(), 1);
    QCOMPARE(progressCalls, 9);
    QCOMPARE(lastDone, 9);

    // Three at a time: Qt would open up to six connections to one host; we never have more than
    // three requests in flight, so no more than three connections are needed.
    FetchOptions three = quickOptions();
    three.maxConcurrent = 3;
    for (const FetchResult& r : HttpFetcher(three).fetchAll(requests))
        QVERIFY2(r.ok(), qPrintable(r.error));
    QCOMPARE(responder.requestCount(), 18);
    QVERIFY2(responder.connectionCount() - 1 <= 3, qPrintable(QString::number(responder.connectionCount())));
}

void TestFetcher::proxyFromEnvironment()
{
    TestPki pki;
    TestResponder proxy(pki), direct(pki);
    QVERIFY(proxy.start());
    QVERIFY(direct.start());
    FetchOptions o = quickOptions();
    o.proxyFromEnvironment = true;
    const QString url = direct.issuerUrl();
    {
        ScopedEnv env{{"http_proxy", proxy.baseUrl().toLatin1()}, {"no_proxy", "localhost,.example.org"}};
        const FetchResult r = fetchOne(get(FetchKind::Certificate, url), o);
        QVERIFY2(r.ok(), qPrintable(r.error));
        QCOMPARE(r.proxy, QStringLiteral("127.0.0.1:%1").arg(proxy.port()));
        QCOMPARE(direct.requestCount(), 0);
        QCOMPARE(proxy.requestCount(), 1);
        const ResponderRequest seen = proxy.requests().value(0);
        QVERIFY(seen.absoluteForm);
        QCOMPARE(seen.target, url.toLatin1());
    }
    {
        // no_proxy names the host: straight there.
        ScopedEnv env{{"http_proxy", proxy.baseUrl().toLatin1()}, {"no_proxy", "example.org, 127.0.0.1"}};
        const FetchResult r = fetchOne(get(FetchKind::Certificate, url), o);
        QVERIFY2(r.ok(), qPrintable(r.error));
        QVERIFY(r.proxy.isEmpty());
        QCOMPARE(direct.requestCount(), 1);
        QCOMPARE(proxy.requestCount(), 1);
    }
    {
        // A proxy that is down is named as such.
        const quint16 port = closedPort();
        ScopedEnv env{{"http_proxy", QByteArray("http://127.0.0.1:") + QByteArray::number(port)}};
        const FetchResult r = fetchOne(get(FetchKind::Certificate, url), o);
        QCOMPARE(r.failure, FetchFailure::ProxyFailed);
        QVERIFY2(r.error.contains(QStringLiteral("proxy 127.0.0.1:%1").arg(port)), qPrintable(r.error));
    }
    {
        // proxyFromEnvironment = false ignores it.
        ScopedEnv env{{"http_proxy", proxy.baseUrl().toLatin1()}};
        QVERIFY(fetchOne(get(FetchKind::Certificate, url)).ok());
        QCOMPARE(direct.requestCount(), 2);
        QCOMPARE(proxy.requestCount(), 1);
    }
}

void TestFetcher::environmentProxyRules()
{
    ScopedEnv env{{"http_proxy", "proxy.corp:3128"}, {"HTTP_PROXY", {}}, {"https_proxy", {}}, {"HTTPS_PROXY", "http://sec.corp:8443"},
                  {"no_proxy", "internal.test, .lan,10.0.0.1:80"}};
    QCOMPARE(environmentProxyFor(QUrl("http://ocsp.example.test/")), QUrl("http://proxy.corp:3128"));
    QCOMPARE(environmentProxyFor(QUrl("https://ocsp.example.test/")), QUrl("http://sec.corp:8443"));
    QVERIFY(environmentProxyFor(QUrl("http://internal.test/")).isEmpty());
    QVERIFY(environmentProxyFor(QUrl("http://ocsp.internal.test/")).isEmpty());
    QVERIFY(environmentProxyFor(QUrl("http://crl.lan/")).isEmpty());
    QVERIFY(environmentProxyFor(QUrl("http://10.0.0.1/")).isEmpty());
    QVERIFY(!environmentProxyFor(QUrl("http://notinternal.test/")).isEmpty());
    {
        ScopedEnv all{{"no_proxy", "*"}};
        QVERIFY(environmentProxyFor(QUrl("http://ocsp.example.test/")).isEmpty());
    }
    {
        // Like curl: the uppercase HTTP_PROXY is not read for http (a CGI header can set it).
        ScopedEnv upper{{"http_proxy", {}}, {"HTTP_PROXY", "http://evil.test:80"}};
        QVERIFY(environmentProxyFor(QUrl("http://ocsp.example.test/")).isEmpty());
    }
}

void TestFetcher::worksOnWorkerThreads()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const FetchRequest request = get(FetchKind::Certificate, responder.issuerUrl());
    std::atomic<int> ok{0};
    // A QThreadPool worker (the window's jobs) …
    QThreadPool pool;
    for (int i = 0; i < 3; ++i)
        pool.start([&] {
            if (fetchOne(request).ok())
                ++ok;
        });
    pool.waitForDone();
    // … and a plain std::thread.
    std::thread plain([&] {
        if (fetchOne(request).ok())
            ++ok;
    });
    plain.join();
    QCOMPARE(ok.load(), 4);
    QCOMPARE(responder.requestCount(), 4);
}

void TestFetcher::cancelStopsWaiting()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    responder.setSlowMs(20000);
    responder.setDefaultScenario(ResponderScenario::Slow);
    responder.setPathScenario(QStringLiteral("/slow"), ResponderScenario::Slow);
    std::atomic<bool> cancel{false};
    FetchOptions o = quickOptions();
    o.connectTimeoutMs = 20000;
    o.totalTimeoutMs = 20000;
    o.maxConcurrent = 1;
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        cancel = true;
    });
    HttpFetcher fetcher(o);
    QElapsedTimer clock;
    clock.start();
    const auto results = fetcher.fetchAll({get(FetchKind::Crl, responder.baseUrl() + QStringLiteral("/slow")),
                                           get(FetchKind::Crl, responder.baseUrl() + QStringLiteral("/slow?2"))},
                                          &cancel);
    canceller.join();
    QCOMPARE(results.size(), 2);
    QCOMPARE(results[0].failure, FetchFailure::Cancelled);
    QCOMPARE(results[1].failure, FetchFailure::Cancelled);
    QVERIFY(clock.elapsed() < 15000); // bounded by the cancel, not by the 20 s timeouts
}

QTEST_GUILESS_MAIN(TestFetcher)
#include "tst_fetcher.moc"
