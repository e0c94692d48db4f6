// The exporter (core/serve, `staplescope-cli serve`): its configuration file and allow-list, the
// HTTP answers (400, 403, 404, 405, 408, 431, 503), /probe against a loopback TLS server that
// staples, /metrics re-reading files, the probe bounds (concurrency, queue, Prometheus' scrape
// timeout), every exposition checked by `promtool check metrics`, and the real Prometheus
// scraping `serve` (/metrics, and /probe through relabeling), the alert rules with promtool.
// Everything on 127.0.0.1 and free ports.

#include "Exporter.h"
#include "HttpRequestHead.h"
#include "LivePki.h"
#include "LoopbackServer.h"
#include "Certificate.h"
#include "OcspStaple.h"
#include "RealServers.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

using namespace staplescope;
using namespace staplescope::test;

namespace {

// A blocking loopback TCP client for one exchange; run off the event loop's thread.
int connectTo(quint16 port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

struct HttpAnswer {
    int status = 0;
    QByteArray head;
    QByteArray body;
    bool closedByServer = false;
};

// Reads one answer: until Content-Length is complete, the server closes, or `timeoutMs`.
HttpAnswer readAnswer(int fd, int timeoutMs)
{
    HttpAnswer answer;
    QByteArray data;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;) {
        const qsizetype end = data.indexOf("\r\n\r\n");
        if (end >= 0) {
            const QRegularExpression lengthField(QStringLiteral("(?im)^content-length:\\s*(\\d+)"));
            const auto match = lengthField.match(QString::fromLatin1(data.left(end)));
            if (match.hasMatch() && data.size() >= end + 4 + match.captured(1).toLongLong())
                break;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0)
            break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, int(left)) <= 0)
            continue;
        char chunk[8192];
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
            answer.closedByServer = true;
            break;
        }
        data.append(chunk, n);
    }
    const qsizetype end = data.indexOf("\r\n\r\n");
    answer.head = end < 0 ? data : data.left(end);
    answer.body = end < 0 ? QByteArray() : data.mid(end + 4);
    const QList<QByteArray> statusLine = answer.head.left(answer.head.indexOf("\r\n")).split(' ');
    answer.status = statusLine.value(1).toInt();
    return answer;
}

// Sends `request` (raw bytes) on a new connection and reads the answer, on another thread.
std::future<HttpAnswer> exchangeAsync(quint16 port, const QByteArray& request, int timeoutMs = 15000)
{
    return std::async(std::launch::async, [port, request, timeoutMs] {
        HttpAnswer answer;
        const int fd = connectTo(port);
        if (fd < 0)
            return answer;
        ::send(fd, request.constData(), size_t(request.size()), MSG_NOSIGNAL);
        answer = readAnswer(fd, timeoutMs);
        ::close(fd);
        return answer;
    });
}

// Waits for an answer while the exporter's event loop (this thread's) keeps running.
HttpAnswer await(std::future<HttpAnswer>& future, int timeoutMs = 20000)
{
    const bool ready = QTest::qWaitFor([&] { return future.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready; },
                                       timeoutMs);
    return ready ? future.get() : HttpAnswer{};
}

HttpAnswer get(quint16 port, const QByteArray& target, const QByteArray& extraFields = {})
{
    auto future = exchangeAsync(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + extraFields + "\r\n");
    return await(future);
}

QByteArray probeTarget(quint16 port, const QString& serverName = {})
{
    QByteArray target = "/probe?target=" + QUrl::toPercentEncoding(QStringLiteral("127.0.0.1:%1").arg(port));
    if (!serverName.isEmpty())
        target += "&servername=" + QUrl::toPercentEncoding(serverName);
    return target;
}

// The value of the first sample of `family` whose labels contain every `labelFragments`; NaN if none.
double sampleValue(const QByteArray& exposition, const QString& family, const QStringList& labelFragments = {})
{
    for (const QByteArray& raw : exposition.split('\n')) {
        const QString line = QString::fromUtf8(raw);
        if (line.startsWith(QLatin1Char('#')))
            continue;
        if (!line.startsWith(family + QLatin1Char('{')) && !line.startsWith(family + QLatin1Char(' ')))
            continue;
        bool all = true;
        for (const QString& fragment : labelFragments)
            all &= line.contains(fragment);
        if (all)
            return line.section(QLatin1Char(' '), -1).toDouble();
    }
    return std::numeric_limits<double>::quiet_NaN();
}

// `promtool check metrics` on an exposition: empty when it passes, else what promtool said.
QString promtoolProblem(const QByteArray& exposition)
{
    QProcess promtool;
    promtool.setProcessChannelMode(QProcess::MergedChannels);
    promtool.start(findServer(QStringLiteral("promtool")), {QStringLiteral("check"), QStringLiteral("metrics")});
    promtool.write(exposition);
    promtool.closeWriteChannel();
    if (!promtool.waitForFinished(20000)) {
        promtool.kill();
        return QStringLiteral("promtool did not finish");
    }
    if (promtool.exitStatus() == QProcess::NormalExit && promtool.exitCode() == 0)
        return {};
    return QStringLiteral("promtool check metrics failed (%1): %2").arg(promtool.exitCode()).arg(QString::fromUtf8(promtool.readAll()));
}

qint64 nextUpdateOf(const QByteArray& stapleDer)
{
    const auto parsed = OcspStaple::fromDer(stapleDer, SourceLocation{});
    return parsed.staple.responses().value(0).nextUpdate.toSecsSinceEpoch();
}

// A server that accepts and then says nothing until released (or stopped).
class SilentServer {
public:
    SilentServer()
        : m_server([this](Connection& c) {
              while (!m_released && !c.stopping())
                  std::this_thread::sleep_for(std::chrono::milliseconds(10));
          })
    {
    }
    quint16 start() { return m_server.start(); }
    void release() { m_released = true; }

private:
    std::atomic<bool> m_released{false};
    LoopbackServer m_server;
};

} // namespace

class TestServe : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        m_pki = makeLivePki(QDateTime::currentDateTimeUtc().addSecs(-5));
        QVERIFY(m_dir.isValid());
        m_rootFile = LivePki::write(m_dir.path(), QStringLiteral("root.pem"), m_pki.root.certPem());
        m_havePromtool = !findServer(QStringLiteral("promtool")).isEmpty();
    }

    void configFile_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QString>("problem"); // empty: accepted

        QTest::newRow("every setting") << QByteArray("# comment\n\npath = /etc/ssl/a b#c\nallow-target = 127.0.0.1:*\n"
                                                     "warn-days = 21\ncrit-days=7\nstaple-warn-hours = 48\nstaple-crit-hours = 12\n"
                                                     "ignore = staple_missing\nmax-concurrent-probes = 4\nprobe-timeout = 2.5\n"
                                                     "system-trust = no\nca-file = /x.pem\n")
                                       << QString();
        QTest::newRow("unknown key") << QByteArray("path = /a\nwarn-dayz = 3\n") << QStringLiteral("serve.conf:2: unknown setting 'warn-dayz'");
        QTest::newRow("no equals") << QByteArray("\n\n\npath /a\n") << QStringLiteral("serve.conf:4: 'path /a' is not 'key = value'");
        QTest::newRow("bad number") << QByteArray("crit-days = soon\n") << QStringLiteral("serve.conf:1: crit-days 'soon' is not a number of days");
        QTest::newRow("bad glob") << QByteArray("allow-target = *\n") << QStringLiteral("serve.conf:1: allow-target '*' is not HOST:PORT");
        QTest::newRow("glob with slash") << QByteArray("allow-target = a/b:443\n") << QStringLiteral("serve.conf:1: allow-target 'a/b:443' may contain only");
        QTest::newRow("unknown code") << QByteArray("ignore = NOT_A_CODE\n") << QStringLiteral("serve.conf:1: ignore 'NOT_A_CODE' is not a finding code");
        QTest::newRow("unbounded probes") << QByteArray("max-concurrent-probes = 100000\n")
                                          << QStringLiteral("serve.conf:1: max-concurrent-probes '100000' is not a whole number from 1 to 256");
        QTest::newRow("empty value") << QByteArray("path =\n") << QStringLiteral("serve.conf:1: 'path' has no value");
    }

    void configFile()
    {
        QFETCH(QByteArray, text);
        QFETCH(QString, problem);
        ExporterConfig config;
        const QString got = parseExporterConfig(text, QStringLiteral("serve.conf"), config);
        if (problem.isEmpty()) {
            QVERIFY2(got.isEmpty(), qPrintable(got));
            QCOMPARE(config.paths, QStringList{QStringLiteral("/etc/ssl/a b#c")});
            QCOMPARE(config.ignoreCodes, QStringList{QStringLiteral("STAPLE_MISSING")});
            const AnalysisOptions options = config.analysisOptions();
            QCOMPARE(options.expiryWarningSeconds, std::optional<qint64>(21 * 86400));
            QCOMPARE(options.expiryCriticalSeconds, std::optional<qint64>(7 * 86400));
            QCOMPARE(options.stapleWarningSeconds, std::optional<qint64>(48 * 3600));
            QCOMPARE(options.stapleCriticalSeconds, std::optional<qint64>(12 * 3600));
            QCOMPARE(config.probeTimeoutMs, 2500);
            QCOMPARE(config.maxConcurrentProbes, 4);
            QVERIFY(!config.useSystemTrust);
        } else {
            QVERIFY2(got.startsWith(problem), qPrintable(got));
        }
    }

    void allowList_data()
    {
        QTest::addColumn<QString>("host");
        QTest::addColumn<int>("port");
        QTest::addColumn<QStringList>("globs");
        QTest::addColumn<bool>("allowed");
        const QStringList usual{QStringLiteral("127.0.0.1:*"), QStringLiteral("*.example.org:443")};
        QTest::newRow("loopback any port") << "127.0.0.1" << 8443 << usual << true;
        QTest::newRow("other loopback address") << "127.0.0.2" << 443 << usual << false;
        QTest::newRow("subdomain on 443") << "mail.EXAMPLE.org" << 443 << usual << true;
        QTest::newRow("subdomain on another port") << "mail.example.org" << 8443 << usual << false;
        QTest::newRow("the domain itself is not *.") << "example.org" << 443 << usual << false;
        QTest::newRow("suffix trick") << "example.org.evil.test" << 443 << usual << false;
        QTest::newRow("lookalike") << "mailexample.org" << 443 << usual << false;
        QTest::newRow("none configured") << "127.0.0.1" << 443 << QStringList{} << false;
        QTest::newRow("ipv6 bracketed") << "::1" << 993 << QStringList{QStringLiteral("[::1]:*")} << true;
        QTest::newRow("ipv6 spelled long") << "0:0::1" << 993 << QStringList{QStringLiteral("[::1]:993")} << true;
        QTest::newRow("question mark") << "127.0.0.1" << 9443 << QStringList{QStringLiteral("127.0.0.1:?443")} << true;
    }

    void allowList()
    {
        QFETCH(QString, host);
        QFETCH(int, port);
        QFETCH(QStringList, globs);
        QFETCH(bool, allowed);
        for (const QString& glob : globs)
            QVERIFY2(allowTargetProblem(glob).isEmpty(), qPrintable(allowTargetProblem(glob)));
        QCOMPARE(targetAllowed(canonicalTarget(host, quint16(port)), globs), allowed);
    }

    void requestHeadReader()
    {
        // Byte by byte, as the slowest client sends it: complete exactly at the empty line, and
        // the pipelined bytes after it are left for the next request.
        const QByteArray first = "\r\nGET /probe?target=a%3A1 HTTP/1.1\r\nHost: x\r\nConnection: Close\r\nX-Prometheus-Scrape-Timeout-Seconds:  9 \r\n\r\n";
        const QByteArray wire = first + "GET / HTTP/1.0\r\n\r\n";
        HttpRequestHeadReader reader(1024, 8);
        QByteArray received;
        HttpRequestHeadReader::State state = HttpRequestHeadReader::State::NeedMore;
        for (qsizetype i = 0; i < wire.size() && state == HttpRequestHeadReader::State::NeedMore; ++i) {
            received += wire[i];
            state = reader.read(received);
        }
        QCOMPARE(state, HttpRequestHeadReader::State::Complete);
        QCOMPARE(reader.consumed(), first.size());
        QCOMPARE(reader.head().method, QByteArray("GET"));
        QCOMPARE(reader.head().target, QByteArray("/probe?target=a%3A1"));
        QCOMPARE(reader.head().field("x-prometheus-scrape-timeout-seconds"), QByteArray("9"));
        QVERIFY(!reader.head().keepAlive());

        reader.reset();
        QCOMPARE(reader.read("GET / HTTP/1.0\r\n\r\n"), HttpRequestHeadReader::State::Complete);
        QVERIFY(!reader.head().keepAlive()); // HTTP/1.0 closes unless it asks for keep-alive
        reader.reset();
        QCOMPARE(reader.read("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"), HttpRequestHeadReader::State::Failed);
        QCOMPARE(reader.failureStatus(), 400); // folded lines
        reader.reset();
        QCOMPARE(reader.read("GET / HTTP/1.1\r\n1: a\r\n2: a\r\n3: a\r\n4: a\r\n5: a\r\n6: a\r\n7: a\r\n8: a\r\n9: a\r\n\r\n"),
                 HttpRequestHeadReader::State::Failed);
        QCOMPARE(reader.failureStatus(), 431); // more lines than allowed
        reader.reset();
        QCOMPARE(reader.read("GET http://elsewhere/ HTTP/1.1\r\n\r\n"), HttpRequestHeadReader::State::Failed);
        QCOMPARE(reader.failureStatus(), 400); // absolute form: this is no proxy
        reader.reset();
        QCOMPARE(reader.read("GET /" + QByteArray(1100, 'a')), HttpRequestHeadReader::State::Failed);
        QCOMPARE(reader.failureStatus(), 431);
    }

    void httpErrors()
    {
        ExporterConfig config;
        config.allowTargets = {QStringLiteral("127.0.0.1:*")};
        config.maxHeaderBytes = 2048;
        Exporter exporter(config);
        QVERIFY(exporter.listen(QHostAddress::LocalHost, 0, nullptr));
        const quint16 port = exporter.serverPort();
        QStringList log;
        exporter.setRequestLog([&log](const QString& line) { log << line; });

        const HttpAnswer forbidden = get(port, "/probe?target=127.0.0.2%3A443");
        QCOMPARE(forbidden.status, 403);
        QCOMPARE(forbidden.body, QByteArray("target 127.0.0.2:443 matches no --allow-target pattern\n"));
        QCOMPARE(get(port, "/probe?target=127.0.0.1:443&servername=a%2Fb").status, 400);
        QCOMPARE(get(port, "/probe").status, 400);
        QCOMPARE(get(port, "/probe?target=127.0.0.1:443&starttls=gopher").status, 400);
        QCOMPARE(get(port, "/probe?target=127.0.0.1:443&module=tls").status, 400);
        QCOMPARE(get(port, "/probe?target=127.0.0.1:443&target=127.0.0.1:444").status, 400);
        QCOMPARE(get(port, "/probe?target=http%3A%2F%2Fx%2F").status, 400);
        QCOMPARE(get(port, "/nothing-here").status, 404);

        auto post = exchangeAsync(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
        const HttpAnswer notAllowed = await(post);
        QCOMPARE(notAllowed.status, 405);
        QVERIFY(notAllowed.head.contains("Allow: GET, HEAD"));
        auto garbage = exchangeAsync(port, "HELLO\r\n\r\n");
        QCOMPARE(await(garbage).status, 400);
        auto http2 = exchangeAsync(port, "GET / HTTP/2.0\r\n\r\n");
        QCOMPARE(await(http2).status, 505);
        auto withBody = exchangeAsync(port, "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
        QCOMPARE(await(withBody).status, 400);
        auto huge = exchangeAsync(port, "GET / HTTP/1.1\r\nX-Filler: " + QByteArray(4000, 'a') + "\r\n\r\n");
        const HttpAnswer tooLarge = await(huge);
        QCOMPARE(tooLarge.status, 431);
        QVERIFY(tooLarge.closedByServer || tooLarge.head.contains("Connection: close"));

        // HEAD: the head of the index page, no body.
        auto head = exchangeAsync(port, "HEAD / HTTP/1.0\r\n\r\n");
        const HttpAnswer index = await(head);
        QCOMPARE(index.status, 200);
        QVERIFY(index.head.contains("Content-Type: text/html"));
        QVERIFY(index.body.isEmpty());
        QVERIFY(get(port, "/").body.contains("/probe?target=HOST:PORT"));

        // Keep-alive: two requests on one connection, each answered.
        auto twoRequests = std::async(std::launch::async, [port] {
            const int fd = connectTo(port);
            const QByteArray request = "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n";
            ::send(fd, request.constData(), size_t(request.size()), MSG_NOSIGNAL);
            const HttpAnswer first = readAnswer(fd, 10000);
            ::send(fd, request.constData(), size_t(request.size()), MSG_NOSIGNAL);
            const HttpAnswer second = readAnswer(fd, 10000);
            ::close(fd);
            return HttpAnswer{first.status * 1000 + second.status, {}, {}, false};
        });
        QCOMPARE(await(twoRequests).status, 404404);

        // One log line per answered request; the request target is escaped, never raw.
        QVERIFY(!log.isEmpty());
        QVERIFY2(log.first().contains(QStringLiteral("\"GET /probe?target=127.0.0.2%3A443\" 403")), qPrintable(log.first()));
        QCOMPARE(exporter.counters().rejectedTargets, 1);
    }

    void noAllowListRefusesEverything()
    {
        Exporter exporter(ExporterConfig{});
        QVERIFY(exporter.listen(QHostAddress::LocalHost, 0, nullptr));
        const HttpAnswer answer = get(exporter.serverPort(), "/probe?target=127.0.0.1:443");
        QCOMPARE(answer.status, 403);
        QVERIFY(answer.body.contains("no --allow-target pattern is configured"));
    }

    void slowClientAndConnectionLimit()
    {
        ExporterConfig config;
        config.readTimeoutMs = 300;
        Exporter impatient(config);
        QVERIFY(impatient.listen(QHostAddress::LocalHost, 0, nullptr));

        // Half a request line, then silence: 408 and the connection is closed.
        auto slow = exchangeAsync(impatient.serverPort(), "GET /metr");
        const HttpAnswer timedOut = await(slow);
        QCOMPARE(timedOut.status, 408);
        QVERIFY(timedOut.closedByServer || timedOut.head.contains("Connection: close"));
        QTRY_COMPARE(impatient.counters().connections, 0);

        // Two connections held open (a read timeout long enough to keep them); the third gets
        // 503 without being read.
        config.readTimeoutMs = 30000;
        config.maxConnections = 2;
        Exporter limited(config);
        QVERIFY(limited.listen(QHostAddress::LocalHost, 0, nullptr));
        const quint16 port = limited.serverPort();
        const int a = connectTo(port);
        const int b = connectTo(port);
        QVERIFY(a >= 0 && b >= 0);
        QTRY_COMPARE(limited.counters().connections, 2);
        auto third = exchangeAsync(port, "GET / HTTP/1.1\r\n\r\n");
        const HttpAnswer refused = await(third);
        QCOMPARE(refused.status, 503);
        QVERIFY(refused.body.contains("max-connections"));
        ::close(a);
        ::close(b);
        QTRY_COMPARE(limited.counters().connections, 0);
        QCOMPARE(get(port, "/").status, 200);
    }

    void probeLiveServer()
    {
        if (!m_havePromtool)
            QSKIP("promtool is not installed (Debian package prometheus; scripts/dev test installs it)");
        TlsServerConfig tls;
        tls.leaf = m_pki.leaf;
        tls.chain = {m_pki.ca};
        tls.staple = m_pki.leafStaple;
        LoopbackServer server(tlsHandler(makeServerContext(tls)));
        const quint16 tlsPort = server.start();
        QVERIFY(tlsPort);

        ExporterConfig config;
        config.allowTargets = {QStringLiteral("127.0.0.1:*")};
        config.caFiles = {m_rootFile};
        config.useSystemTrust = false;
        Exporter exporter(config);
        QVERIFY(exporter.listen(QHostAddress::LocalHost, 0, nullptr));

        const HttpAnswer answer = get(exporter.serverPort(), probeTarget(tlsPort, m_pki.hostName));
        QCOMPARE(answer.status, 200);
        QVERIFY(answer.head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"));
        QCOMPARE(sampleValue(answer.body, QStringLiteral("staplescope_probe_success")), 1.0);
        QCOMPARE(qint64(sampleValue(answer.body, QStringLiteral("staplescope_staple_next_update"),
                                    {QStringLiteral("target=\"127.0.0.1:%1\"").arg(tlsPort)})),
                 nextUpdateOf(m_pki.leafStaple));
        QCOMPARE(qint64(sampleValue(answer.body, QStringLiteral("staplescope_cert_not_after"), {QStringLiteral("role=\"leaf\"")})),
                 Certificate::fromDer(m_pki.leaf.certDer(), SourceLocation{}).notAfter().toSecsSinceEpoch());
        QVERIFY(sampleValue(answer.body, QStringLiteral("staplescope_probe_duration_seconds")) > 0);
        const QString problem = promtoolProblem(answer.body);
        QVERIFY2(problem.isEmpty(), qPrintable(problem));
        QCOMPARE(exporter.counters().probesSucceeded, 1);

        // A port nothing listens on: answered, probe_success 0, also valid for promtool.
        const quint16 closedPort = freePort();
        const HttpAnswer refused = get(exporter.serverPort(), probeTarget(closedPort));
        QCOMPARE(refused.status, 200);
        QCOMPARE(sampleValue(refused.body, QStringLiteral("staplescope_probe_success")), 0.0);
        QCOMPARE(sampleValue(refused.body, QStringLiteral("staplescope_finding"), {QStringLiteral("code=\"CONNECT_FAILED\"")}), 1.0);
        QVERIFY2(promtoolProblem(refused.body).isEmpty(), qPrintable(promtoolProblem(refused.body)));
    }

    void metricsRereadsFiles()
    {
        if (!m_havePromtool)
            QSKIP("promtool is not installed (Debian package prometheus; scripts/dev test installs it)");
        QTemporaryDir files;
        LivePki::write(files.path(), QStringLiteral("fullchain.pem"), m_pki.fullchainPem(m_pki.leaf));
        const QString staplePath = LivePki::write(files.path(), QStringLiteral("ocsp.der"), m_pki.olderLeafStaple);

        ExporterConfig config;
        config.paths = {files.path()};
        config.caFiles = {m_rootFile};
        config.useSystemTrust = false;
        Exporter exporter(config);
        QVERIFY(exporter.listen(QHostAddress::LocalHost, 0, nullptr));

        const HttpAnswer first = get(exporter.serverPort(), "/metrics");
        QCOMPARE(first.status, 200);
        QCOMPARE(qint64(sampleValue(first.body, QStringLiteral("staplescope_staple_next_update"),
                                    {QStringLiteral("path=\"%1\"").arg(files.path())})),
                 nextUpdateOf(m_pki.olderLeafStaple));
        QVERIFY(sampleValue(first.body, QStringLiteral("staplescope_scrape_duration_seconds")) >= 0);
        QVERIFY2(promtoolProblem(first.body).isEmpty(), qPrintable(promtoolProblem(first.body)));

        // The staple is refreshed on disk: the next scrape reads it again.
        LivePki::write(files.path(), QStringLiteral("ocsp.der"), m_pki.leafStaple);
        QVERIFY(QFileInfo(staplePath).size() == m_pki.leafStaple.size());
        const HttpAnswer second = get(exporter.serverPort(), "/metrics");
        QCOMPARE(qint64(sampleValue(second.body, QStringLiteral("staplescope_staple_next_update"))), nextUpdateOf(m_pki.leafStaple));
        QVERIFY(nextUpdateOf(m_pki.leafStaple) != nextUpdateOf(m_pki.olderLeafStaple));
        QVERIFY2(promtoolProblem(second.body).isEmpty(), qPrintable(promtoolProblem(second.body)));
    }

    void probesAreBounded()
    {
        SilentServer silent;
        const quint16 slowPort = silent.start();
        QVERIFY(slowPort);
        ExporterConfig config;
        config.allowTargets = {QStringLiteral("127.0.0.1:*")};
        config.maxConcurrentProbes = 1;
        config.maxQueuedProbes = 1;
        config.probeTimeoutMs = 60000;
        config.useSystemTrust = false;
        Exporter exporter(config);
        QVERIFY(exporter.listen(QHostAddress::LocalHost, 0, nullptr));
        const quint16 port = exporter.serverPort();
        const QByteArray request = "GET " + probeTarget(slowPort) + " HTTP/1.1\r\nConnection: close\r\n\r\n";

        auto running = exchangeAsync(port, request, 30000);
        QTRY_COMPARE(exporter.counters().probesRunning, 1);
        auto queued = exchangeAsync(port, request, 30000);
        QTRY_COMPARE(exporter.counters().probesQueued, 1);
        // One running, one waiting: the next is refused at once instead of piling up.
        const HttpAnswer busy = get(port, probeTarget(slowPort));
        QCOMPARE(busy.status, 503);
        QVERIFY(busy.body.startsWith("busy: 1 probes running and 1 waiting"));
        // /metrics still answers while probes hold every slot, and says so.
        const HttpAnswer metrics = get(port, "/metrics");
        QCOMPARE(sampleValue(metrics.body, QStringLiteral("staplescope_exporter_probes_in_flight")), 1.0);
        QCOMPARE(sampleValue(metrics.body, QStringLiteral("staplescope_exporter_probes_queued")), 1.0);
        QCOMPARE(sampleValue(metrics.body, QStringLiteral("staplescope_exporter_busy_rejections_total")), 1.0);

        // The server closes its connections: both probes end, failed, one after the other.
        silent.release();
        const HttpAnswer first = await(running, 30000);
        const HttpAnswer second = await(queued, 30000);
        QCOMPARE(first.status, 200);
        QCOMPARE(second.status, 200);
        QCOMPARE(sampleValue(first.body, QStringLiteral("staplescope_probe_success")), 0.0);
        QCOMPARE(sampleValue(second.body, QStringLiteral("staplescope_probe_success")), 0.0);
        QCOMPARE(exporter.counters().probesFailed, 2);
        QCOMPARE(exporter.counters().probesRunning, 0);
    }

    void scrapeTimeoutBoundsTheProbe()
    {
        SilentServer silent; // never released: only the deadline ends the probe
        const quint16 slowPort = silent.start();
        QVERIFY(slowPort);
        ExporterConfig config;
        config.allowTargets = {QStringLiteral("127.0.0.1:*")};
        config.probeTimeoutMs = 600000; // far beyond the wait below: only the header can end the probe in time
        config.useSystemTrust = false;
        Exporter exporter(config);
        QVERIFY(exporter.listen(QHostAddress::LocalHost, 0, nullptr));

        auto probe = exchangeAsync(exporter.serverPort(),
                                   "GET " + probeTarget(slowPort) + " HTTP/1.1\r\nX-Prometheus-Scrape-Timeout-Seconds: 1.2\r\n"
                                   "Connection: close\r\n\r\n");
        const HttpAnswer answer = await(probe, 15000);
        QCOMPARE(answer.status, 200);
        QCOMPARE(sampleValue(answer.body, QStringLiteral("staplescope_probe_success")), 0.0);
        QCOMPARE(exporter.counters().probesTimedOut, 1);
        const HttpAnswer metrics = get(exporter.serverPort(), "/metrics");
        QCOMPARE(sampleValue(metrics.body, QStringLiteral("staplescope_exporter_probes_total"), {QStringLiteral("result=\"timeout\"")}), 1.0);
        if (m_havePromtool)
            QVERIFY2(promtoolProblem(answer.body).isEmpty(), qPrintable(promtoolProblem(answer.body)));
    }

    void commandLine()
    {
        const QString cli = qEnvironmentVariable("STAPLESCOPE_CLI");
        if (cli.isEmpty())
            QSKIP("STAPLESCOPE_CLI is not set (ctest sets it)");
        const auto run = [&](const QStringList& args) {
            QProcess p;
            p.start(cli, QStringList{QStringLiteral("serve")} + args);
            p.waitForFinished(10000);
            return std::make_pair(p.exitCode(), QString::fromUtf8(p.readAllStandardError()));
        };
        auto [code, err] = run({QStringLiteral("--listen"), QStringLiteral("192.0.2.1:9219")});
        QCOMPARE(code, 3);
        QVERIFY2(err.contains(QStringLiteral("not a loopback address")), qPrintable(err));
        QTemporaryDir dir;
        const QString conf = LivePki::write(dir.path(), QStringLiteral("serve.conf"), "path = /tmp\nallow-target = everything\n");
        std::tie(code, err) = run({QStringLiteral("--config"), conf});
        QCOMPARE(code, 3);
        QVERIFY2(err.contains(conf + QStringLiteral(":2: allow-target 'everything' is not HOST:PORT")), qPrintable(err));
    }

    void prometheusScrapesServe();
    void alertRules();

private:
    LivePki m_pki;
    QTemporaryDir m_dir;
    QString m_rootFile;
    bool m_havePromtool = false;
};

namespace {


// The value of an instant query's first result, or nullopt while Prometheus has none.
std::optional<double> queryPrometheus(quint16 port, const QString& query)
{
    const QByteArray body = httpGetBody(port, "/api/v1/query?query=" + QUrl::toPercentEncoding(query), 5000);
    const QJsonArray result = QJsonDocument::fromJson(body).object().value(QStringLiteral("data")).toObject().value(QStringLiteral("result")).toArray();
    if (result.isEmpty())
        return std::nullopt;
    return result.first().toObject().value(QStringLiteral("value")).toArray().at(1).toString().toDouble();
}

} // namespace

void TestServe::prometheusScrapesServe()
{
    const QString cli = qEnvironmentVariable("STAPLESCOPE_CLI");
    const QString prometheus = findServer(QStringLiteral("prometheus"));
    if (cli.isEmpty())
        QSKIP("STAPLESCOPE_CLI is not set (ctest sets it)");
    if (prometheus.isEmpty())
        QSKIP("prometheus is not installed (Debian package prometheus; scripts/dev test installs it)");

    // A loopback TLS server that staples, and the same certificate and staple as files.
    TlsServerConfig tls;
    tls.leaf = m_pki.leaf;
    tls.chain = {m_pki.ca};
    tls.staple = m_pki.leafStaple;
    LoopbackServer server(tlsHandler(makeServerContext(tls)));
    const quint16 tlsPort = server.start();
    QVERIFY(tlsPort);
    QTemporaryDir dir;
    const QString files = dir.filePath(QStringLiteral("live"));
    QVERIFY(QDir().mkpath(files));
    LivePki::write(files, QStringLiteral("fullchain.pem"), m_pki.fullchainPem(m_pki.leaf));
    LivePki::write(files, QStringLiteral("ocsp.der"), m_pki.olderLeafStaple);
    const QString conf = LivePki::write(dir.path(), QStringLiteral("serve.conf"),
                                        QStringLiteral("path = %1\nallow-target = 127.0.0.1:*\nca-file = %2\nsystem-trust = no\n")
                                            .arg(files, m_rootFile)
                                            .toUtf8());

    // staplescope-cli serve on a free port (port 0; it names the port it got).
    QProcess serve;
    serve.start(cli, {QStringLiteral("serve"), QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"), QStringLiteral("--config"), conf});
    QByteArray serveErr;
    quint16 exporterPort = 0;
    const QRegularExpression listening(QStringLiteral("listening on http://127\\.0\\.0\\.1:(\\d+)/"));
    QVERIFY(QTest::qWaitFor([&] {
        serve.waitForReadyRead(50);
        serveErr += serve.readAllStandardError();
        const auto match = listening.match(QString::fromUtf8(serveErr));
        exporterPort = match.hasMatch() ? quint16(match.captured(1).toUInt()) : 0;
        return exporterPort != 0 || serve.state() == QProcess::NotRunning;
    }, 10000));
    QVERIFY2(exporterPort, serveErr.constData());

    // Prometheus scraping /metrics, and /probe with the blackbox_exporter relabeling.
    const quint16 prometheusPort = freePort();
    const QString yaml = QStringLiteral(
                             "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                             "scrape_configs:\n"
                             "  - job_name: staplescope_files\n"
                             "    static_configs:\n      - targets: ['127.0.0.1:%1']\n"
                             "  - job_name: staplescope_probe\n"
                             "    metrics_path: /probe\n"
                             "    params:\n      servername: ['%3']\n"
                             "    static_configs:\n      - targets: ['127.0.0.1:%2']\n"
                             "    relabel_configs:\n"
                             "      - source_labels: [__address__]\n        target_label: __param_target\n"
                             "      - source_labels: [__param_target]\n        target_label: instance\n"
                             "      - target_label: __address__\n        replacement: 127.0.0.1:%1\n")
                             .arg(exporterPort)
                             .arg(tlsPort)
                             .arg(m_pki.hostName);
    const QString prometheusConf = LivePki::write(dir.path(), QStringLiteral("prometheus.yml"), yaml.toUtf8());
    RealServers servers;
    QString why;
    ServerProcess* process = servers.launch(
        QStringLiteral("prometheus"), prometheus,
        {QStringLiteral("--config.file=") + prometheusConf, QStringLiteral("--storage.tsdb.path=") + dir.filePath(QStringLiteral("data")),
         QStringLiteral("--web.listen-address=127.0.0.1:%1").arg(prometheusPort), QStringLiteral("--log.level=warn")},
        dir.path(), prometheusPort, &why);
    QVERIFY2(process, qPrintable(why));

    // The staple's nextUpdate, as Prometheus stored it from each job.
    std::optional<double> probed, fromFiles;
    QVERIFY(QTest::qWaitFor([&] {
        probed = queryPrometheus(prometheusPort, QStringLiteral("staplescope_staple_next_update{job=\"staplescope_probe\"}"));
        fromFiles = queryPrometheus(prometheusPort, QStringLiteral("staplescope_staple_next_update{job=\"staplescope_files\"}"));
        return probed && fromFiles;
    }, 20000));
    QCOMPARE(qint64(*probed), nextUpdateOf(m_pki.leafStaple));
    QCOMPARE(qint64(*fromFiles), nextUpdateOf(m_pki.olderLeafStaple));
    QCOMPARE(queryPrometheus(prometheusPort, QStringLiteral("staplescope_probe_success{instance=\"127.0.0.1:%1\"}").arg(tlsPort)),
             std::optional<double>(1));
    QCOMPARE(queryPrometheus(prometheusPort, QStringLiteral("up{job=\"staplescope_files\"}")), std::optional<double>(1));
    servers.stopAll();

    // SIGTERM stops serve cleanly: exit 0, after one log line per request it answered.
    serve.terminate();
    QVERIFY(serve.waitForFinished(10000));
    serveErr += serve.readAllStandardError();
    QCOMPARE(serve.exitStatus(), QProcess::NormalExit);
    QCOMPARE(serve.exitCode(), 0);
    QVERIFY2(serveErr.contains("serve: stopped"), serveErr.constData());
    QVERIFY2(serveErr.contains("\"GET /probe?servername=mail.example.test&target=127.0.0.1%3A"), serveErr.constData());
    QVERIFY2(!serveErr.contains("PRIVATE KEY"), serveErr.constData());
}

void TestServe::alertRules()
{
    const QString promtool = findServer(QStringLiteral("promtool"));
    if (promtool.isEmpty())
        QSKIP("promtool is not installed (Debian package prometheus; scripts/dev test installs it)");
    const QString rules = QStringLiteral(STAPLESCOPE_SOURCE_DIR "/packaging/prometheus/staplescope-rules.yml");
    const QString tests = QStringLiteral(STAPLESCOPE_SOURCE_DIR "/packaging/prometheus/staplescope-rules.test.yml");
    for (const QStringList& args : {QStringList{QStringLiteral("check"), QStringLiteral("rules"), rules},
                                    QStringList{QStringLiteral("test"), QStringLiteral("rules"), tests}}) {
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(promtool, args);
        QVERIFY(p.waitForFinished(30000));
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0, p.readAll().constData());
    }
}

QTEST_GUILESS_MAIN(TestServe)
#include "tst_serve.moc"
