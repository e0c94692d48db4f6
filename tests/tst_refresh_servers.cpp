// `staplescope-cli refresh` end to end with real servers on 127.0.0.1: nginx reloaded by the
// reload command, HAProxy updated through its runtime API, Exim in the seed incident, and Exim when
// the responder is down. The OCSP responder is the in-process TestResponder (loopback, free port),
// signing as the live PKI's CA; the PKI and the responder use the real time, because the real
// servers judge staples by the real clock. What is asserted here is what docs/refresh.md reports
// each server doing with its staple file. A case is skipped only when its server is not installed.

#include "LivePki.h"
#include "RealServers.h"
#include "TestResponder.h"
#include "TlsProbe.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include <sys/stat.h>

#include <memory>

using namespace staplescope;
using namespace staplescope::test;

namespace {

QByteArray readFile(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// World-readable: Exim reads its files as Debian-exim.
QString writePublic(const QString& dir, const QString& name, const QByteArray& bytes)
{
    const QString path = LivePki::write(dir, name, bytes);
    ::chmod(QFile::encodeName(path).constData(), 0644);
    return path;
}

} // namespace

class TestRefreshServers : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void cleanupTestCase();

    void nginxReloadServesTheNewStaple();
    void nginxWithoutItsStapleFileRefusesToReload();
    void haproxyRuntimeApiWithoutReload();
    void eximSeedIncidentRepaired();
    void eximResponderDownMovesStaleAside();

private:
    struct CliRun {
        int exitCode = -1;
        QString out, err;
        QString all() const { return out + err; }
    };
    CliRun runCli(const QStringList& arguments);
    // `refresh` against the test responder, trusting the live PKI's root, plus `extra`.
    CliRun refresh(const QStringList& extra);
    ProbeResult probeServer(quint16 port, StartTlsProtocol protocol = StartTlsProtocol::None);
    // A case folder: the server's own files at the top, the TLS files an admin has in tls/.
    QString caseDir(const QString& name);
    QString file(const QString& name) const { return QDir(m_dir.path()).filePath(name); }

    QTemporaryDir m_dir;
    QDateTime m_now;
    LivePki m_pki;
    std::unique_ptr<TestResponder> m_responder;
    RealServers m_servers;
};

void TestRefreshServers::initTestCase()
{
    QVERIFY(m_dir.isValid());
    ::chmod(QFile::encodeName(m_dir.path()).constData(), 0755);
    m_now = QDateTime::currentDateTimeUtc();
    m_now.setTime(QTime(m_now.time().hour(), m_now.time().minute(), m_now.time().second()));
    m_pki = makeLivePki(m_now);
    writePublic(m_dir.path(), "root.pem", m_pki.root.certPem());

    ResponderCa ca;
    ca.issuer = m_pki.ca;
    m_responder = std::make_unique<TestResponder>(ca, m_now);
    QVERIFY(m_responder->start());
    for (const IssuedCert* cert : {&m_pki.leaf, &m_pki.previousLeaf})
        m_responder->addCertificate(*cert);
}

void TestRefreshServers::init()
{
    if (!QFileInfo(qEnvironmentVariable("STAPLESCOPE_CLI")).isExecutable())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    m_responder->clearScenarios();
    m_responder->clearRequests();
}

void TestRefreshServers::cleanup()
{
    // Stop every server of the case that just ran, passed or failed.
    m_servers.stopAll();
}

void TestRefreshServers::cleanupTestCase()
{
    if (m_responder)
        m_responder->stop();
}

TestRefreshServers::CliRun TestRefreshServers::runCli(const QStringList& arguments)
{
    CliRun run;
    QProcess process;
    process.start(qEnvironmentVariable("STAPLESCOPE_CLI"), arguments);
    if (!process.waitForFinished(60000)) {
        process.kill();
        process.waitForFinished();
        return run;
    }
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    if (qEnvironmentVariableIsSet("STAPLESCOPE_TEST_VERBOSE"))
        qInfo("staplescope-cli %s → %d\n%s%s", qPrintable(arguments.join(' ')), run.exitCode,
              qPrintable(run.out), qPrintable(run.err));
    return run;
}

TestRefreshServers::CliRun TestRefreshServers::refresh(const QStringList& extra)
{
    return runCli(QStringList{"refresh", "--responder", m_responder->ocspUrl(), "--ca-file", file("root.pem"),
                              "--no-system-trust", "--timeout", "10"} +
                  extra);
}

ProbeResult TestRefreshServers::probeServer(quint16 port, StartTlsProtocol protocol)
{
    ProbeOptions options;
    options.host = QStringLiteral("127.0.0.1");
    options.port = port;
    options.serverName = m_pki.hostName;
    options.startTls = protocol;
    options.stepTimeoutMs = 3000;
    const QList<ProbeResult> results = probe(options);
    return results.value(0);
}

QString TestRefreshServers::caseDir(const QString& name)
{
    const QString dir = makeServerDir(m_dir.path(), name);
    makeServerDir(dir, QStringLiteral("tls"));
    return dir;
}

// nginx reads ssl_stapling_file at reload: refresh writes the new staple and runs the reload
// command, and the next handshake carries the new staple.
void TestRefreshServers::nginxReloadServesTheNewStaple()
{
    const QString dir = caseDir(QStringLiteral("nginx"));
    const QString tls = dir + QStringLiteral("/tls");
    NginxOptions nginx;
    nginx.dir = dir;
    nginx.port = freePort();
    nginx.serverName = m_pki.hostName;
    nginx.fullchain = writePublic(tls, "fullchain.pem", m_pki.fullchainPem(m_pki.leaf));
    nginx.key = writePublic(tls, "privkey.pem", LivePki::keyPem(m_pki.leaf));
    // Good, for this certificate, but a day older than what the responder gives now.
    nginx.staple = writePublic(tls, "ocsp.der", m_pki.olderLeafStaple);
    nginx.masterProcess = true; // reload starts new workers, as in production
    const ServerStart start = m_servers.startNginx(nginx);
    if (start.notInstalled())
        QSKIP("nginx is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    QCOMPARE(probeServer(nginx.port).stapleDer, m_pki.olderLeafStaple);

    const CliRun run = refresh({"--reload-command", nginxReloadCommand(nginx), tls});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String("installed")), qPrintable(run.out));
    QVERIFY(m_responder->ocspRequestCount() >= 1);
    const QByteArray installed = readFile(nginx.staple);
    QVERIFY(!installed.isEmpty());
    QVERIFY(installed != m_pki.olderLeafStaple);
    // The reload is asynchronous inside nginx (the master starts new workers, the old ones finish
    // gracefully and may still take a connection meanwhile): wait until five handshakes in a row
    // get the new staple.
    QByteArray served;
    QElapsedTimer waited;
    waited.start();
    int inARow = 0;
    while (inARow < 5 && waited.elapsed() < 20000) {
        served = probeServer(nginx.port).stapleDer;
        inARow = served == installed ? inARow + 1 : 0;
        if (inARow < 5)
            QTest::qWait(100);
    }
    QVERIFY2(served == installed,
             qPrintable(
                 QStringLiteral("nginx still serves %1 %2 ms after the reload; its log:\n%3")
                     .arg(served == m_pki.olderLeafStaple ? QStringLiteral("the old staple")
                          : served.isEmpty()              ? QStringLiteral("no staple")
                                                          : QStringLiteral("another staple"))
                     .arg(waited.elapsed())
                     .arg(QString::fromLocal8Bit(readFile(dir + QStringLiteral("/error.log")).right(3000)))));
    QVERIFY(start.process->running());

    // `connect --compare` with the files: what the server sends is what is on disk, and healthy.
    const CliRun check =
        runCli({"connect", QStringLiteral("127.0.0.1:%1").arg(nginx.port), "--servername", m_pki.hostName,
                "--ca-file", file("root.pem"), "--no-system-trust", "--compare", tls});
    QVERIFY2(check.exitCode == 0, qPrintable(check.all()));
}

// What docs/refresh.md reports for nginx: without its staple file nginx refuses to reload (the
// reload command fails, refresh says so) and keeps serving the old staple from memory; with
// --keep-stale the file stays and nothing is reloaded.
void TestRefreshServers::nginxWithoutItsStapleFileRefusesToReload()
{
    const QString dir = caseDir(QStringLiteral("nginx-responder-down"));
    const QString tls = dir + QStringLiteral("/tls");
    NginxOptions nginx;
    nginx.dir = dir;
    nginx.port = freePort();
    nginx.serverName = m_pki.hostName;
    nginx.fullchain = writePublic(tls, "fullchain.pem", m_pki.fullchainPem(m_pki.leaf));
    nginx.key = writePublic(tls, "privkey.pem", LivePki::keyPem(m_pki.leaf));
    nginx.staple = writePublic(tls, "ocsp.der", m_pki.previousStaple); // the incident: nginx sends it as is
    nginx.masterProcess = true;
    const ServerStart start = m_servers.startNginx(nginx);
    if (start.notInstalled())
        QSKIP("nginx is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    QCOMPARE(probeServer(nginx.port).stapleDer, m_pki.previousStaple);
    m_responder->setDefaultScenario(ResponderScenario::Http500);

    // --keep-stale: nothing changes, nothing is reloaded, and the bundle is reported as left
    // without a good staple.
    CliRun run = refresh({"--keep-stale", "--reload-command", nginxReloadCommand(nginx), tls});
    QCOMPARE(run.exitCode, 2);
    QCOMPARE(readFile(nginx.staple), m_pki.previousStaple);
    QVERIFY(!QFileInfo::exists(nginx.staple + QStringLiteral(".stale")));

    // Without it the stale staple is moved aside, and nginx refuses the reload: the command's
    // failure and nginx's own words are reported; nginx keeps running with the old staple.
    run = refresh({"--reload-command", nginxReloadCommand(nginx), tls});
    QCOMPARE(run.exitCode, 2);
    QVERIFY(!QFileInfo::exists(nginx.staple));
    QCOMPARE(readFile(nginx.staple + QStringLiteral(".stale")), m_pki.previousStaple);
    QVERIFY2(run.all().contains(QLatin1String("BIO_new_file")), qPrintable(run.all()));
    QVERIFY(start.process->running());
    QCOMPARE(probeServer(nginx.port).stapleDer, m_pki.previousStaple);
}

// HAProxy takes the new staple through its runtime API: served at once, no reload, same process.
// The folder is given, as the timer's configuration would: the crt file and its <crt>.ocsp.
void TestRefreshServers::haproxyRuntimeApiWithoutReload()
{
    const QString dir = caseDir(QStringLiteral("haproxy"));
    const QString tls = dir + QStringLiteral("/tls");
    HaproxyOptions haproxy;
    haproxy.dir = dir;
    haproxy.port = freePort();
    haproxy.crt = writePublic(tls, "site.pem", m_pki.fullchainPem(m_pki.leaf) + LivePki::keyPem(m_pki.leaf));
    haproxy.adminSocket = dir + QStringLiteral("/admin.sock");
    const QString stapleFile = writePublic(tls, "site.pem.ocsp", m_pki.olderLeafStaple);
    const ServerStart start = m_servers.startHaproxy(haproxy);
    if (start.notInstalled())
        QSKIP("haproxy is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    const qint64 pid = start.process->pid();
    QCOMPARE(probeServer(haproxy.port).stapleDer, m_pki.olderLeafStaple);

    const CliRun run = refresh({"--haproxy-socket", haproxy.adminSocket, tls});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String("installed")), qPrintable(run.out));
    QVERIFY2(run.all().contains(QLatin1String("OCSP Response updated")), qPrintable(run.all()));
    const QByteArray installed = readFile(stapleFile);
    QVERIFY(!installed.isEmpty());
    QVERIFY(installed != m_pki.olderLeafStaple);
    // The API updates the running process synchronously: the very next handshake has it.
    QCOMPARE(probeServer(haproxy.port).stapleDer, installed);
    QVERIFY(start.process->running());
    QCOMPARE(start.process->pid(), pid);

    // Run again (the hourly timer): the staple in <crt>.ocsp is the fresh one, as recent as what
    // the responder gives, so it is kept and HAProxy is not told anything.
    const CliRun again = refresh({"--haproxy-socket", haproxy.adminSocket, tls});
    QVERIFY2(again.exitCode == 0, qPrintable(again.all()));
    QVERIFY2(again.out.contains(QLatin1String("kept current")), qPrintable(again.out));
    QVERIFY2(!again.out.contains(QLatin1String("HAProxy updated")), qPrintable(again.out));
    QCOMPARE(readFile(stapleFile), installed);
}

// The seed incident: renewed certificate, the previous certificate's staple still in
// tls_ocsp_file, every STARTTLS handshake failing. refresh installs a fresh staple; Exim picks
// it up by itself (no reload) and `connect --compare` finds the server healthy.
void TestRefreshServers::eximSeedIncidentRepaired()
{
    const QString dir = caseDir(QStringLiteral("exim-incident"));
    const QString tls = dir + QStringLiteral("/tls");
    EximOptions exim;
    exim.dir = dir;
    exim.port = freePort();
    exim.hostName = m_pki.hostName;
    exim.cert = writePublic(tls, "exim.crt", m_pki.fullchainPem(m_pki.leaf));
    exim.key = writePublic(tls, "exim.key", LivePki::keyPem(m_pki.leaf));
    exim.staple = writePublic(tls, "ocsp.der", m_pki.previousStaple);
    const ServerStart start = m_servers.startExim(exim);
    if (start.notInstalled())
        QSKIP("exim4 is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    QVERIFY(!probeServer(exim.port, StartTlsProtocol::Smtp).tlsEstablished);

    const QStringList connect{"connect",
                              QStringLiteral("127.0.0.1:%1").arg(exim.port),
                              "--starttls",
                              "smtp",
                              "--servername",
                              m_pki.hostName,
                              "--ca-file",
                              file("root.pem"),
                              "--no-system-trust",
                              "--compare",
                              tls};
    QCOMPARE(runCli(connect).exitCode, 2);

    const CliRun run = refresh({exim.cert, exim.key, exim.staple});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QLatin1String("installed")), qPrintable(run.out));
    const QByteArray installed = readFile(exim.staple);
    QVERIFY(installed != m_pki.previousStaple);
    QVERIFY(!QFileInfo::exists(exim.staple + QStringLiteral(".stale")));

    // With a plain path Exim reloads its preloaded credentials when it notices the change, within
    // seconds (docs/refresh.md): poll rather than assume the very next connection sees it.
    QTRY_COMPARE_WITH_TIMEOUT(probeServer(exim.port, StartTlsProtocol::Smtp).stapleDer, installed, 15000);
    const CliRun healthy = runCli(connect);
    QVERIFY2(healthy.exitCode == 0, qPrintable(healthy.all()));
}

// The responder is down (HTTP 500) and the staple on disk is the previous certificate's: refresh
// moves it aside. Measured with Debian's Exim 4.96: with `tls_ocsp_file = ${if exists{F}{F}}`
// handshakes then complete (no staple); with the plain path they keep failing, because a missing
// file fails like a stale one. Both Exims read the same file.
void TestRefreshServers::eximResponderDownMovesStaleAside()
{
    const QString dir = caseDir(QStringLiteral("exim-responder-down"));
    const QString tls = dir + QStringLiteral("/tls");
    EximOptions ifExists;
    ifExists.dir = makeServerDir(dir, QStringLiteral("if-exists"));
    ifExists.port = freePort();
    ifExists.hostName = m_pki.hostName;
    ifExists.cert = writePublic(tls, "exim.crt", m_pki.fullchainPem(m_pki.leaf));
    ifExists.key = writePublic(tls, "exim.key", LivePki::keyPem(m_pki.leaf));
    ifExists.staple = writePublic(tls, "ocsp.der", m_pki.previousStaple);
    ifExists.stapleOnlyIfExists = true;
    EximOptions plain = ifExists;
    plain.dir = makeServerDir(dir, QStringLiteral("plain"));
    plain.port = freePort();
    plain.stapleOnlyIfExists = false;
    const ServerStart first = m_servers.startExim(ifExists);
    if (first.notInstalled())
        QSKIP("exim4 is not installed");
    QVERIFY2(first.started(), qPrintable(first.problem));
    const ServerStart second = m_servers.startExim(plain);
    QVERIFY2(second.started(), qPrintable(second.problem));
    // A stale staple fails handshakes in both forms.
    QVERIFY(!probeServer(ifExists.port, StartTlsProtocol::Smtp).tlsEstablished);
    QVERIFY(!probeServer(plain.port, StartTlsProtocol::Smtp).tlsEstablished);

    m_responder->setDefaultScenario(ResponderScenario::Http500);
    const CliRun run = refresh({ifExists.cert, ifExists.key, ifExists.staple});
    QCOMPARE(run.exitCode, 2);
    QVERIFY(m_responder->ocspRequestCount() >= 1);
    QVERIFY2(run.out.contains(QLatin1String("stale removed")), qPrintable(run.out));
    QVERIFY2(run.all().contains(QLatin1String("500")), qPrintable(run.all()));
    // refresh says which Exim form keeps handshakes working without the file.
    QVERIFY2(run.all().contains(QLatin1String("${if exists")), qPrintable(run.all()));
    QVERIFY(!QFileInfo::exists(ifExists.staple));
    QCOMPARE(readFile(ifExists.staple + QStringLiteral(".stale")), m_pki.previousStaple);

    // `${if exists}`: read per connection; the handshake completes, without a staple.
    ProbeResult served;
    QTRY_VERIFY_WITH_TIMEOUT((served = probeServer(ifExists.port, StartTlsProtocol::Smtp)).tlsEstablished,
                             15000);
    QVERIFY(served.stapleDer.isEmpty());
    QCOMPARE(served.chainDer.value(0), m_pki.leaf.certDer());
    // Plain path: a missing file fails every handshake, as a stale one did.
    for (int attempt = 0; attempt < 3; ++attempt)
        QVERIFY(!probeServer(plain.port, StartTlsProtocol::Smtp).tlsEstablished);
}

QTEST_GUILESS_MAIN(TestRefreshServers)
#include "tst_refresh_servers.moc"
