// The HTTP fetcher (core/net/HttpFetcher) and the online lookups (core/net/OnlineLookup) against
// the loopback responder (tests/support/TestResponder): every failure mode, GET and POST, proxies,
// redirects, deduplication, bounded concurrency and connection reuse; issuers and CRLs.

#include "HttpFetcher.h"
#include "NetText.h"
#include "OnlineLookup.h"
#include "RealServers.h"
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

// A port nothing listens on: free a moment ago, and nothing binds it.
quint16 closedPort() { return freePort(); }

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

Certificate asCert(const IssuedCert& c, const QString& path = QStringLiteral("/etc/ssl/site/cert.pem"))
{
    SourceLocation where;
    where.path = path;
    return Certificate::fromDer(c.certDer(), where);
}

OnlineOptions quickOnline()
{
    OnlineOptions o;
    o.fetch = quickOptions();
    return o;
}

// The one finding with `code`, or a default one (code empty) when there is none or several.
Finding only(const QList<Finding>& findings, const char* code)
{
    Finding found;
    int n = 0;
    for (const Finding& f : findings)
        if (f.code == QLatin1String(code)) {
            found = f;
            ++n;
        }
    return n == 1 ? found : Finding{};
}

QString describe(const QList<Finding>& findings)
{
    QStringList lines;
    for (const Finding& f : findings)
        lines << QStringLiteral("%1 %2: %3").arg(f.code, severityName(f.severity), f.message);
    return lines.join(QLatin1Char('\n'));
}

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

    // OCSP requests and responses
    void ocspRequestGetAndPost();
    void longRequestsArePosted();
    void sha256CertId();
    void nonce();
    void delegatedSigner();
    void unsuccessfulStatusesComeBackForJudging();
    void ocspFailuresBecomeFindings_data();
    void ocspFailuresBecomeFindings();
    void noResponderUrl();
    void optionParsing();

    // Issuers from CA Issuers URLs
    void issuerFetched_data();
    void issuerFetched();
    void wrongIssuerRefused();
    void issuerFetchFailures();

    // CRLs
    void crlNotListed();
    void crlRevoked();
    void crlExpired();
    void crlNotFromIssuer();
    void crlFetchFailures();
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
    QVERIFY2(responder.maxRequestsInFlight() <= 3, qPrintable(QString::number(responder.maxRequestsInFlight())));

    // More than Qt's six connections per host: the bound still holds (how close a run comes to it
    // depends on timing, so it is printed, not asserted).
    QList<FetchRequest> many;
    for (int i = 0; i < 30; ++i)
        many << get(FetchKind::Certificate, responder.issuerUrl() + QStringLiteral("?m=%1").arg(i));
    TestResponder wide(pki);
    QVERIFY(wide.start());
    wide.setLatencyMs(30);
    for (FetchRequest& r : many)
        r.url = QUrl(wide.issuerUrl() + QLatin1Char('?') + r.url.query());
    FetchOptions twelve = quickOptions();
    twelve.maxConcurrent = 12;
    for (const FetchResult& r : HttpFetcher(twelve).fetchAll(many))
        QVERIFY2(r.ok(), qPrintable(r.error));
    QCOMPARE(wide.requestCount(), 30);
    QVERIFY2(wide.maxRequestsInFlight() <= 12, qPrintable(QString::number(wide.maxRequestsInFlight())));
    QVERIFY(wide.connectionCount() <= 12);
    qInfo("maxConcurrent 12: %d requests in flight at most, over %d connections", wide.maxRequestsInFlight(),
          wide.connectionCount());
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

void TestFetcher::ocspRequestGetAndPost()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const IssuedCert leaf = responder.issueLeaf();
    const Certificate cert = asCert(leaf), issuer = asCert(pki.intermediate, QStringLiteral("/etc/ssl/site/chain.pem"));

    // Auto: a SHA-1 request fits RFC 5019's 255 bytes, so GET.
    const OcspRequestBuild build = buildOcspRequest(cert, issuer, {});
    QVERIFY2(build.error.isEmpty(), qPrintable(build.error));
    QVERIFY(build.fetch.postBody.isEmpty());
    QVERIFY(build.fetch.url.toEncoded().size() <= 255);
    QVERIFY(build.fetch.url.toEncoded().startsWith(responder.ocspUrl().toLatin1() + "/"));
    QVERIFY(build.nonce.isEmpty());

    OnlineLookup online(quickOnline());
    const OcspLookup got = online.fetchOcsp({{cert, issuer}}).value(0);
    QVERIFY2(got.findings.isEmpty(), qPrintable(describe(got.findings)));
    QVERIFY(!got.response.isNull());
    QCOMPARE(got.responder, QUrl(responder.ocspUrl()));
    QCOMPARE(got.response.responses().size(), 1);
    QCOMPARE(got.response.responses()[0].status, OcspCertStatus::Good);
    QVERIFY(got.response.responses()[0].certId.matches(cert, issuer));
    QCOMPARE(got.response.responses()[0].certId.hashNid, NID_sha1);
    ResponderRequest seen = responder.requests().last();
    QVERIFY(seen.ocspGet);
    QCOMPARE(seen.method, QByteArray("GET"));
    QCOMPARE(seen.ocspRequestDer, build.der);

    // Forced POST.
    OnlineOptions postOptions = quickOnline();
    postOptions.ocsp.method = OcspRequestOptions::Method::Post;
    const OcspLookup posted = OnlineLookup(postOptions).fetchOcsp({{cert, issuer}}).value(0);
    QVERIFY2(!posted.response.isNull(), qPrintable(describe(posted.findings)));
    seen = responder.requests().last();
    QCOMPARE(seen.method, QByteArray("POST"));
    QCOMPARE(seen.contentType, QByteArray("application/ocsp-request"));
    QCOMPARE(seen.path, QByteArray("/ocsp"));
    QCOMPARE(seen.ocspRequestDer, build.der);
    QCOMPARE(responder.ocspRequestCount(), 2);
}

void TestFetcher::longRequestsArePosted()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const IssuedCert leaf = responder.issueLeaf();
    const Certificate cert = asCert(leaf), issuer = asCert(pki.intermediate);
    // A responder URL so long that the GET form passes 255 bytes.
    OcspRequestOptions options;
    options.responder = QUrl(responder.baseUrl() + QLatin1Char('/') + QString(150, QLatin1Char('p')) + QStringLiteral("/ocsp"));
    const OcspRequestBuild auto_ = buildOcspRequest(cert, issuer, options);
    QVERIFY(ocspGetUrl(options.responder, auto_.der).toEncoded().size() > 255);
    QCOMPARE(auto_.fetch.postBody, auto_.der);
    QCOMPARE(auto_.fetch.url, options.responder);
    OnlineOptions online = quickOnline();
    online.ocsp = options;
    const OcspLookup got = OnlineLookup(online).fetchOcsp({{cert, issuer}}).value(0);
    QVERIFY2(!got.response.isNull(), qPrintable(describe(got.findings)));
    QCOMPARE(responder.requests().last().method, QByteArray("POST"));

    // Forced GET even so.
    options.method = OcspRequestOptions::Method::Get;
    online.ocsp = options;
    const OcspLookup viaGet = OnlineLookup(online).fetchOcsp({{cert, issuer}}).value(0);
    QVERIFY2(!viaGet.response.isNull(), qPrintable(describe(viaGet.findings)));
    QCOMPARE(responder.requests().last().method, QByteArray("GET"));
    QCOMPARE(responder.requests().last().ocspRequestDer, auto_.der);
}

void TestFetcher::sha256CertId()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const Certificate cert = asCert(responder.issueLeaf()), issuer = asCert(pki.intermediate);
    OnlineOptions o = quickOnline();
    o.ocsp.certIdHash = QStringLiteral("sha256");
    const OcspLookup got = OnlineLookup(o).fetchOcsp({{cert, issuer}}).value(0);
    QVERIFY2(!got.response.isNull(), qPrintable(describe(got.findings)));
    // The responder answers with the CertID it was asked about.
    QCOMPARE(got.response.responses()[0].certId.hashNid, NID_sha256);
    QVERIFY(got.response.responses()[0].certId.matches(cert, issuer));
    o.ocsp.certIdHash = QStringLiteral("md5");
    const OcspRequestBuild bad = buildOcspRequest(cert, issuer, o.ocsp);
    QVERIFY(bad.error.contains(QLatin1String("unknown CertID hash \"md5\"")));
}

void TestFetcher::nonce()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const IssuedCert leaf = responder.issueLeaf();
    const Certificate cert = asCert(leaf), issuer = asCert(pki.intermediate);
    OnlineOptions o = quickOnline();
    o.ocsp.nonce = true;

    const OcspRequestBuild build = buildOcspRequest(cert, issuer, o.ocsp);
    QCOMPARE(build.nonce.size(), 16);
    QVERIFY(build.der.contains(build.nonce));
    QVERIFY(buildOcspRequest(cert, issuer, o.ocsp).nonce != build.nonce);

    const OcspLookup echoed = OnlineLookup(o).fetchOcsp({{cert, issuer}}).value(0);
    QVERIFY2(!echoed.response.isNull(), qPrintable(describe(echoed.findings)));
    QVERIFY(echoed.nonceEchoed);
    QVERIFY(echoed.findings.isEmpty());
    QVERIFY(echoed.response.verifySignature(issuer)); // signed again with the nonce in it

    // Left out (what most CA responders do): accepted, and said.
    responder.setEchoNonce(false);
    const OcspLookup omitted = OnlineLookup(o).fetchOcsp({{cert, issuer}}).value(0);
    QVERIFY(!omitted.response.isNull());
    QVERIFY(!omitted.nonceEchoed);
    QVERIFY(omitted.findings.isEmpty());

    // Another nonce: not used.
    responder.setScenario(leaf, ResponderScenario::WrongNonce);
    const OcspLookup wrong = OnlineLookup(o).fetchOcsp({{cert, issuer}}).value(0);
    QVERIFY(wrong.response.isNull());
    const Finding f = only(wrong.findings, "OCSP_FETCH_FAILED");
    QCOMPARE(f.severity, Severity::Error);
    QVERIFY2(f.message.contains(QLatin1String("nonce other than the one sent")), qPrintable(f.message));

    // Without --nonce the request carries none, and a response's nonce is not looked at.
    o.ocsp.nonce = false;
    const OcspLookup plain = OnlineLookup(o).fetchOcsp({{cert, issuer}}).value(0);
    QVERIFY(!plain.response.isNull());
    QVERIFY(plain.findings.isEmpty());
}

void TestFetcher::delegatedSigner()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    responder.setDelegatedSigner(true);
    const Certificate cert = asCert(responder.issueLeaf()), issuer = asCert(pki.intermediate);
    const OcspLookup got = OnlineLookup(quickOnline()).fetchOcsp({{cert, issuer}}).value(0);
    QVERIFY(!got.response.isNull());
    QVERIFY(got.response.isResponder(asCert(pki.responder)));
    QVERIFY(!got.response.isResponder(issuer));
    QVERIFY(got.response.verifySignature(asCert(pki.responder)));
}

void TestFetcher::unsuccessfulStatusesComeBackForJudging()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const IssuedCert a = responder.issueLeaf(), b = responder.issueLeaf(), c = responder.issueLeaf(), d = responder.issueLeaf();
    responder.setScenario(a, ResponderScenario::TryLater);
    responder.setScenario(b, ResponderScenario::Revoked);
    responder.setScenario(c, ResponderScenario::Unknown);
    const IssuedCert stranger = pki.issueLeaf({}, nullptr); // a certificate the responder does not know
    const Certificate issuer = asCert(pki.intermediate);
    OnlineLookup online(quickOnline());
    const auto lookups = online.fetchOcsp({{asCert(a), issuer}, {asCert(b), issuer}, {asCert(c), issuer}, {asCert(d), issuer}});
    QCOMPARE(lookups.size(), 4);
    for (const OcspLookup& l : lookups) {
        QVERIFY2(l.findings.isEmpty(), qPrintable(describe(l.findings)));
        QVERIFY(!l.response.isNull());
    }
    QCOMPARE(lookups[0].response.responseStatusName(), QStringLiteral("tryLater"));
    QCOMPARE(lookups[1].response.responses()[0].status, OcspCertStatus::Revoked);
    QCOMPARE(lookups[1].response.responses()[0].revocationReasonName, QStringLiteral("keyCompromise"));
    QCOMPARE(lookups[2].response.responses()[0].status, OcspCertStatus::Unknown);
    QCOMPARE(lookups[3].response.responses()[0].status, OcspCertStatus::Good);
    QCOMPARE(responder.ocspRequestCount(), 4);
    Q_UNUSED(stranger);
}

void TestFetcher::ocspFailuresBecomeFindings_data()
{
    QTest::addColumn<ResponderScenario>("scenario");
    QTest::addColumn<QStringList>("contains");
    using S = ResponderScenario;
    QTest::newRow("HTTP 500") << S::Http500 << QStringList{"answered HTTP 500 Internal Server Error"};
    QTest::newRow("HTML error page") << S::HtmlErrorPage << QStringList{"HTTP 503", "\"503 Service Temporarily Unavailable\""};
    QTest::newRow("wrong content type") << S::WrongContentType << QStringList{"content type text/html"};
    QTest::newRow("oversized") << S::Oversized << QStringList{"more than the 64 KiB an OCSP response may have"};
    QTest::newRow("garbage") << S::Garbage << QStringList{"answered HTTP 200 with 21 bytes (application/ocsp-response) that are not an OCSP response"};
    QTest::newRow("slow") << S::Slow << QStringList{"did not answer within 0.3 s"};
    QTest::newRow("redirect loop") << S::RedirectLoop << QStringList{"redirect loop"};
    QTest::newRow("closed mid-body") << S::ClosedMidBody << QStringList{"closed the connection after"};
}

void TestFetcher::ocspFailuresBecomeFindings()
{
    QFETCH(ResponderScenario, scenario);
    QFETCH(QStringList, contains);
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    responder.setSlowMs(3000);
    const IssuedCert leaf = responder.issueLeaf();
    responder.setScenario(leaf, scenario);
    OnlineOptions o = quickOnline();
    o.fetch.connectTimeoutMs = 300;
    o.ocsp.method = OcspRequestOptions::Method::Post; // the redirect loop needs a stable URL
    const OcspLookup got = OnlineLookup(o).fetchOcsp({{asCert(leaf), asCert(pki.intermediate)}}).value(0);
    QVERIFY(got.response.isNull());
    const Finding f = only(got.findings, "OCSP_FETCH_FAILED");
    QCOMPARE(f.severity, Severity::Error);
    QVERIFY2(f.message.contains(QStringLiteral("OCSP responder %1").arg(responder.ocspUrl())), qPrintable(f.message));
    for (const QString& fragment : contains)
        QVERIFY2(f.message.contains(fragment), qPrintable(f.message));
    QVERIFY(f.subject.contains(QLatin1String("/etc/ssl/site/cert.pem: www.example.test")));
    QCOMPARE(f.remedy.kind, RemedyKind::RetryFetch);
    QCOMPARE(f.remedy.url, responder.ocspUrl());
    if (scenario == ResponderScenario::Garbage)
        dumpExample(f, responder.baseUrl(), QStringLiteral("http://ocsp.example.test"), QStringLiteral("responder sends garbage"));
}

void TestFetcher::noResponderUrl()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const IssuedCert leaf = responder.issueLeaf([](CertSpec& s) { s.ocspUrls.clear(); });
    const OcspLookup got = OnlineLookup(quickOnline()).fetchOcsp({{asCert(leaf), asCert(pki.intermediate)}}).value(0);
    const Finding f = only(got.findings, "OCSP_FETCH_FAILED");
    QVERIFY2(f.message.contains(QLatin1String("names no OCSP responder")), qPrintable(f.message));
    QCOMPARE(responder.requestCount(), 0);
    // --responder fills in.
    OnlineOptions o = quickOnline();
    o.ocsp.responder = QUrl(responder.ocspUrl());
    const OcspLookup given = OnlineLookup(o).fetchOcsp({{asCert(leaf), asCert(pki.intermediate)}}).value(0);
    QVERIFY2(!given.response.isNull(), qPrintable(describe(given.findings)));
}

void TestFetcher::optionParsing()
{
    QCOMPARE(parseCertIdHash(QStringLiteral("SHA256")), std::optional<QString>(QStringLiteral("sha256")));
    QCOMPARE(parseCertIdHash(QStringLiteral("sha-1")), std::optional<QString>(QStringLiteral("sha1")));
    QVERIFY(!parseCertIdHash(QStringLiteral("md5")));
    QCOMPARE(parseOcspMethod(QStringLiteral("POST")), std::optional(OcspRequestOptions::Method::Post));
    QCOMPARE(parseOcspMethod(QStringLiteral("get")), std::optional(OcspRequestOptions::Method::Get));
    QVERIFY(!parseOcspMethod(QStringLiteral("put")));
}

void TestFetcher::issuerFetched_data()
{
    QTest::addColumn<int>("format");
    QTest::newRow("DER") << int(TestResponder::IssuerFormat::Der);
    QTest::newRow("PEM") << int(TestResponder::IssuerFormat::Pem);
    QTest::newRow("PKCS#7 DER") << int(TestResponder::IssuerFormat::Pkcs7Der);
    QTest::newRow("PKCS#7 PEM") << int(TestResponder::IssuerFormat::Pkcs7Pem);
}

void TestFetcher::issuerFetched()
{
    QFETCH(int, format);
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const QString url = responder.issuerUrl(TestResponder::IssuerFormat(format));
    const IssuedCert leaf = responder.issueLeaf([&](CertSpec& s) { s.caIssuerUrls = {url}; });
    const IssuerLookup got = OnlineLookup(quickOnline()).fetchIssuers({asCert(leaf)}).value(0);
    QVERIFY2(!got.issuer.isNull(), qPrintable(describe(got.findings)));
    QCOMPARE(got.issuer.der(), pki.intermediate.certDer());
    QCOMPARE(got.issuer.source().path, url);
    QVERIFY(got.issuer.source().served);
    const Finding f = only(got.findings, "ISSUER_FETCHED");
    QCOMPARE(f.severity, Severity::Info);
    QVERIFY2(f.message.contains(QStringLiteral("fetched from %1").arg(url)), qPrintable(f.message));
    QVERIFY(f.message.contains(QLatin1String("Staplescope Test Intermediate")));
    QCOMPARE(got.findings.size(), 1);
    if (format == int(TestResponder::IssuerFormat::Der))
        dumpExample(f, responder.baseUrl(), QStringLiteral("http://ca.example.test"), QStringLiteral("issuer fetched (DER)"));
}

void TestFetcher::wrongIssuerRefused()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    // A re-keyed CA: same name, another key. Only the signature tells it apart.
    const QString url = responder.serveCertificate(QStringLiteral("/rekeyed.der"), pki.rekeyedIntermediate());
    const IssuedCert leaf = responder.issueLeaf([&](CertSpec& s) { s.caIssuerUrls = {url}; s.authorityKeyId = false; });
    const IssuerLookup got = OnlineLookup(quickOnline()).fetchIssuers({asCert(leaf)}).value(0);
    QVERIFY(got.issuer.isNull());
    const Finding f = only(got.findings, "ISSUER_FETCH_FAILED");
    QCOMPARE(f.severity, Severity::Warning);
    QVERIFY2(f.message.contains(QStringLiteral("%1 serves CN=Staplescope Test Intermediate").arg(url)), qPrintable(f.message));
    QVERIFY2(f.message.contains(QLatin1String("which did not sign this certificate")), qPrintable(f.message));
    QCOMPARE(f.remedy.kind, RemedyKind::RetryFetch);
    dumpExample(f, responder.baseUrl(), QStringLiteral("http://ca.example.test"), QStringLiteral("CA Issuers URL serves a re-keyed CA"));

    // Another CA altogether.
    const IssuedCert other = pki.otherCa();
    const QString otherUrl = responder.serveCertificate(QStringLiteral("/other.der"), other);
    const IssuedCert leaf2 = responder.issueLeaf([&](CertSpec& s) { s.caIssuerUrls = {otherUrl}; });
    const IssuerLookup got2 = OnlineLookup(quickOnline()).fetchIssuers({asCert(leaf2)}).value(0);
    QVERIFY(got2.issuer.isNull());
    QVERIFY(only(got2.findings, "ISSUER_FETCH_FAILED").message.contains(QLatin1String("did not sign")));
}

void TestFetcher::issuerFetchFailures()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    responder.serve(QStringLiteral("/garbage.der"), "definitely not a certificate", "application/pkix-cert");
    responder.setPathScenario(QStringLiteral("/down.der"), ResponderScenario::Http500);
    const IssuedCert garbage = responder.issueLeaf([&](CertSpec& s) { s.caIssuerUrls = {responder.baseUrl() + "/garbage.der"}; });
    const IssuedCert down = responder.issueLeaf([&](CertSpec& s) { s.caIssuerUrls = {responder.baseUrl() + "/down.der"}; });
    const IssuedCert none = responder.issueLeaf([&](CertSpec& s) { s.caIssuerUrls.clear(); });
    // Two URLs: the first fails, the second serves it.
    const IssuedCert second = responder.issueLeaf(
        [&](CertSpec& s) { s.caIssuerUrls = {responder.baseUrl() + "/down.der", responder.issuerUrl()}; });
    const auto got = OnlineLookup(quickOnline()).fetchIssuers({asCert(garbage), asCert(down), asCert(none), asCert(second)});
    QCOMPARE(got.size(), 4);
    QVERIFY(only(got[0].findings, "ISSUER_FETCH_FAILED").message.contains(QLatin1String("28 bytes that are no certificate (DER, PEM or PKCS#7)")));
    QVERIFY2(only(got[1].findings, "ISSUER_FETCH_FAILED").message.contains(QLatin1String("answered HTTP 500")),
             qPrintable(describe(got[1].findings)));
    QVERIFY(only(got[2].findings, "ISSUER_FETCH_FAILED").message.contains(QLatin1String("names no CA Issuers URL")));
    QVERIFY(!got[3].issuer.isNull());
    QVERIFY(!only(got[3].findings, "ISSUER_FETCHED").code.isEmpty());
    // /down.der was asked once for both certificates.
    int downRequests = 0;
    for (const ResponderRequest& r : responder.requests())
        downRequests += r.path == "/down.der";
    QCOMPARE(downRequests, 1);
}

void TestFetcher::crlNotListed()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const IssuedCert leaf = responder.issueLeaf();
    const IssuedCert revokedOther = responder.issueLeaf();
    responder.setScenario(revokedOther, ResponderScenario::Revoked);
    const CrlLookup got = OnlineLookup(quickOnline()).checkCrls({{asCert(leaf), asCert(pki.intermediate)}}, pki.now()).value(0);
    QVERIFY(!got.crl.isNull());
    QCOMPARE(got.crl.revokedCount(), 1);
    QCOMPARE(got.crl.source().path, responder.crlUrl());
    QCOMPARE(got.findings.size(), 1);
    const Finding f = only(got.findings, "REVOCATION_CHECKED");
    QCOMPARE(f.severity, Severity::Info);
    QVERIFY2(f.message.contains(QStringLiteral("thisUpdate %1, nextUpdate %2")
                                    .arg(formatTime(pki.now().addDays(-1)), formatTime(pki.now().addDays(6)))),
             qPrintable(f.message));
    QVERIFY(f.message.contains(QLatin1String("does not list this certificate")));
    dumpExample(f, responder.baseUrl(), QStringLiteral("http://crl.example.test"), QStringLiteral("CRL does not list the certificate"));

    // PEM is read too.
    const IssuedCert pemLeaf = responder.issueLeaf([&](CertSpec& s) { s.crlUrls = {responder.crlUrl(true)}; });
    const CrlLookup pem = OnlineLookup(quickOnline()).checkCrls({{asCert(pemLeaf), asCert(pki.intermediate)}}, pki.now()).value(0);
    QVERIFY2(!only(pem.findings, "REVOCATION_CHECKED").code.isEmpty(), qPrintable(describe(pem.findings)));
}

void TestFetcher::crlRevoked()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const IssuedCert leaf = responder.issueLeaf();
    responder.setScenario(leaf, ResponderScenario::Revoked);
    const CrlLookup got = OnlineLookup(quickOnline()).checkCrls({{asCert(leaf), asCert(pki.intermediate)}}, pki.now()).value(0);
    QVERIFY(!got.crl.isNull());
    const Finding f = only(got.findings, "CERT_REVOKED");
    QCOMPARE(f.severity, Severity::Critical);
    QVERIFY2(f.message.contains(QStringLiteral("revoked since %1 (1 day ago), reason: keyCompromise").arg(formatTime(pki.now().addDays(-1)))),
             qPrintable(f.message));
    QVERIFY(only(got.findings, "REVOCATION_CHECKED").code.isEmpty());
    // Judged at a time before the revocation: not revoked yet.
    const CrlLookup before =
        OnlineLookup(quickOnline()).checkCrls({{asCert(leaf), asCert(pki.intermediate)}}, pki.now().addDays(-2)).value(0);
    QVERIFY(only(before.findings, "CERT_REVOKED").code.isEmpty());
}

void TestFetcher::crlExpired()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    const QString url = responder.serveCrl(QStringLiteral("/old.crl"), pki.now().addDays(-10), pki.now().addDays(-3));
    const IssuedCert leaf = responder.issueLeaf([&](CertSpec& s) { s.crlUrls = {url}; });
    const CrlLookup got = OnlineLookup(quickOnline()).checkCrls({{asCert(leaf), asCert(pki.intermediate)}}, pki.now()).value(0);
    QVERIFY(!got.crl.isNull()); // still shown on the timeline
    const Finding f = only(got.findings, "CRL_EXPIRED");
    QCOMPARE(f.severity, Severity::Warning);
    QVERIFY2(f.message.contains(QLatin1String("passed its nextUpdate 3 days ago")), qPrintable(f.message));
    QVERIFY(!only(got.findings, "REVOCATION_CHECKED").code.isEmpty());
    dumpExample(f, responder.baseUrl(), QStringLiteral("http://crl.example.test"), QStringLiteral("CRL past its nextUpdate"));
}

void TestFetcher::crlNotFromIssuer()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    // Same name, other key: the signature does not verify.
    const IssuedCert rekeyed = pki.rekeyedIntermediate();
    const QString forged = responder.serveCrl(QStringLiteral("/forged.crl"), pki.now().addDays(-1), pki.now().addDays(6), {}, &rekeyed);
    const IssuedCert leaf = responder.issueLeaf([&](CertSpec& s) { s.crlUrls = {forged}; });
    const CrlLookup got = OnlineLookup(quickOnline()).checkCrls({{asCert(leaf), asCert(pki.intermediate)}}, pki.now()).value(0);
    QVERIFY(got.crl.isNull());
    const Finding f = only(got.findings, "CRL_INVALID");
    QCOMPARE(f.severity, Severity::Error);
    QVERIFY2(f.message.contains(QLatin1String("its signature does not verify with that issuer's key")), qPrintable(f.message));
    dumpExample(f, responder.baseUrl(), QStringLiteral("http://crl.example.test"), QStringLiteral("CRL signed with another key"));

    // Another CA's CRL.
    const IssuedCert other = pki.otherCa();
    const QString foreign = responder.serveCrl(QStringLiteral("/foreign.crl"), pki.now().addDays(-1), pki.now().addDays(6), {}, &other);
    const IssuedCert leaf2 = responder.issueLeaf([&](CertSpec& s) { s.crlUrls = {foreign}; });
    const CrlLookup got2 = OnlineLookup(quickOnline()).checkCrls({{asCert(leaf2), asCert(pki.intermediate)}}, pki.now()).value(0);
    QVERIFY2(only(got2.findings, "CRL_INVALID").message.contains(QLatin1String("is issued by CN=Other Test CA")),
             qPrintable(describe(got2.findings)));
}

void TestFetcher::crlFetchFailures()
{
    TestPki pki;
    TestResponder responder(pki);
    QVERIFY(responder.start());
    responder.setPathScenario(QStringLiteral("/int.crl"), ResponderScenario::HtmlErrorPage);
    const IssuedCert leaf = responder.issueLeaf();
    responder.serve(QStringLiteral("/garbage.crl"), QByteArray(40, 'x'), "application/pkix-crl");
    const IssuedCert garbage = responder.issueLeaf([&](CertSpec& s) { s.crlUrls = {responder.baseUrl() + "/garbage.crl"}; });
    const IssuedCert none = responder.issueLeaf([&](CertSpec& s) { s.crlUrls.clear(); });
    const auto got = OnlineLookup(quickOnline()).checkCrls(
        {{asCert(leaf), asCert(pki.intermediate)}, {asCert(garbage), asCert(pki.intermediate)}, {asCert(none), asCert(pki.intermediate)}},
        pki.now());
    const Finding f = only(got[0].findings, "CRL_FETCH_FAILED");
    QCOMPARE(f.severity, Severity::Warning);
    QVERIFY2(f.message.contains(QLatin1String("answered HTTP 503 Service Unavailable: \"503 Service Temporarily Unavailable\"")),
             qPrintable(f.message));
    QCOMPARE(f.remedy.url, responder.crlUrl());
    dumpExample(f, responder.baseUrl(), QStringLiteral("http://crl.example.test"), QStringLiteral("CRL server sends an error page"));
    QVERIFY(only(got[1].findings, "CRL_FETCH_FAILED").message.contains(QLatin1String("40 bytes that are no CRL (DER or PEM)")));
    QVERIFY(got[2].findings.isEmpty());
    QVERIFY(got[2].crl.isNull());
}

QTEST_GUILESS_MAIN(TestFetcher)
#include "tst_fetcher.moc"
