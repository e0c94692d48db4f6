// `staplescope-cli deploy` (and `renew --deploy-to`) end to end with real servers on 127.0.0.1:
// nginx, Exim and HAProxy read DEST/current/…; deploy builds a generation, fetches its staple from
// the in-process TestResponder, flips DEST/current, reloads, verifies with a live handshake, and
// rolls back when that fails. The incident test runs deploys of alternating certificates while a
// client does STARTTLS handshakes against Exim without pause, and asserts that no handshake ever
// gets a certificate with another certificate's staple. The certificates come from a live PKI
// made at the real time (real servers judge staples by the real clock), and, for renewal, from
// pebble through certbot (tests/support/PebbleCa.h). A case is skipped only when its server (or
// pebble, certbot) is not installed.

#include "Certificate.h"
#include "LivePki.h"
#include "OpenSslPtr.h"
#include "PebbleCa.h"
#include "RealServers.h"
#include "TestResponder.h"
#include "TlsProbe.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QTemporaryDir>
#include <QTest>

#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

using namespace staplescope;
using namespace staplescope::test;

namespace {

QByteArray readFile(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

QString serialOfCertificate(const QByteArray& der)
{
    return der.isEmpty() ? QString() : Certificate::fromDer(der, SourceLocation{}).serialHex();
}

QString serialOfPemFile(const QString& path)
{
    const QByteArray pem = readFile(path);
    BioPtr bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    X509Ptr x509(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    return x509 ? Certificate::fromX509(std::move(x509), SourceLocation{path}).serialHex() : QString();
}

// The serial the (first) single response of a DER OCSP response is about; empty when it holds none.
QString serialOfStaple(const QByteArray& der)
{
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, long(der.size())));
    if (!response)
        return {};
    OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
    OCSP_SINGLERESP* single = basic ? OCSP_resp_get0(basic.get(), 0) : nullptr;
    ASN1_INTEGER* serial = nullptr;
    if (!single || OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, const_cast<OCSP_CERTID*>(OCSP_SINGLERESP_get0_id(single))) != 1)
        return {};
    BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
    if (!bn)
        return {};
    QByteArray bytes(BN_num_bytes(bn.get()), '\0');
    BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
    return signedSerialHex(bytes.isEmpty() ? QByteArray(1, '\0') : bytes, BN_is_negative(bn.get()));
}

// What a server served, in the terms the assertions use.
struct Served {
    bool established = false;
    QString leafSerial;
    QString stapleSerial;          // empty: no staple
    QString problem;
    QString describe() const
    {
        if (!established)
            return QStringLiteral("no TLS: ") + problem;
        return QStringLiteral("certificate %1, %2")
            .arg(leafSerial, stapleSerial.isEmpty() ? QStringLiteral("no staple") : QStringLiteral("staple for ") + stapleSerial);
    }
};

Served probeServed(quint16 port, const QString& serverName, StartTlsProtocol protocol, bool retry = true)
{
    ProbeOptions options;
    options.host = QStringLiteral("127.0.0.1");
    options.port = port;
    options.serverName = serverName;
    options.startTls = protocol;
    options.stepTimeoutMs = 5000;
    options.totalTimeoutMs = 15000;
    options.retryWithoutStatusRequest = retry;
    const ProbeResult result = probe(options).value(0);
    Served served;
    served.established = result.tlsEstablished;
    served.leafSerial = serialOfCertificate(result.chainDer.value(0));
    served.stapleSerial = result.stapleDer.isEmpty() ? QString() : serialOfStaple(result.stapleDer);
    if (!result.stapleDer.isEmpty() && served.stapleSerial.isEmpty())
        served.stapleSerial = QStringLiteral("(unreadable staple)");
    for (const Finding& finding : result.findings)
        served.problem += finding.code + QStringLiteral(": ") + finding.title + QLatin1Char(' ');
    served.problem += result.alerts.join(QLatin1Char(' '));
    return served;
}

// Gives the current generation's key to Debian-exim's group (0640), as an admin does once for
// Exim; later generations keep the group and mode of the previous one's key.
void shareKeyWithExim(const QString& keyPath)
{
    if (const group* g = ::getgrnam("Debian-exim"); g && ::geteuid() == 0) {
        const QByteArray path = QFile::encodeName(QFileInfo(keyPath).canonicalFilePath());
        if (::chown(path.constData(), uid_t(-1), g->gr_gid) != 0)
            qWarning("chown %s failed", path.constData());
        ::chmod(path.constData(), 0640);
    } else {
        ::chmod(QFile::encodeName(QFileInfo(keyPath).canonicalFilePath()).constData(), 0644);
    }
}

} // namespace

class TestDeployServers : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();
    void cleanupTestCase();

    void nginxDeployReloadVerify();
    void eximDeployServesTheNewGenerationAtOnce();
    void haproxyDeployThroughTheRuntimeApi();
    void dovecotDeployReloadVerify();
    void responderDownMustStapleKeepsTheOldGeneration();
    void responderDownWithoutMustStapleServesNoStaple();
    void failingReloadCommandRollsBack();
    void brokenNginxConfigRollsBack();
    void incidentCannotHappenWhileDeploying();
    void renewDeployToEndToEnd();

private:
    struct CliRun {
        int exitCode = -1;
        QString out, err;
        QString all() const { return out + err; }
        QJsonObject json() const { return QJsonDocument::fromJson(out.toUtf8()).object(); }
    };
    CliRun runCli(const QStringList& arguments, const QProcessEnvironment& environment = {}, int timeoutMs = 90000);
    // `deploy --from SRC --to DEST` trusting the live PKI's root, plus `extra`.
    CliRun deploy(const QString& source, const QString& destination, const QStringList& extra = {});
    // `connect --compare DEST/current 127.0.0.1:port`.
    CliRun compare(const QString& destination, quint16 port, const QStringList& extra = {});
    QString verifyStartTlsOption() const { return QStringLiteral("--verify-starttls"); }

    // A source folder with `cert`'s fullchain and key: what an admin's tool leaves.
    QString source(const QString& name, const IssuedCert& cert);
    // A case folder (world-readable, Exim reads in it as Debian-exim).
    QString caseDir(const QString& name) { return makeServerDir(m_dir.path(), name); }
    IssuedCert issue(const QString& label, bool mustStaple = false);
    struct EximCase {
        QString dest;
        EximOptions options;
        QString firstGeneration;
        bool notInstalled = false;
        QString problem;
    };
    // viaGenerationPath: Exim reads DEST/current/path once per connection (its connect ACL) and
    // opens the files under it, as docs/deploy.md says; else DEST/current/FILE for each file.
    EximCase startEximCase(const QString& name, const IssuedCert& first, bool viaGenerationPath = false);
    static QString serialOf(const IssuedCert& cert);
    QString current(const QString& destination) const
    {
        return QFileInfo(destination + QStringLiteral("/current")).canonicalFilePath();
    }

    QTemporaryDir m_dir;
    QDateTime m_now;
    LivePki m_pki;
    std::unique_ptr<TestResponder> m_responder;
    RealServers m_servers;
    QString m_rootFile;
    IssuedCert m_certA, m_certB, m_mustA, m_mustB, m_noOcsp;
};

void TestDeployServers::initTestCase()
{
    QVERIFY(m_dir.isValid());
    ::chmod(QFile::encodeName(m_dir.path()).constData(), 0755);
    qunsetenv("http_proxy");
    m_now = QDateTime::currentDateTimeUtc();
    m_now.setTime(QTime(m_now.time().hour(), m_now.time().minute(), m_now.time().second()));
    m_pki = makeLivePki(m_now);
    m_rootFile = LivePki::write(m_dir.path(), QStringLiteral("root.pem"), m_pki.root.certPem());
    ::chmod(QFile::encodeName(m_rootFile).constData(), 0644);
    m_responder = std::make_unique<TestResponder>(ResponderCa{m_pki.ca, {}}, m_now);
    QVERIFY(m_responder->start());
    m_certA = issue(QStringLiteral("A"));
    m_certB = issue(QStringLiteral("B"));
    m_mustA = issue(QStringLiteral("must-staple A"), true);
    m_mustB = issue(QStringLiteral("must-staple B"), true);
}

IssuedCert TestDeployServers::issue(const QString& label, bool mustStaple)
{
    // Same names, same CA, their own keys: a certificate and its renewal.
    CertSpec spec;
    spec.commonName = m_pki.hostName;
    spec.dnsNames = {m_pki.hostName};
    spec.organization = QStringLiteral("Staplescope Deploy Test ") + label;
    spec.notBefore = m_now.addDays(-1);
    spec.notAfter = m_now.addDays(89);
    spec.mustStaple = mustStaple;
    spec.ocspUrls = {m_responder->ocspUrl()};
    IssuedCert cert = PkiFactory().issue(spec, &m_pki.ca);
    m_responder->addCertificate(cert);
    return cert;
}

void TestDeployServers::init()
{
    if (!QFileInfo(qEnvironmentVariable("STAPLESCOPE_CLI")).isExecutable())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    m_responder->clearScenarios();
    m_responder->clearRequests();
}

void TestDeployServers::cleanup() { m_servers.stopAll(); }

void TestDeployServers::cleanupTestCase()
{
    m_servers.stopAll();
    if (m_responder)
        m_responder->stop();
}

TestDeployServers::CliRun TestDeployServers::runCli(const QStringList& arguments, const QProcessEnvironment& environment,
                                                    int timeoutMs)
{
    CliRun run;
    QProcess process;
    if (!environment.isEmpty())
        process.setProcessEnvironment(environment);
    process.start(qEnvironmentVariable("STAPLESCOPE_CLI"), arguments);
    if (!process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        run.err = QStringLiteral("staplescope-cli %1: no answer within %2 ms").arg(arguments.join(' ')).arg(timeoutMs);
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

TestDeployServers::CliRun TestDeployServers::deploy(const QString& source, const QString& destination,
                                                    const QStringList& extra)
{
    return runCli(QStringList{"deploy", "--from", source, "--to", destination, "--ca-file", m_rootFile,
                              "--no-system-trust", "--timeout", "10"}
                  + extra);
}

TestDeployServers::CliRun TestDeployServers::compare(const QString& destination, quint16 port, const QStringList& extra)
{
    return runCli(QStringList{"connect", QStringLiteral("127.0.0.1:%1").arg(port), "--servername", m_pki.hostName,
                              "--ca-file", m_rootFile, "--no-system-trust", "--compare",
                              destination + QStringLiteral("/current")}
                  + extra);
}

QString TestDeployServers::source(const QString& name, const IssuedCert& cert)
{
    const QString dir = makeServerDir(m_dir.path() + QStringLiteral("/sources"), name);
    LivePki::write(dir, QStringLiteral("fullchain.pem"), m_pki.fullchainPem(cert));
    LivePki::write(dir, QStringLiteral("privkey.pem"), LivePki::keyPem(cert));
    return dir;
}

// nginx (master process) reads DEST/current/{fullchain.pem, privkey.pem, ocsp.der}; deploy flips
// to B's generation, reloads nginx with the reload command, and verifies the handshake; connect
// --compare agrees that what is served is DEST/current, B with its own staple.
void TestDeployServers::nginxDeployReloadVerify()
{
    const QString dir = caseDir(QStringLiteral("nginx"));
    const QString dest = dir + QStringLiteral("/dest");
    CliRun first = deploy(source(QStringLiteral("nginx-A"), m_certA), dest);
    QVERIFY2(first.exitCode == 0, qPrintable(first.all()));
    const QString generationA = current(dest);
    QVERIFY(!generationA.isEmpty());

    NginxOptions nginx;
    nginx.dir = dir;
    nginx.port = freePort();
    nginx.serverName = m_pki.hostName;
    nginx.fullchain = dest + QStringLiteral("/current/fullchain.pem");
    nginx.key = dest + QStringLiteral("/current/privkey.pem");
    nginx.staple = dest + QStringLiteral("/current/ocsp.der");
    nginx.masterProcess = true;
    const ServerStart start = m_servers.startNginx(nginx);
    if (start.notInstalled())
        QSKIP("nginx is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    const QString serialA = Certificate::fromDer(m_certA.certDer(), {}).serialHex();
    const QString serialB = Certificate::fromDer(m_certB.certDer(), {}).serialHex();
    Served served = probeServed(nginx.port, m_pki.hostName, StartTlsProtocol::None);
    QCOMPARE(served.leafSerial, serialA);
    QCOMPARE(served.stapleSerial, serialA);

    const CliRun run = deploy(source(QStringLiteral("nginx-B"), m_certB), dest,
                              {"--reload-command", nginxReloadCommand(nginx), "--verify",
                               QStringLiteral("127.0.0.1:%1").arg(nginx.port)});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY(current(dest) != generationA);
    QCOMPARE(serialOfStaple(readFile(dest + QStringLiteral("/current/ocsp.der"))), serialB);
    // nginx's old workers finish gracefully and may take a connection or two after verify saw a
    // new one: wait until five handshakes in a row get B with B's staple.
    QElapsedTimer settling;
    settling.start();
    for (int inARow = 0; inARow < 5 && settling.elapsed() < 20000;) {
        served = probeServed(nginx.port, m_pki.hostName, StartTlsProtocol::None);
        inARow = served.leafSerial == serialB && served.stapleSerial == serialB ? inARow + 1 : 0;
        if (inARow < 5)
            QTest::qWait(100);
    }
    QVERIFY2(served.leafSerial == serialB && served.stapleSerial == serialB, qPrintable(served.describe()));
    const CliRun check = compare(dest, nginx.port);
    QVERIFY2(check.exitCode == 0, qPrintable(check.all()));
    QVERIFY(start.process->running());

    // Again with the same certificate and a still-good staple: nothing to do, nothing changes.
    const QString generationB = current(dest);
    const CliRun again = deploy(source(QStringLiteral("nginx-B"), m_certB), dest);
    QVERIFY2(again.exitCode == 0, qPrintable(again.all()));
    QCOMPARE(current(dest), generationB);
}

// Exim with `tls_ocsp_file = ${if exists{…}}` reads DEST/current/… for every connection: the
// handshake after the flip has B with B's staple, no reload. verify speaks SMTP STARTTLS.
void TestDeployServers::eximDeployServesTheNewGenerationAtOnce()
{
    const QString dir = caseDir(QStringLiteral("exim"));
    const QString dest = dir + QStringLiteral("/dest");
    const CliRun first = deploy(source(QStringLiteral("exim-A"), m_certA), dest);
    QVERIFY2(first.exitCode == 0, qPrintable(first.all()));
    shareKeyWithExim(dest + QStringLiteral("/current/privkey.pem"));
    EximOptions exim;
    exim.dir = dir;
    exim.port = freePort();
    exim.hostName = m_pki.hostName;
    exim.cert = dest + QStringLiteral("/current/fullchain.pem");
    exim.key = dest + QStringLiteral("/current/privkey.pem");
    exim.staple = dest + QStringLiteral("/current/ocsp.der");
    exim.stapleOnlyIfExists = true;
    const ServerStart start = m_servers.startExim(exim);
    if (start.notInstalled())
        QSKIP("exim4 is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    const QString serialA = Certificate::fromDer(m_certA.certDer(), {}).serialHex();
    const QString serialB = Certificate::fromDer(m_certB.certDer(), {}).serialHex();
    Served served = probeServed(exim.port, m_pki.hostName, StartTlsProtocol::Smtp);
    QVERIFY2(served.leafSerial == serialA && served.stapleSerial == serialA, qPrintable(served.describe()));

    const QFileInfo keyA(current(dest) + QStringLiteral("/privkey.pem"));
    const CliRun run = deploy(source(QStringLiteral("exim-B"), m_certB), dest,
                              {"--verify", QStringLiteral("127.0.0.1:%1").arg(exim.port), "--verify-starttls", "smtp"});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    // The new key has the group and mode the admin gave the previous generation's (Exim reads it
    // as Debian-exim), not the default 0600.
    const QFileInfo keyB(current(dest) + QStringLiteral("/privkey.pem"));
    QVERIFY(keyB.absoluteFilePath() != keyA.absoluteFilePath());
    QCOMPARE(keyB.groupId(), keyA.groupId());
    QCOMPARE(keyB.permissions(), keyA.permissions());
    served = probeServed(exim.port, m_pki.hostName, StartTlsProtocol::Smtp);
    QVERIFY2(served.leafSerial == serialB && served.stapleSerial == serialB, qPrintable(served.describe()));
    const CliRun check = compare(dest, exim.port, {"--starttls", "smtp"});
    QVERIFY2(check.exitCode == 0, qPrintable(check.all()));
}

// Starts Exim reading DEST/current/… with the `${if exists}` staple form, after a first deploy of
// `first` into DEST (its key shared with Debian-exim). Empty options.dir: skipped or failed (the
// caller checks QTest::currentTestFailed()).
TestDeployServers::EximCase TestDeployServers::startEximCase(const QString& name, const IssuedCert& first,
                                                             bool viaGenerationPath)
{
    EximCase c;
    const QString dir = caseDir(name);
    c.dest = dir + QStringLiteral("/dest");
    const CliRun run = deploy(source(name + QStringLiteral("-first"), first), c.dest);
    if (run.exitCode != 0) {
        c.problem = QStringLiteral("the first deploy failed: ") + run.all();
        return c;
    }
    shareKeyWithExim(c.dest + QStringLiteral("/current/privkey.pem"));
    c.options.dir = dir;
    c.options.port = freePort();
    c.options.hostName = m_pki.hostName;
    c.options.cert = c.dest + QStringLiteral("/current/fullchain.pem");
    c.options.key = c.dest + QStringLiteral("/current/privkey.pem");
    c.options.staple = c.dest + QStringLiteral("/current/ocsp.der");
    c.options.stapleOnlyIfExists = true;
    if (viaGenerationPath) {
        c.options.generationPathFile = c.dest + QStringLiteral("/current/path");
        c.options.cert = QStringLiteral("fullchain.pem");
        c.options.key = QStringLiteral("privkey.pem");
        c.options.staple = QStringLiteral("ocsp.der");
    }
    const ServerStart start = m_servers.startExim(c.options);
    c.notInstalled = start.notInstalled();
    if (!start.started())
        c.problem = start.problem;
    c.firstGeneration = current(c.dest);
    return c;
}

QString TestDeployServers::serialOf(const IssuedCert& cert)
{
    return Certificate::fromDer(cert.certDer(), SourceLocation{}).serialHex();
}

// HAProxy reads DEST/current/haproxy.pem (and haproxy.pem.ocsp beside it) at start; deploy hands
// it the new generation through the runtime API (set ssl cert + commit, set ssl ocsp-response): the
// same process serves B with B's staple, no reload.
void TestDeployServers::haproxyDeployThroughTheRuntimeApi()
{
    const QString dir = caseDir(QStringLiteral("haproxy"));
    const QString dest = dir + QStringLiteral("/dest");
    const CliRun first = deploy(source(QStringLiteral("haproxy-A"), m_certA), dest);
    QVERIFY2(first.exitCode == 0, qPrintable(first.all()));
    QVERIFY(QFileInfo::exists(dest + QStringLiteral("/current/haproxy.pem.ocsp")));
    HaproxyOptions haproxy;
    haproxy.dir = dir;
    haproxy.port = freePort();
    haproxy.crt = dest + QStringLiteral("/current/haproxy.pem");
    haproxy.adminSocket = dir + QStringLiteral("/admin.sock");
    const ServerStart start = m_servers.startHaproxy(haproxy);
    if (start.notInstalled())
        QSKIP("haproxy is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    const qint64 pid = start.process->pid();
    Served served = probeServed(haproxy.port, m_pki.hostName, StartTlsProtocol::None);
    QVERIFY2(served.leafSerial == serialOf(m_certA) && served.stapleSerial == serialOf(m_certA), qPrintable(served.describe()));

    const CliRun run = deploy(source(QStringLiteral("haproxy-B"), m_certB), dest,
                              {"--haproxy-socket", haproxy.adminSocket, "--verify",
                               QStringLiteral("127.0.0.1:%1").arg(haproxy.port)});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    served = probeServed(haproxy.port, m_pki.hostName, StartTlsProtocol::None);
    QVERIFY2(served.leafSerial == serialOf(m_certB) && served.stapleSerial == serialOf(m_certB), qPrintable(served.describe()));
    QCOMPARE(start.process->pid(), pid);
    QVERIFY(start.process->running());
    const CliRun check = compare(dest, haproxy.port);
    QVERIFY2(check.exitCode == 0, qPrintable(check.all()));
}

// Dovecot (2.3 staples nothing) reads DEST/current/fullchain.pem and privkey.pem at start and at
// `dovecot reload`: deploy reloads it and verifies over IMAP STARTTLS.
void TestDeployServers::dovecotDeployReloadVerify()
{
    const QString dir = caseDir(QStringLiteral("dovecot"));
    const QString dest = dir + QStringLiteral("/dest");
    const CliRun first = deploy(source(QStringLiteral("dovecot-A"), m_certA), dest);
    QVERIFY2(first.exitCode == 0, qPrintable(first.all()));
    DovecotOptions dovecot;
    dovecot.dir = dir;
    dovecot.port = freePort();
    dovecot.cert = dest + QStringLiteral("/current/fullchain.pem");
    dovecot.key = dest + QStringLiteral("/current/privkey.pem");
    const ServerStart start = m_servers.startDovecot(dovecot);
    if (start.notInstalled())
        QSKIP("dovecot is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    Served served = probeServed(dovecot.port, m_pki.hostName, StartTlsProtocol::Imap);
    QVERIFY2(served.established && served.leafSerial == serialOf(m_certA), qPrintable(served.describe()));

    const CliRun run = deploy(source(QStringLiteral("dovecot-B"), m_certB), dest,
                              {"--reload-command", dovecotReloadCommand(dovecot)});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    // `dovecot reload` returns once the master has the signal; new logins get the new files.
    QTRY_COMPARE_WITH_TIMEOUT(probeServed(dovecot.port, m_pki.hostName, StartTlsProtocol::Imap).leafSerial,
                              serialOf(m_certB), 15000);
    QVERIFY(start.process->running());
}

// The responder is down while a must-staple certificate is deployed: no good staple, so no flip.
// The old generation keeps serving, with its own staple; the report says until when it can.
void TestDeployServers::responderDownMustStapleKeepsTheOldGeneration()
{
    const EximCase exim = startEximCase(QStringLiteral("exim-must-staple"), m_mustA);
    if (exim.notInstalled)
        QSKIP("exim4 is not installed");
    QVERIFY2(exim.problem.isEmpty(), qPrintable(exim.problem));
    m_responder->setDefaultScenario(ResponderScenario::Http500);
    const CliRun run = deploy(source(QStringLiteral("must-staple-B"), m_mustB), exim.dest,
                              {"--json", "--verify", QStringLiteral("127.0.0.1:%1").arg(exim.options.port),
                               "--verify-starttls", "smtp"});
    QCOMPARE(run.exitCode, 2);
    QVERIFY(m_responder->ocspRequestCount() >= 1);
    QVERIFY2(run.out.contains(QLatin1String("DEPLOY_REFUSED")), qPrintable(run.all()));
    QCOMPARE(current(exim.dest), exim.firstGeneration);
    const Served served = probeServed(exim.options.port, m_pki.hostName, StartTlsProtocol::Smtp, false);
    QVERIFY2(served.leafSerial == serialOf(m_mustA) && served.stapleSerial == serialOf(m_mustA), qPrintable(served.describe()));
}

// The responder is down while a certificate without must-staple is deployed: it is flipped to
// and served with no staple (exit 1, a warning), never with the old certificate's staple.
void TestDeployServers::responderDownWithoutMustStapleServesNoStaple()
{
    const EximCase exim = startEximCase(QStringLiteral("exim-no-staple"), m_certA);
    if (exim.notInstalled)
        QSKIP("exim4 is not installed");
    QVERIFY2(exim.problem.isEmpty(), qPrintable(exim.problem));
    m_responder->setDefaultScenario(ResponderScenario::Http500);
    const CliRun run = deploy(source(QStringLiteral("no-staple-B"), m_certB), exim.dest,
                              {"--verify", QStringLiteral("127.0.0.1:%1").arg(exim.options.port), "--verify-starttls", "smtp"});
    QVERIFY2(run.exitCode == 1, qPrintable(run.all()));
    QVERIFY(current(exim.dest) != exim.firstGeneration);
    QVERIFY(!QFileInfo::exists(exim.dest + QStringLiteral("/current/ocsp.der")));
    const Served served = probeServed(exim.options.port, m_pki.hostName, StartTlsProtocol::Smtp, false);
    QVERIFY2(served.established, qPrintable(served.describe()));
    QCOMPARE(served.leafSerial, serialOf(m_certB));
    QVERIFY2(served.stapleSerial.isEmpty(), qPrintable(served.describe()));
}

// The reload command fails: deploy flips back to the old generation (rollback, exit 2, both
// results reported). Exim reads per connection, so without the rollback it would serve B now.
void TestDeployServers::failingReloadCommandRollsBack()
{
    const EximCase exim = startEximCase(QStringLiteral("exim-reload-fails"), m_certA);
    if (exim.notInstalled)
        QSKIP("exim4 is not installed");
    QVERIFY2(exim.problem.isEmpty(), qPrintable(exim.problem));
    const CliRun run = deploy(source(QStringLiteral("reload-fails-B"), m_certB), exim.dest,
                              {"--reload-command", "echo 'reload: configuration test failed' >&2; exit 3"});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.all().contains(QLatin1String("configuration test failed")), qPrintable(run.all()));
    QVERIFY2(run.all().contains(QLatin1String("DEPLOY_ROLLED_BACK")) || run.all().contains(QLatin1String("rolled back")),
             qPrintable(run.all()));
    QCOMPARE(current(exim.dest), exim.firstGeneration);
    const Served served = probeServed(exim.options.port, m_pki.hostName, StartTlsProtocol::Smtp, false);
    QVERIFY2(served.leafSerial == serialOf(m_certA) && served.stapleSerial == serialOf(m_certA), qPrintable(served.describe()));
}

// Someone broke nginx's configuration: the reload does not take, the check after the flip does
// not see B, deploy rolls back, and nginx goes on serving A with A's staple.
void TestDeployServers::brokenNginxConfigRollsBack()
{
    const QString dir = caseDir(QStringLiteral("nginx-broken"));
    const QString dest = dir + QStringLiteral("/dest");
    const CliRun first = deploy(source(QStringLiteral("nginx-broken-A"), m_certA), dest);
    QVERIFY2(first.exitCode == 0, qPrintable(first.all()));
    const QString generationA = current(dest);
    NginxOptions nginx;
    nginx.dir = dir;
    nginx.port = freePort();
    nginx.serverName = m_pki.hostName;
    nginx.fullchain = dest + QStringLiteral("/current/fullchain.pem");
    nginx.key = dest + QStringLiteral("/current/privkey.pem");
    nginx.staple = dest + QStringLiteral("/current/ocsp.der");
    nginx.masterProcess = true;
    const ServerStart start = m_servers.startNginx(nginx);
    if (start.notInstalled())
        QSKIP("nginx is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    QByteArray config = readFile(dir + QStringLiteral("/nginx.conf"));
    config.replace("events {", "no_such_directive on;\nevents {");
    QVERIFY(writeFile(dir + QStringLiteral("/nginx.conf"), config));

    const CliRun run = deploy(source(QStringLiteral("nginx-broken-B"), m_certB), dest,
                              {"--reload-command", nginxReloadCommand(nginx), "--verify",
                               QStringLiteral("127.0.0.1:%1").arg(nginx.port)});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.all().contains(QLatin1String("no_such_directive")), qPrintable(run.all()));
    QCOMPARE(current(dest), generationA);
    const Served served = probeServed(nginx.port, m_pki.hostName, StartTlsProtocol::None);
    QVERIFY2(served.leafSerial == serialOf(m_certA) && served.stapleSerial == serialOf(m_certA), qPrintable(served.describe()));
    QVERIFY(start.process->running());
}

// THE INCIDENT, which this design must rule out: deploys of alternating certificates run one
// after another while a client does STARTTLS handshakes against Exim without pause. Exim is
// configured as docs/deploy.md says: its connect ACL reads DEST/current/path once, and the
// certificate, key and staple are opened under that generation's own path. No handshake
// may ever get a certificate with a staple for another certificate, and every handshake must
// succeed. Debian's Exim (GnuTLS) refuses to send a staple that does not match the certificate it
// read, so a connection that read the certificate before a flip and the staple after it shows up
// here as a failed handshake, with "The OCSP response provided doesn't match" in Exim's log (quoted
// in the failure message); an Exim built with OpenSSL would send that mix.
void TestDeployServers::incidentCannotHappenWhileDeploying()
{
    const EximCase exim = startEximCase(QStringLiteral("exim-incident"), m_certA, true);
    if (exim.notInstalled)
        QSKIP("exim4 is not installed");
    QVERIFY2(exim.problem.isEmpty(), qPrintable(exim.problem));
    const QString sourceA = source(QStringLiteral("incident-A"), m_certA);
    const QString sourceB = source(QStringLiteral("incident-B"), m_certB);
    const QString serialA = serialOf(m_certA);
    const QString serialB = serialOf(m_certB);

    struct Tally {
        std::mutex mutex;
        int handshakes = 0;
        int failed = 0;
        int mixed = 0;
        int withoutStaple = 0;
        QSet<QString> servedSerials;
        QStringList problems;
    } tally;
    std::atomic<bool> stop{false};
    const quint16 port = exim.options.port;
    const QString hostName = m_pki.hostName;
    std::thread client([&] {
        while (!stop.load()) {
            // No retry without status_request: a handshake that fails is counted as failed.
            const Served served = probeServed(port, hostName, StartTlsProtocol::Smtp, false);
            std::lock_guard lock(tally.mutex);
            ++tally.handshakes;
            if (!served.established) {
                ++tally.failed;
                if (tally.problems.size() < 5)
                    tally.problems << served.describe();
                continue;
            }
            tally.servedSerials.insert(served.leafSerial);
            if (served.stapleSerial.isEmpty())
                ++tally.withoutStaple;
            else if (served.stapleSerial != served.leafSerial) {
                ++tally.mixed;
                if (tally.problems.size() < 5)
                    tally.problems << served.describe();
            }
        }
    });
    struct Joiner {
        std::atomic<bool>& stop;
        std::thread& thread;
        ~Joiner()
        {
            stop = true;
            if (thread.joinable())
                thread.join();
        }
    } joiner{stop, client};

    constexpr int kDeploys = 12;
    QStringList deployProblems;
    for (int i = 1; i <= kDeploys; ++i) {
        const bool toB = i % 2 == 1;
        const CliRun run = deploy(toB ? sourceB : sourceA, exim.dest,
                                  {"--keep", "2", "--verify", QStringLiteral("127.0.0.1:%1").arg(port), "--verify-starttls", "smtp"});
        if (run.exitCode != 0)
            deployProblems << QStringLiteral("deploy %1: exit %2: %3").arg(i).arg(run.exitCode).arg(run.all());
        const QString deployed = serialOfPemFile(exim.dest + QStringLiteral("/current/cert.pem"));
        if (deployed != (toB ? serialB : serialA))
            deployProblems << QStringLiteral("deploy %1: DEST/current holds %2").arg(i).arg(deployed);
    }
    // A few more handshakes after the last flip, then stop the client.
    QTest::qWait(300);
    stop = true;
    client.join();

    std::lock_guard lock(tally.mutex);
    qInfo("%d deploys, %d STARTTLS handshakes meanwhile: %d failed, %d with another certificate's staple, %d without a staple",
          kDeploys, tally.handshakes, tally.failed, tally.mixed, tally.withoutStaple);
    QVERIFY2(deployProblems.isEmpty(), qPrintable(deployProblems.join(QLatin1Char('\n'))));
    QVERIFY2(tally.mixed == 0, qPrintable(tally.problems.join(QLatin1Char('\n'))));
    QVERIFY2(tally.failed == 0,
             qPrintable(tally.problems.join(QLatin1Char('\n')) + QStringLiteral("\nExim's log:\n")
                        + QString::fromLocal8Bit(readFile(exim.options.dir + QStringLiteral("/log/mainlog")).right(2500))
                        + QString::fromLocal8Bit(readFile(exim.options.dir + QStringLiteral("/log/paniclog")).right(1000))));
    // Handshakes without a staple are counted, not failed: sending none is the safe outcome for a
    // connection that straddles a flip (the certificate has no must-staple).
    QVERIFY2(tally.handshakes >= 2 * kDeploys, qPrintable(QString::number(tally.handshakes)));
    QVERIFY(tally.servedSerials.contains(serialA));
    QVERIFY(tally.servedSerials.contains(serialB));
    // --keep 2: the current generation and the one before it, nothing older.
    QCOMPARE(QDir(exim.dest + QStringLiteral("/generations")).entryList(QDir::Dirs | QDir::NoDotAndDotDot).size(), 2);
}

// Renewal end to end: certbot gets a certificate from pebble, deploy puts it into DEST, Exim
// serves DEST/current; `renew --force --deploy-to DEST` has certbot renew it (a new order, a new
// http-01 validation), fetches the new certificate's staple from the responder pebble names and
// flips: Exim serves the new certificate with its own staple at the next connection.
void TestDeployServers::renewDeployToEndToEnd()
{
    PebbleCa pebble;
    const PebbleCa::Start started = pebble.start();
    if (started.notInstalled())
        QSKIP(qPrintable(started.problem));
    QVERIFY2(started.started(), qPrintable(started.problem));
    const QString name = QStringLiteral("renew.example.test");
    const QString dir = caseDir(QStringLiteral("renew"));
    const AcmeClientRun issued = pebble.certbotIssue(name, dir + QStringLiteral("/certbot"));
    if (issued.notInstalled)
        QSKIP("certbot is not installed");
    QVERIFY2(issued.ok(), qPrintable(issued.describe()));
    const QString dest = dir + QStringLiteral("/dest");
    const QStringList trust{"--ca-file", pebble.rootFile(), "--no-system-trust"};
    const CliRun first = runCli(QStringList{"deploy", "--from", issued.lineage, "--to", dest} + trust,
                                pebble.clientEnvironment());
    QVERIFY2(first.exitCode == 0, qPrintable(first.all()));
    const QString oldSerial = serialOfPemFile(issued.lineage + QStringLiteral("/cert.pem"));
    QCOMPARE(serialOfPemFile(dest + QStringLiteral("/current/cert.pem")), oldSerial);
    shareKeyWithExim(dest + QStringLiteral("/current/privkey.pem"));

    EximOptions exim;
    exim.dir = dir;
    exim.port = freePort();
    exim.hostName = name;
    exim.cert = dest + QStringLiteral("/current/fullchain.pem");
    exim.key = dest + QStringLiteral("/current/privkey.pem");
    exim.staple = dest + QStringLiteral("/current/ocsp.der");
    exim.stapleOnlyIfExists = true;
    const ServerStart start = m_servers.startExim(exim);
    if (start.notInstalled())
        QSKIP("exim4 is not installed");
    QVERIFY2(start.started(), qPrintable(start.problem));
    Served served = probeServed(exim.port, name, StartTlsProtocol::Smtp);
    QVERIFY2(served.leafSerial == oldSerial && served.stapleSerial == oldSerial, qPrintable(served.describe()));

    // Exim needs no reload; what it serves is checked below (renew's --verify has no STARTTLS
    // choice, and this port says nothing about SMTP).
    const CliRun run = runCli(QStringList{"renew", "--force", "--json", "--deploy-to", dest, "--acme-ca-file",
                                          pebble.tlsCertificateFile()}
                                  + trust + QStringList{issued.lineage},
                              pebble.clientEnvironment(), PebbleCa::kClientTimeoutMs);
    // The lineage itself holds no staple (no failed renewal); the deployed generation has one.
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    const QJsonObject result = run.json().value(QLatin1String("result")).toObject();
    const QJsonObject entry = result.value(QLatin1String("entries")).toArray().at(0).toObject();
    QCOMPARE(entry.value(QLatin1String("renewed")).toBool(), true);
    const QJsonObject deployed = entry.value(QLatin1String("deploys")).toArray().at(0).toObject();
    QVERIFY2(deployed.value(QLatin1String("flipped")).toBool(), qPrintable(run.out));
    const QString newSerial = serialOfPemFile(issued.lineage + QStringLiteral("/cert.pem"));
    QVERIFY(!newSerial.isEmpty());
    QVERIFY(newSerial != oldSerial);
    QCOMPARE(serialOfPemFile(dest + QStringLiteral("/current/cert.pem")), newSerial);
    QCOMPARE(serialOfStaple(readFile(dest + QStringLiteral("/current/ocsp.der"))), newSerial);
    served = probeServed(exim.port, name, StartTlsProtocol::Smtp);
    QVERIFY2(served.leafSerial == newSerial && served.stapleSerial == newSerial, qPrintable(served.describe()));
    const CliRun check = runCli(QStringList{"connect", QStringLiteral("127.0.0.1:%1").arg(exim.port), "--starttls", "smtp",
                                            "--servername", name, "--compare", dest + QStringLiteral("/current")}
                                + trust);
    QVERIFY2(check.exitCode == 0, qPrintable(check.all()));
    QVERIFY2(check.all().contains(newSerial), qPrintable(check.all()));
}

QTEST_GUILESS_MAIN(TestDeployServers)
#include "tst_deploy_servers.moc"
