// Real servers on 127.0.0.1 — openssl s_server, nginx, HAProxy and Exim — started on free ports
// with a PKI generated at test time, checked with ServerCheck (what `staplescope-cli connect`
// runs), and stopped in cleanup() whatever happened. A case is skipped only when its server's
// binary is missing; the test command (scripts/dev) installs them.

#include "FindingRegistry.h"
#include "LivePki.h"
#include "LoopbackServer.h"
#include "RealServers.h"
#include "ServerCheck.h"
#include "TestClock.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <vector>

using namespace staplescope;
using namespace staplescope::test;

namespace {

QStringList codesOf(const InspectionReport& report)
{
    QStringList codes;
    for (const Finding& f : report.allFindings())
        codes << f.code;
    return codes;
}

QString describe(const InspectionReport& report)
{
    QStringList lines;
    for (const Finding& f : report.allFindings())
        lines << QStringLiteral("%1 [%2] %3").arg(f.code, severityName(f.severity), f.message);
    return lines.join(QLatin1Char('\n'));
}

Finding findingWithCode(const InspectionReport& report, const QString& code)
{
    for (const Finding& f : report.allFindings())
        if (f.code == code)
            return f;
    return {};
}

// An in-process TLS endpoint serving the live PKI's current certificate, chain and staple.
std::unique_ptr<LoopbackServer> startLoopbackTls(const LivePki& pki)
{
    TlsServerConfig config;
    config.leaf = pki.leaf;
    config.chain = {pki.ca};
    config.staple = pki.leafStaple;
    auto server = std::make_unique<LoopbackServer>(tlsHandler(makeServerContext(config)));
    return server->start() ? std::move(server) : nullptr;
}

// An in-process SMTP server that refuses STARTTLS with 454, as Exim built with GnuTLS does when
// it cannot load its tls_ocsp_file with its certificate.
std::unique_ptr<LoopbackServer> startSmtp454()
{
    auto server = std::make_unique<LoopbackServer>([](Connection& c) {
        c.sendLine("220 mx.example.test ESMTP ready");
        if (auto ehlo = c.readLine(); !ehlo || !ehlo->startsWith("EHLO "))
            return;
        c.sendLine("250-mx.example.test");
        c.sendLine("250 STARTTLS");
        if (auto starttls = c.readLine(); !starttls || *starttls != "STARTTLS")
            return;
        c.sendLine("454 TLS currently unavailable");
        c.drainUntilClosed(3000);
    });
    return server->start() ? std::move(server) : nullptr;
}

} // namespace

class TestServers : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanup();

    void sServerHealthy_data();
    void sServerHealthy();
    void compareWithAnotherSitesFiles();
    void mustStapleWithoutStaple();
    void nginxHealthy();
    void nginxServesPreviousCertificatesStaple();
    void nginxStillServesPreviousCertificate();
    void nginxServesOlderStapleThanDisk();
    void haproxyHealthy();
    void eximHealthy();
    void eximMismatchedStapleFile();
    void eximWithoutStartTls();
    void silentAndGarbageServers();
    void addressesDiffer();
    void ipv4AndIpv6Backends();
    void cliConnectNginxPreviousStaple();
    void cliConnectExim();
    // The evaluation time (a pinned clock, or --at) reaches every judgement of a check.
    void checkJudgesAtTheClocksTime();
    void staple454IsExplainedAtTheEvaluationTime();
    void cliConnectAtJudgesAtThatTime();

private:
    struct CliRun {
        int exitCode = -1;
        QString out, err;
    };
    CliRun runCli(const QStringList& arguments);
    // A fresh folder for one case, readable by server users that drop privileges (Exim).
    QString caseDir(const QString& name);
    ServerProcess* launch(const QString& name, const QString& program, const QStringList& args, const QString& dir,
                          quint16 port);
    InspectionReport check(quint16 port, std::optional<StartTlsProtocol> protocol = std::nullopt,
                           const RoleFiles& compare = {}, const QString& serverName = {});

    // Files every case uses, in m_dir.
    QString file(const QString& name) const { return QDir(m_dir.path()).filePath(name); }
    void writePkiFiles();
    QString startNginx(const QString& dir, quint16 port, const QString& fullchain, const QString& key,
                       const QString& staple);
    QString startExim(const QString& dir, quint16 port, const QString& cert, const QString& key, const QString& staple,
                      bool advertiseTls = true);

    QTemporaryDir m_dir;
    QDateTime m_now;
    LivePki m_pki;
    RealServers m_servers;
};

void TestServers::initTestCase()
{
    QVERIFY(m_dir.isValid());
    ::chmod(QFile::encodeName(m_dir.path()).constData(), 0755);
    // Real servers (HAProxy, GnuTLS in Exim) judge staples by the real clock.
    m_now = QDateTime::currentDateTimeUtc();
    m_now.setTime(QTime(m_now.time().hour(), m_now.time().minute(), m_now.time().second()));
    m_pki = makeLivePki(m_now);
    writePkiFiles();
}

void TestServers::cleanup()
{
    // Stop every server of the case that just ran, passed or failed.
    m_servers.stopAll();
}

void TestServers::writePkiFiles()
{
    const QString d = m_dir.path();
    LivePki::write(d, "root.pem", m_pki.root.certPem());
    LivePki::write(d, "ca.pem", m_pki.ca.certPem());
    LivePki::write(d, "leaf.pem", m_pki.leaf.certPem());
    LivePki::write(d, "leaf-key.pem", LivePki::keyPem(m_pki.leaf));
    LivePki::write(d, "leaf-fullchain.pem", m_pki.fullchainPem(m_pki.leaf));
    LivePki::write(d, "leaf.ocsp.der", m_pki.leafStaple);
    LivePki::write(d, "leaf-older.ocsp.der", m_pki.olderLeafStaple);
    LivePki::write(d, "previous.pem", m_pki.previousLeaf.certPem());
    LivePki::write(d, "previous-key.pem", LivePki::keyPem(m_pki.previousLeaf));
    LivePki::write(d, "previous-fullchain.pem", m_pki.fullchainPem(m_pki.previousLeaf));
    LivePki::write(d, "previous.ocsp.der", m_pki.previousStaple);
    LivePki::write(d, "muststaple.pem", m_pki.mustStapleLeaf.certPem());
    LivePki::write(d, "muststaple-key.pem", LivePki::keyPem(m_pki.mustStapleLeaf));
    for (const QString& f : QDir(d).entryList(QDir::Files))
        QFile::setPermissions(QDir(d).filePath(f), QFileDevice::ReadOwner | QFileDevice::WriteOwner
                                                       | QFileDevice::ReadGroup | QFileDevice::ReadOther);
}

QString TestServers::caseDir(const QString& name)
{
    return makeServerDir(m_dir.path(), name);
}

ServerProcess* TestServers::launch(const QString& name, const QString& program, const QStringList& args,
                                   const QString& dir, quint16 port)
{
    return m_servers.launch(name, program, args, dir, port);
}

InspectionReport TestServers::check(quint16 port, std::optional<StartTlsProtocol> protocol, const RoleFiles& compare,
                                    const QString& serverName)
{
    ServerCheckRequest request;
    request.probe.host = QStringLiteral("127.0.0.1");
    request.probe.port = port;
    request.probe.serverName = serverName.isEmpty() ? m_pki.hostName : serverName;
    request.probe.startTls = protocol.value_or(StartTlsProtocol::None);
    request.probe.stepTimeoutMs = 3000;
    request.compare = compare;
    ServerCheckOptions options;
    options.caFiles = {file("root.pem")};
    options.useSystemTrust = false;
    AnalysisOptions analysis;
    analysis.at = m_now.addSecs(60);
    const InspectionReport report = checkServers({request}, options, analysis);
    if (qEnvironmentVariableIsSet("STAPLESCOPE_TEST_VERBOSE"))
        qInfo("%s", qPrintable(describe(report)));
    return report;
}

void TestServers::sServerHealthy_data()
{
    QTest::addColumn<QString>("versionFlag");
    QTest::addColumn<QString>("version");
    QTest::newRow("TLS 1.2") << "-tls1_2" << "TLSv1.2";
    QTest::newRow("TLS 1.3") << "-tls1_3" << "TLSv1.3";
}

void TestServers::sServerHealthy()
{
    QFETCH(QString, versionFlag);
    QFETCH(QString, version);
    const QString openssl = findServer(QStringLiteral("openssl"));
    if (openssl.isEmpty())
        QSKIP("openssl is not installed");
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("s_server") + versionFlag);
    QVERIFY(launch(QStringLiteral("s_server"), openssl,
                   {"s_server", "-quiet", "-accept", QStringLiteral("127.0.0.1:%1").arg(port), "-cert", file("leaf.pem"),
                    "-key", file("leaf-key.pem"), "-cert_chain", file("ca.pem"), "-status_file", file("leaf.ocsp.der"),
                    versionFlag},
                   dir, port));

    ServerCheckRequest request;
    request.probe.host = QStringLiteral("127.0.0.1");
    request.probe.port = port;
    request.probe.serverName = m_pki.hostName;
    ServerCheckOptions options;
    options.caFiles = {file("root.pem")};
    options.useSystemTrust = false;
    const ServerCheckResult result = runServerChecks({request}, options);
    QCOMPARE(result.endpoints.size(), 1);
    QCOMPARE(result.endpoints[0].addresses.size(), 1);
    const ProbeResult& probed = result.endpoints[0].addresses[0];
    QVERIFY2(probed.tlsEstablished, qPrintable(probed.findings.value(0).message));
    QCOMPARE(probed.tlsVersion, version);
    QCOMPARE(probed.stapleDer, m_pki.leafStaple);
    QCOMPARE(probed.chainDer.size(), 2);

    AnalysisOptions analysis;
    analysis.at = m_now.addSecs(60);
    const InspectionReport report = result.session->evaluate(analysis);
    QVERIFY2(report.exitCode() == 0, qPrintable(describe(report)));
    QCOMPARE(report.bundles.size(), 1);
    QVERIFY(report.bundles[0].bundle.served);
    QCOMPARE(report.bundles[0].bundle.staples.size(), 1);
    QCOMPARE(report.bundles[0].bundle.expectedHostName, m_pki.hostName);
}

// Files for other names are another site's: never "newer" or "older" than what this server serves.
void TestServers::compareWithAnotherSitesFiles()
{
    const QString openssl = findServer(QStringLiteral("openssl"));
    if (openssl.isEmpty())
        QSKIP("openssl is not installed");
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("other-site"));
    QVERIFY(launch(QStringLiteral("s_server"), openssl,
                   {"s_server", "-quiet", "-accept", QStringLiteral("127.0.0.1:%1").arg(port), "-cert", file("leaf.pem"),
                    "-key", file("leaf-key.pem"), "-cert_chain", file("ca.pem"), "-status_file", file("leaf.ocsp.der")},
                   dir, port));
    CertSpec otherSpec;
    otherSpec.commonName = QStringLiteral("www.other.test");
    otherSpec.dnsNames = {otherSpec.commonName};
    otherSpec.notBefore = m_now.addDays(-1); // newer than the served certificate
    otherSpec.notAfter = m_now.addDays(60);
    const IssuedCert other = PkiFactory().issue(otherSpec, &m_pki.ca);
    const QString otherDir = caseDir(QStringLiteral("other-site/files"));
    LivePki::write(otherDir, "fullchain.pem", m_pki.fullchainPem(other));

    RoleFiles compare;
    compare.paths = {otherDir};
    const InspectionReport report = check(port, std::nullopt, compare);
    const QString text = describe(report);
    bool notAmong = false;
    for (const Finding& f : report.allFindings()) {
        if (f.code != QLatin1String("SERVED_DIFFERS_FROM_DISK"))
            continue;
        QVERIFY2(!f.message.contains(QLatin1String("newer")) && !f.message.contains(QLatin1String("previous")), qPrintable(text));
        notAmong = notAmong || f.title == QLatin1String("Served certificate is not among the files");
    }
    QVERIFY2(notAmong, qPrintable(text));
}

void TestServers::mustStapleWithoutStaple()
{
    const QString openssl = findServer(QStringLiteral("openssl"));
    if (openssl.isEmpty())
        QSKIP("openssl is not installed");
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("muststaple"));
    LivePki::write(dir, "chain.pem", m_pki.ca.certPem());
    QVERIFY(launch(QStringLiteral("s_server"), openssl,
                   {"s_server", "-quiet", "-accept", QStringLiteral("127.0.0.1:%1").arg(port), "-cert",
                    file("muststaple.pem"), "-key", file("muststaple-key.pem"), "-cert_chain", file("ca.pem")},
                   dir, port));
    const InspectionReport report = check(port);
    const Finding f = findingWithCode(report, QStringLiteral("STAPLE_NOT_SERVED"));
    QVERIFY2(!f.code.isEmpty(), qPrintable(describe(report)));
    QCOMPARE(f.severity, Severity::Critical);
    QVERIFY(f.message.contains(QLatin1String("must-staple")));
    QCOMPARE(report.exitCode(), 2);
}

QString TestServers::startNginx(const QString& dir, quint16 port, const QString& fullchain, const QString& key,
                                const QString& staple)
{
    NginxOptions options;
    options.dir = dir;
    options.port = port;
    options.serverName = m_pki.hostName;
    options.fullchain = fullchain;
    options.key = key;
    options.staple = staple;
    const ServerStart start = m_servers.startNginx(options);
    return start.notInstalled() ? QStringLiteral("skip") : start.problem;
}

void TestServers::nginxHealthy()
{
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("nginx-healthy"));
    const QString problem = startNginx(dir, port, file("leaf-fullchain.pem"), file("leaf-key.pem"), file("leaf.ocsp.der"));
    if (problem == QLatin1String("skip"))
        QSKIP("nginx is not installed");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    // The comparison with the same files finds no difference.
    RoleFiles compare;
    compare.certFiles = {file("leaf-fullchain.pem")};
    compare.stapleFiles = {file("leaf.ocsp.der")};
    compare.keyFiles = {file("leaf-key.pem")};
    const InspectionReport report = check(port, std::nullopt, compare);
    QVERIFY2(report.exitCode() == 0, qPrintable(describe(report)));
    QCOMPARE(report.bundles.size(), 1);
    QCOMPARE(report.bundles[0].bundle.staples.size(), 1);
}

void TestServers::nginxServesPreviousCertificatesStaple()
{
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("nginx-previous-staple"));
    const QString problem =
        startNginx(dir, port, file("leaf-fullchain.pem"), file("leaf-key.pem"), file("previous.ocsp.der"));
    if (problem == QLatin1String("skip"))
        QSKIP("nginx is not installed");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    InspectionReport report = check(port);
    Finding f = findingWithCode(report, QStringLiteral("STAPLE_FOR_OTHER_CERT"));
    QVERIFY2(!f.code.isEmpty(), qPrintable(describe(report)));
    QCOMPARE(f.severity, Severity::Critical);
    QVERIFY(f.message.contains(Certificate::fromDer(m_pki.previousLeaf.certDer(), {}).serialHex()));
    QVERIFY(f.message.contains(Certificate::fromDer(m_pki.leaf.certDer(), {}).serialHex()));
    QCOMPARE(report.exitCode(), 2);

    // With the files, the stale staple's owner is named: the previous certificate's file.
    RoleFiles compare;
    compare.paths = {file("previous.pem"), file("leaf-fullchain.pem")};
    report = check(port, std::nullopt, compare);
    f = findingWithCode(report, QStringLiteral("STAPLE_FOR_OTHER_CERT"));
    QVERIFY2(f.message.contains(QLatin1String("the previous certificate")), qPrintable(f.message));
    QVERIFY2(f.message.contains(file("previous.pem")), qPrintable(f.message));
}

void TestServers::nginxStillServesPreviousCertificate()
{
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("nginx-not-reloaded"));
    const QString problem =
        startNginx(dir, port, file("previous-fullchain.pem"), file("previous-key.pem"), file("previous.ocsp.der"));
    if (problem == QLatin1String("skip"))
        QSKIP("nginx is not installed");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    // On disk: the renewal already happened (new fullchain and its staple beside the old files).
    const QString live = caseDir(QStringLiteral("nginx-not-reloaded/live"));
    LivePki::write(live, "cert.pem", m_pki.leaf.certPem());
    LivePki::write(live, "fullchain.pem", m_pki.fullchainPem(m_pki.leaf));
    LivePki::write(live, "ocsp.der", m_pki.leafStaple);
    RoleFiles compare;
    compare.certFiles = {live + QStringLiteral("/fullchain.pem")};
    compare.stapleFiles = {live + QStringLiteral("/ocsp.der")};
    const InspectionReport report = check(port, std::nullopt, compare);
    const Finding f = findingWithCode(report, QStringLiteral("SERVED_DIFFERS_FROM_DISK"));
    QVERIFY2(!f.code.isEmpty(), qPrintable(describe(report)));
    QCOMPARE(f.severity, Severity::Error);
    QVERIFY2(f.message.contains(QStringLiteral("still serves the previous certificate (serial %1")
                                    .arg(Certificate::fromDer(m_pki.previousLeaf.certDer(), {}).serialHex())),
             qPrintable(f.message));
    QVERIFY(f.fix.contains(QLatin1String("Reload")));
}

void TestServers::nginxServesOlderStapleThanDisk()
{
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("nginx-older-staple"));
    const QString problem =
        startNginx(dir, port, file("leaf-fullchain.pem"), file("leaf-key.pem"), file("leaf-older.ocsp.der"));
    if (problem == QLatin1String("skip"))
        QSKIP("nginx is not installed");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    RoleFiles compare;
    compare.certFiles = {file("leaf-fullchain.pem")};
    compare.stapleFiles = {file("leaf.ocsp.der")};
    const InspectionReport report = check(port, std::nullopt, compare);
    const Finding f = findingWithCode(report, QStringLiteral("SERVED_DIFFERS_FROM_DISK"));
    QVERIFY2(!f.code.isEmpty(), qPrintable(describe(report)));
    QCOMPARE(f.severity, Severity::Warning);
    QVERIFY2(f.message.contains(QLatin1String("The staple on disk is newer than the one served")), qPrintable(f.message));
    QVERIFY(f.message.contains(QLatin1String("1 day")));
    QCOMPARE(report.exitCode(), 1);
}

void TestServers::haproxyHealthy()
{
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("haproxy"));
    // HAProxy's layout: certificate, chain and key in site.pem, the staple beside it as site.pem.ocsp.
    LivePki::write(dir, "site.pem", m_pki.fullchainPem(m_pki.leaf) + LivePki::keyPem(m_pki.leaf));
    LivePki::write(dir, "site.pem.ocsp", m_pki.leafStaple);
    HaproxyOptions options;
    options.dir = dir;
    options.port = port;
    options.crt = dir + QStringLiteral("/site.pem");
    const ServerStart start = m_servers.startHaproxy(options);
    if (start.notInstalled())
        QSKIP("haproxy is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    const InspectionReport report = check(port);
    QVERIFY2(report.exitCode() == 0, qPrintable(describe(report)));
    QCOMPARE(report.bundles.size(), 1);
    QCOMPARE(report.bundles[0].bundle.staples.size(), 1);
    QCOMPARE(report.bundles[0].bundle.staples[0].staple.der(), m_pki.leafStaple);
}

QString TestServers::startExim(const QString& dir, quint16 port, const QString& cert, const QString& key,
                               const QString& staple, bool advertiseTls)
{
    EximOptions options;
    options.dir = dir;
    options.port = port;
    options.hostName = m_pki.hostName;
    options.cert = cert;
    options.key = key;
    options.staple = staple;
    options.advertiseTls = advertiseTls;
    const ServerStart start = m_servers.startExim(options);
    return start.notInstalled() ? QStringLiteral("skip") : start.problem;
}

void TestServers::eximHealthy()
{
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("exim-healthy"));
    const QString problem = startExim(dir, port, file("leaf-fullchain.pem"), file("leaf-key.pem"), file("leaf.ocsp.der"));
    if (problem == QLatin1String("skip"))
        QSKIP("exim4 is not installed");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    const InspectionReport report = check(port, StartTlsProtocol::Smtp);
    QVERIFY2(report.exitCode() == 0, qPrintable(describe(report)));
    QCOMPARE(report.bundles.size(), 1);
    QCOMPARE(report.bundles[0].bundle.staples.size(), 1);
}

void TestServers::eximMismatchedStapleFile()
{
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("exim-mismatch"));
    // The incident: renewed certificate, previous certificate's staple still in tls_ocsp_file.
    const QString problem =
        startExim(dir, port, file("leaf-fullchain.pem"), file("leaf-key.pem"), file("previous.ocsp.der"));
    if (problem == QLatin1String("skip"))
        QSKIP("exim4 is not installed");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    InspectionReport report = check(port, StartTlsProtocol::Smtp);
    QCOMPARE(report.exitCode(), 2);
    const QStringList codes = codesOf(report);
    QVERIFY2(codes.contains(QStringLiteral("STARTTLS_FAILED")) || codes.contains(QStringLiteral("TLS_HANDSHAKE_FAILED")),
             qPrintable(describe(report)));

    // With the files Exim is configured with, the staple file is named as the likely cause.
    RoleFiles compare;
    compare.certFiles = {file("leaf-fullchain.pem")};
    compare.keyFiles = {file("leaf-key.pem")};
    compare.stapleFiles = {file("previous.ocsp.der")};
    report = check(port, StartTlsProtocol::Smtp, compare);
    Finding f = findingWithCode(report, QStringLiteral("STARTTLS_FAILED"));
    if (f.code.isEmpty())
        f = findingWithCode(report, QStringLiteral("TLS_HANDSHAKE_FAILED"));
    QVERIFY2(f.message.contains(QLatin1String("Likely cause: the staple file")), qPrintable(describe(report)));
    QVERIFY2(f.message.contains(file("previous.ocsp.der")), qPrintable(f.message));
    QVERIFY2(f.fix.contains(file("previous.ocsp.der")), qPrintable(f.fix));
    // The files themselves are shown too: their own finding says whose staple it is.
    QVERIFY2(codesOf(report).contains(QStringLiteral("STAPLE_FOR_OTHER_CERT")), qPrintable(describe(report)));
}

void TestServers::eximWithoutStartTls()
{
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("exim-no-tls"));
    const QString problem = startExim(dir, port, file("leaf-fullchain.pem"), file("leaf-key.pem"), QString(), false);
    if (problem == QLatin1String("skip"))
        QSKIP("exim4 is not installed");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    const InspectionReport report = check(port, StartTlsProtocol::Smtp);
    const Finding f = findingWithCode(report, QStringLiteral("STARTTLS_NOT_OFFERED"));
    QVERIFY2(!f.code.isEmpty(), qPrintable(describe(report)));
    QVERIFY2(f.message.contains(QLatin1String("PIPELINING")) || f.message.contains(QLatin1String("SIZE")),
             qPrintable(f.message));
    QCOMPARE(report.exitCode(), 2);
}

void TestServers::silentAndGarbageServers()
{
    LoopbackServer silent([](Connection& c) { c.drainUntilClosed(); });
    LoopbackServer garbage([](Connection& c) {
        c.send(QByteArray("\x7f\x45\x4c\x46 not a protocol at all\r\n"));
        c.drainUntilClosed(3000);
    });
    const quint16 silentPort = silent.start();
    const quint16 garbagePort = garbage.start();
    QList<ServerCheckRequest> requests;
    for (quint16 port : {silentPort, garbagePort}) {
        for (auto protocol : {StartTlsProtocol::None, StartTlsProtocol::Smtp}) {
            ServerCheckRequest r;
            r.probe.host = QStringLiteral("127.0.0.1");
            r.probe.port = port;
            r.probe.startTls = protocol;
            r.probe.stepTimeoutMs = 500;
            r.probe.totalTimeoutMs = 2000;
            requests << r;
        }
    }
    ServerCheckOptions options;
    options.useSystemTrust = false;
    options.maxConcurrent = 4;
    QElapsedTimer timer;
    timer.start();
    const InspectionReport report = checkServers(requests, options, AnalysisOptions{});
    QVERIFY2(timer.elapsed() < 2500, qPrintable(QString::number(timer.elapsed())));
    QCOMPARE(report.exitCode(), 2);
    QVERIFY(report.bundles.isEmpty());
    const QList<Finding> findings = report.allFindings();
    QCOMPARE(findings.size(), 4);
    QStringList summary;
    for (const Finding& f : findings)
        summary << f.code + QLatin1Char(' ') + f.subject + QLatin1Char(' ') + f.message;
    const QString all = summary.join(QLatin1Char('\n'));
    QVERIFY2(all.contains(QLatin1String("sent nothing in reply to the TLS ClientHello")), qPrintable(all));
    QVERIFY2(all.contains(QLatin1String("didn't finish sending its greeting")), qPrintable(all));
    QVERIFY2(all.contains(QLatin1String("does not speak TLS here")), qPrintable(all));
    QVERIFY2(all.contains(QLatin1String("not an SMTP reply")), qPrintable(all));
}

// One name, an IPv4 and an IPv6 backend (as A and AAAA records give): each is checked and
// reported on its own, and the difference between them is flagged.
void TestServers::ipv4AndIpv6Backends()
{
    const QString openssl = findServer(QStringLiteral("openssl"));
    if (openssl.isEmpty())
        QSKIP("openssl is not installed");
    const int probe6 = ::socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 any6{};
    any6.sin6_family = AF_INET6;
    any6.sin6_addr = in6addr_loopback;
    const bool haveIpv6 = probe6 >= 0 && ::bind(probe6, reinterpret_cast<sockaddr*>(&any6), sizeof any6) == 0;
    if (probe6 >= 0)
        ::close(probe6);
    if (!haveIpv6)
        QSKIP("no IPv6 loopback (::1) here");

    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("dual-stack"));
    QVERIFY(launch(QStringLiteral("s_server-v4"), openssl,
                   {"s_server", "-quiet", "-accept", QStringLiteral("127.0.0.1:%1").arg(port), "-cert", file("leaf.pem"),
                    "-key", file("leaf-key.pem"), "-cert_chain", file("ca.pem"), "-status_file", file("leaf.ocsp.der")},
                   dir, port));
    QVERIFY(launch(QStringLiteral("s_server-v6"), openssl,
                   {"s_server", "-quiet", "-accept", QStringLiteral("[::1]:%1").arg(port), "-cert", file("previous.pem"),
                    "-key", file("previous-key.pem"), "-cert_chain", file("ca.pem"), "-status_file", file("previous.ocsp.der")},
                   dir, port));
    // The IPv4 server already answers, so wait for the IPv6 one explicitly.
    QTRY_VERIFY_WITH_TIMEOUT(ipv6PortAccepts(port), 8000);

    ServerCheckRequest request;
    request.probe.host = m_pki.hostName;
    request.probe.port = port;
    request.probe.pinnedAddresses = {QStringLiteral("127.0.0.1"), QStringLiteral("::1")};
    ServerCheckOptions options;
    options.caFiles = {file("root.pem")};
    options.useSystemTrust = false;
    AnalysisOptions analysis;
    analysis.at = m_now.addSecs(60);
    const InspectionReport report = checkServers({request}, options, analysis);
    const QString text = describe(report);
    QVERIFY2(report.bundles.size() == 2, qPrintable(text));
    QStringList origins{report.bundles[0].bundle.origin, report.bundles[1].bundle.origin};
    origins.sort();
    QCOMPARE(origins[0], QStringLiteral("%1:%2 [127.0.0.1]").arg(m_pki.hostName).arg(port));
    QCOMPARE(origins[1], QStringLiteral("%1:%2 [::1]").arg(m_pki.hostName).arg(port));
    const Finding differ = findingWithCode(report, QStringLiteral("ADDRESSES_DIFFER"));
    QVERIFY2(differ.message.contains(QLatin1String("::1")), qPrintable(text));
}

void TestServers::addressesDiffer()
{
    // Two backends of one name: 127.0.0.1 serves the current certificate, 127.0.0.2 the previous.
    TlsServerConfig current;
    current.leaf = m_pki.leaf;
    current.chain = {m_pki.ca};
    current.staple = m_pki.leafStaple;
    TlsServerConfig stale = current;
    stale.leaf = m_pki.previousLeaf;
    stale.staple = m_pki.previousStaple;
    LoopbackServer a(tlsHandler(makeServerContext(current)));
    LoopbackServer b(tlsHandler(makeServerContext(stale)));
    const quint16 port = a.start("127.0.0.1");
    QVERIFY(port);
    if (!b.start("127.0.0.2", port))
        QSKIP("127.0.0.2 is not usable here");

    ServerCheckRequest request;
    request.probe.host = m_pki.hostName;
    request.probe.port = port;
    request.probe.pinnedAddresses = {QStringLiteral("127.0.0.1"), QStringLiteral("127.0.0.2")};
    ServerCheckOptions options;
    options.caFiles = {file("root.pem")};
    options.useSystemTrust = false;
    AnalysisOptions analysis;
    analysis.at = m_now.addSecs(60);
    const InspectionReport report = checkServers({request}, options, analysis);
    QCOMPARE(report.bundles.size(), 2);
    const Finding f = findingWithCode(report, QStringLiteral("ADDRESSES_DIFFER"));
    QVERIFY2(!f.code.isEmpty(), qPrintable(describe(report)));
    QCOMPARE(f.severity, Severity::Error);
    QVERIFY(f.message.contains(QLatin1String("127.0.0.1 serves serial")));
    QVERIFY(f.message.contains(QLatin1String("127.0.0.2 serves serial")));
    QCOMPARE(f.subject, QStringLiteral("%1:%2").arg(m_pki.hostName).arg(port));
    // Each address is its own bundle, named by address.
    QStringList origins{report.bundles[0].bundle.origin, report.bundles[1].bundle.origin};
    origins.sort();
    QCOMPARE(origins[0], QStringLiteral("%1:%2 [127.0.0.1]").arg(m_pki.hostName).arg(port));
    QCOMPARE(origins[1], QStringLiteral("%1:%2 [127.0.0.2]").arg(m_pki.hostName).arg(port));
}

TestServers::CliRun TestServers::runCli(const QStringList& arguments)
{
    CliRun run;
    QProcess process;
    process.start(qEnvironmentVariable("STAPLESCOPE_CLI"), arguments);
    if (!process.waitForFinished(30000)) {
        process.kill();
        process.waitForFinished();
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    if (qEnvironmentVariableIsSet("STAPLESCOPE_TEST_VERBOSE"))
        qInfo("staplescope-cli %s → %d\n%s%s", qPrintable(arguments.join(' ')), run.exitCode, qPrintable(run.out),
              qPrintable(run.err));
    return run;
}

void TestServers::cliConnectNginxPreviousStaple()
{
    if (!QFileInfo(qEnvironmentVariable("STAPLESCOPE_CLI")).isExecutable())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const quint16 port = freePort();
    const QString dir = caseDir(QStringLiteral("cli-nginx"));
    const QString problem =
        startNginx(dir, port, file("leaf-fullchain.pem"), file("leaf-key.pem"), file("previous.ocsp.der"));
    if (problem == QLatin1String("skip"))
        QSKIP("nginx is not installed");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    const CliRun run = runCli({"connect", QStringLiteral("127.0.0.1:%1").arg(port), "--json", "--ca-file", file("root.pem")});
    QCOMPARE(run.exitCode, 2);
    const QJsonDocument doc = QJsonDocument::fromJson(run.out.toUtf8());
    QVERIFY2(doc.isObject(), qPrintable(run.out + run.err));
    QStringList codes;
    for (const QJsonValue& f : doc.object().value(QStringLiteral("findings")).toArray())
        codes << f.toObject().value(QStringLiteral("code")).toString();
    QVERIFY2(codes.contains(QStringLiteral("STAPLE_FOR_OTHER_CERT")), qPrintable(run.out));
    const QJsonArray bundles = doc.object().value(QStringLiteral("bundles")).toArray();
    QCOMPARE(bundles.size(), 1);
    QCOMPARE(bundles[0].toObject().value(QStringLiteral("served")).toBool(), true);
}

void TestServers::cliConnectExim()
{
    if (!QFileInfo(qEnvironmentVariable("STAPLESCOPE_CLI")).isExecutable())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const quint16 healthyPort = freePort();
    QString problem = startExim(caseDir(QStringLiteral("cli-exim-healthy")), healthyPort, file("leaf-fullchain.pem"),
                                file("leaf-key.pem"), file("leaf.ocsp.der"));
    if (problem == QLatin1String("skip"))
        QSKIP("exim4 is not installed");
    QVERIFY2(problem.isEmpty(), qPrintable(problem));
    const quint16 brokenPort = freePort();
    problem = startExim(caseDir(QStringLiteral("cli-exim-broken")), brokenPort, file("leaf-fullchain.pem"),
                        file("leaf-key.pem"), file("previous.ocsp.der"));
    QVERIFY2(problem.isEmpty(), qPrintable(problem));

    CliRun run = runCli({"connect", QStringLiteral("127.0.0.1:%1").arg(healthyPort), "--starttls", "smtp", "--servername",
                         m_pki.hostName, "--ca-file", file("root.pem"), "--no-system-trust"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.out + run.err));

    run = runCli({"connect", QStringLiteral("127.0.0.1:%1").arg(brokenPort), "--starttls", "smtp", "--servername",
                  m_pki.hostName, "--ca-file", file("root.pem"), "--no-system-trust", "--cert", file("leaf-fullchain.pem"),
                  "--key", file("leaf-key.pem"), "--staple", file("previous.ocsp.der"), "--no-color", "--transcript"});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.out.contains(QLatin1String("STARTTLS_FAILED")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("454 TLS currently unavailable")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QLatin1String("Likely cause: the staple file")), qPrintable(run.out));
}

void TestServers::checkJudgesAtTheClocksTime()
{
    const auto server = startLoopbackTls(m_pki);
    QVERIFY(server);
    ServerCheckRequest request;
    request.probe.host = QStringLiteral("127.0.0.1");
    request.probe.port = server->port();
    request.probe.serverName = m_pki.hostName;
    ServerCheckOptions options;
    options.caFiles = {file("root.pem")};
    options.useSystemTrust = false;

    // No time given: the clock's now, for the check and for the report.
    const auto clock = std::make_shared<FixedClock>(m_now.addSecs(60));
    options.clock = clock;
    InspectionReport report = checkServers({request}, options, AnalysisOptions{});
    QCOMPARE(report.at, m_now.addSecs(60));
    QVERIFY2(report.exitCode() == 0, qPrintable(describe(report)));

    // The same server, the clock a day past the certificate's notAfter (88 days ahead).
    clock->setNow(daysFrom(m_now, 89));
    report = checkServers({request}, options, AnalysisOptions{});
    QCOMPARE(report.at, daysFrom(m_now, 89));
    QVERIFY2(codesOf(report).contains(QStringLiteral("CERT_EXPIRED")), qPrintable(describe(report)));
    QCOMPARE(report.exitCode(), 2);
}

void TestServers::staple454IsExplainedAtTheEvaluationTime()
{
    const auto server = startSmtp454();
    QVERIFY(server);
    ServerCheckRequest request;
    request.probe.host = QStringLiteral("127.0.0.1");
    request.probe.port = server->port();
    request.probe.serverName = m_pki.hostName;
    request.probe.startTls = StartTlsProtocol::Smtp;
    request.probe.stepTimeoutMs = 3000;
    request.compare.certFiles = {file("leaf-fullchain.pem")};
    request.compare.stapleFiles = {file("leaf.ocsp.der")}; // fits the certificate; nextUpdate in 6 days
    ServerCheckOptions options;
    options.caFiles = {file("root.pem")};
    options.useSystemTrust = false;

    // While the staple file is fresh, it is not blamed for having expired...
    options.at = m_now.addSecs(60);
    Finding failed = findingWithCode(runServerChecks({request}, options).session->evaluate({}), codeName(FindingCode::StartTlsFailed));
    QVERIFY2(failed.message.contains(QLatin1String("looks consistent with the certificate on disk")), qPrintable(failed.message));
    QVERIFY2(!failed.message.contains(QLatin1String("expired")), qPrintable(failed.message));

    // ...a week later it is, whatever the wall clock says: the check judges at its evaluation time.
    options.at = daysFrom(m_now, 7);
    failed = findingWithCode(runServerChecks({request}, options).session->evaluate({}), codeName(FindingCode::StartTlsFailed));
    QVERIFY2(failed.message.contains(QStringLiteral("%1 expired at").arg(file("leaf.ocsp.der"))), qPrintable(failed.message));

    // With no time given, the injected clock's now is that time.
    options.at = QDateTime();
    options.clock = std::make_shared<FixedClock>(daysFrom(m_now, 7));
    failed = findingWithCode(runServerChecks({request}, options).session->evaluate({}), codeName(FindingCode::StartTlsFailed));
    QVERIFY2(failed.message.contains(QStringLiteral("%1 expired at").arg(file("leaf.ocsp.der"))), qPrintable(failed.message));
}

void TestServers::cliConnectAtJudgesAtThatTime()
{
    if (!QFileInfo(qEnvironmentVariable("STAPLESCOPE_CLI")).isExecutable())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const auto tls = startLoopbackTls(m_pki);
    QVERIFY(tls);
    const QString endpoint = QStringLiteral("127.0.0.1:%1").arg(tls->port());
    const QStringList trust{"--servername", m_pki.hostName, "--ca-file", file("root.pem"), "--no-system-trust", "--json"};

    CliRun run = runCli(QStringList{"connect", endpoint} + trust);
    QVERIFY2(run.exitCode == 0, qPrintable(run.out + run.err));

    // The served certificate expires in 88 days: at +89d it has.
    run = runCli(QStringList{"connect", endpoint, "--at", "+89d"} + trust);
    QCOMPARE(run.exitCode, 2);
    const QJsonObject report = QJsonDocument::fromJson(run.out.toUtf8()).object();
    QStringList codes;
    for (const QJsonValue& f : report.value(QStringLiteral("findings")).toArray())
        codes << f.toObject().value(QStringLiteral("code")).toString();
    QVERIFY2(codes.contains(QStringLiteral("CERT_EXPIRED")), qPrintable(run.out));
    const QDateTime evaluatedAt = QDateTime::fromString(report.value(QStringLiteral("evaluatedAt")).toString(), Qt::ISODate);
    QVERIFY(qAbs(evaluatedAt.secsTo(daysFrom(QDateTime::currentDateTimeUtc(), 89))) < 120);

    // A STARTTLS refusal is explained with the staple file as it stands at --at, not now.
    const auto smtp = startSmtp454();
    QVERIFY(smtp);
    const QStringList refused{"connect", QStringLiteral("127.0.0.1:%1").arg(smtp->port()), "--starttls", "smtp",
                              "--servername", m_pki.hostName, "--ca-file", file("root.pem"), "--no-system-trust",
                              "--cert", file("leaf-fullchain.pem"), "--staple", file("leaf.ocsp.der"), "--no-color"};
    run = runCli(refused);
    QVERIFY2(run.out.contains(QLatin1String("looks consistent with the certificate on disk")), qPrintable(run.out));
    run = runCli(refused + QStringList{"--at", "+7d"});
    QVERIFY2(run.out.contains(QLatin1String("leaf.ocsp.der expired at")), qPrintable(run.out));
}

QTEST_GUILESS_MAIN(TestServers)
#include "tst_servers.moc"
