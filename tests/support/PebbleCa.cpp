#include "PebbleCa.h"

#include "Certificate.h"
#include "OpenSslPtr.h"

#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QThread>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <mutex>

namespace staplescope::test {

// The watched folders, shared with the responder's threads.
struct WatchedDirs {
    std::mutex mutex;
    QStringList dirs;
};

namespace {

constexpr int kToolTimeoutMs = 20000;   // openssl, curl
constexpr int kStartTimeoutMs = 15000;  // pebble generating its CA on a busy machine

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeFile(const QString& path, const QByteArray& bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly | QIODevice::Truncate) && f.write(bytes) == bytes.size();
}

// The serial as Certificate::serialHex() writes it (what TestResponder keys certificates by).
QString serialHexOf(const X509* cert)
{
    BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
    if (!bn)
        return {};
    QByteArray bytes(BN_num_bytes(bn.get()), '\0');
    BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
    if (bytes.isEmpty())
        bytes = QByteArray(1, '\0');
    return signedSerialHex(bytes, BN_is_negative(bn.get()));
}

QList<std::shared_ptr<X509>> certificatesInPem(const QByteArray& pem)
{
    QList<std::shared_ptr<X509>> certs;
    BioPtr bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    while (bio) {
        X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
        if (!cert)
            break;
        certs << std::shared_ptr<X509>(cert, X509_free);
    }
    ERR_clear_error();
    return certs;
}

std::shared_ptr<EVP_PKEY> privateKeyInPem(const QByteArray& pem)
{
    BioPtr bio(BIO_new_mem_buf(pem.constData(), int(pem.size())));
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    ERR_clear_error();
    return key ? std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free) : nullptr;
}

// Looks through the PEM files under the watched folders for a certificate with this serial.
std::optional<IssuedCert> findCertificate(WatchedDirs& watched, const QString& serialHex)
{
    QStringList dirs;
    {
        std::lock_guard lock(watched.mutex);
        dirs = watched.dirs;
    }
    for (const QString& dir : dirs) {
        QDirIterator it(dir, {QStringLiteral("*.pem"), QStringLiteral("*.crt")}, QDir::Files,
                        QDirIterator::Subdirectories);
        while (it.hasNext()) {
            const QString path = it.next();
            if (QFileInfo(path).size() > 256 * 1024)
                continue;
            for (const std::shared_ptr<X509>& cert : certificatesInPem(readAll(path))) {
                if (serialHexOf(cert.get()).compare(serialHex, Qt::CaseInsensitive) == 0) {
                    IssuedCert found;
                    found.cert = cert;
                    return found;
                }
            }
        }
    }
    return std::nullopt;
}

QString lastLines(const QString& text, int count)
{
    QStringList lines = text.split(QLatin1Char('\n'));
    while (!lines.isEmpty() && lines.last().trimmed().isEmpty())
        lines.removeLast();
    return lines.mid(qMax(0, int(lines.size()) - count)).join(QLatin1Char('\n'));
}

} // namespace

QString AcmeClientRun::describe() const
{
    if (notInstalled)
        return command + QStringLiteral(": not installed");
    return QStringLiteral("%1\n→ %2\n%3")
        .arg(command, timedOut ? QStringLiteral("timed out") : QStringLiteral("exit %1").arg(exitCode),
             lastLines(output, 25));
}

PebbleCa::PebbleCa() : m_watched(std::make_shared<WatchedDirs>()) {}

PebbleCa::~PebbleCa() { stop(); }

PebbleCa::Start PebbleCa::start()
{
    Start start;
    const QString pebble = findServer(QStringLiteral("pebble"));
    const QString dns = findServer(QStringLiteral("pebble-challtestsrv"));
    const QString curl = findServer(QStringLiteral("curl"));
    const QString openssl = findServer(QStringLiteral("openssl"));
    QStringList missing;
    for (const auto& [name, path] : {std::pair{"pebble", pebble}, std::pair{"pebble-challtestsrv", dns},
                                     std::pair{"curl", curl}, std::pair{"openssl", openssl}})
        if (path.isEmpty())
            missing << QLatin1String(name);
    if (!missing.isEmpty()) {
        start.status = Start::Status::NotInstalled;
        start.problem = missing.join(QStringLiteral(", ")) + QStringLiteral(" not installed (scripts/dev test installs them)");
        return start;
    }
    if (!m_dir.isValid()) {
        start.problem = QStringLiteral("cannot create a temporary folder for pebble");
        return start;
    }
    const QString dir = m_dir.path();

    // The responder listens first: pebble writes its URL into every certificate. It answers as
    // pebble's intermediate once pebble has made it (setCa below); until then as a stand-in.
    const QDateTime now = QDateTime::currentDateTimeUtc();
    {
        CertSpec standIn;
        standIn.commonName = QStringLiteral("Stand-in until pebble's CA is known");
        standIn.isCa = true;
        standIn.notBefore = now.addDays(-1);
        standIn.notAfter = now.addDays(1);
        m_responder = std::make_unique<TestResponder>(ResponderCa{PkiFactory().issue(standIn), {}}, now);
    }
    if (!m_responder->start()) {
        start.problem = QStringLiteral("the OCSP test responder did not start");
        return start;
    }
    m_responder->setCertificateLookup(
        [watched = m_watched](const QString& serialHex) { return findCertificate(*watched, serialHex); });

    // pebble's own listener certificate, for 127.0.0.1 and localhost.
    {
        QProcess process;
        process.setWorkingDirectory(dir);
        process.setProcessChannelMode(QProcess::MergedChannels);
        process.start(openssl, {"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                "-keyout", "tls.key", "-out", "tls.crt", "-subj", "/CN=localhost", "-addext",
                                "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "2"});
        if (!process.waitForFinished(kToolTimeoutMs) || process.exitCode() != 0) {
            process.kill();
            process.waitForFinished(1000);
            start.problem = QStringLiteral("openssl could not make pebble's TLS certificate: ")
                + QString::fromLocal8Bit(process.readAll());
            return start;
        }
    }

    const quint16 dnsPort = freePort();
    const quint16 dnsManagementPort = freePort();
    m_acmePort = freePort();
    m_managementPort = freePort();
    m_http01Port = freePort();
    const quint16 tlsAlpnPort = freePort();
    const QByteArray config = QStringLiteral(R"({"pebble": {
  "listenAddress": "127.0.0.1:%1",
  "managementListenAddress": "127.0.0.1:%2",
  "certificate": "%3/tls.crt",
  "privateKey": "%3/tls.key",
  "httpPort": %4,
  "tlsPort": %5,
  "ocspResponderURL": "%6",
  "externalAccountBindingRequired": false
}}
)")
                                  .arg(m_acmePort)
                                  .arg(m_managementPort)
                                  .arg(dir)
                                  .arg(m_http01Port)
                                  .arg(tlsAlpnPort)
                                  .arg(m_responder->ocspUrl())
                                  .toUtf8();
    if (!writeFile(dir + QStringLiteral("/pebble.json"), config)) {
        start.problem = QStringLiteral("cannot write pebble.json in ") + dir;
        return start;
    }

    // A DNS server answering 127.0.0.1 for every name: pebble validates http-01 there. The DNS
    // port is UDP, so readiness is judged by its management port.
    m_dns = std::make_unique<ServerProcess>(
        QStringLiteral("pebble-challtestsrv"), dns,
        QStringList{"-defaultIPv6", "", "-defaultIPv4", "127.0.0.1", "-http01", "", "-https01", "", "-tlsalpn01", "",
                    "-dns01", QStringLiteral("127.0.0.1:%1").arg(dnsPort), "-management",
                    QStringLiteral("127.0.0.1:%1").arg(dnsManagementPort)},
        dir);
    QString why;
    if (!m_dns->start(dnsManagementPort, &why)) {
        start.problem = why;
        return start;
    }
    // `env` execs pebble (same process, so stopping it stops pebble): no random validation sleeps,
    // no rejected nonces, which make clients retry and tests slow.
    m_pebble = std::make_unique<ServerProcess>(
        QStringLiteral("pebble"), QStringLiteral("/usr/bin/env"),
        QStringList{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0", pebble, "-config",
                    dir + QStringLiteral("/pebble.json"), "-dnsserver", QStringLiteral("127.0.0.1:%1").arg(dnsPort)},
        dir);
    if (!m_pebble->start(m_acmePort, &why)) {
        start.problem = why;
        return start;
    }
    QElapsedTimer waited;
    waited.start();
    while (!portAccepts(m_managementPort) && waited.elapsed() < kStartTimeoutMs && m_pebble->running())
        QThread::msleep(20);

    // The CA pebble generated at this start: root, intermediate and the intermediate's key.
    for (const auto& [path, file] : {std::pair{"/roots/0", "root.pem"}, std::pair{"/intermediates/0", "intermediate.pem"},
                                     std::pair{"/intermediate-keys/0", "intermediate.key"}}) {
        if (!fetchManagement(QLatin1String(path), dir + QLatin1Char('/') + QLatin1String(file), &why)) {
            start.problem = why;
            return start;
        }
    }
    const QList<std::shared_ptr<X509>> intermediates = certificatesInPem(readAll(intermediateFile()));
    m_intermediate.cert = intermediates.value(0);
    m_intermediate.key = privateKeyInPem(readAll(dir + QStringLiteral("/intermediate.key")));
    if (!m_intermediate.cert || !m_intermediate.key || certificatesInPem(readAll(rootFile())).isEmpty()
        || X509_check_private_key(m_intermediate.cert.get(), m_intermediate.key.get()) != 1) {
        ERR_clear_error();
        start.problem = QStringLiteral("pebble's management interface gave no usable root, intermediate and key");
        return start;
    }
    m_responder->setCa(ResponderCa{m_intermediate, {}});
    start.status = Start::Status::Started;
    return start;
}

bool PebbleCa::fetchManagement(const QString& path, const QString& file, QString* why) const
{
    const QString url = QStringLiteral("https://127.0.0.1:%1%2").arg(m_managementPort).arg(path);
    QString last;
    QElapsedTimer waited;
    waited.start();
    // Right after the port opens pebble may still be making its CA: try again briefly.
    while (waited.elapsed() < kStartTimeoutMs) {
        QProcess curl;
        curl.setProcessChannelMode(QProcess::SeparateChannels);
        curl.start(findServer(QStringLiteral("curl")),
                   {"-sS", "--fail", "--max-time", "5", "--cacert", tlsCertificateFile(), "-o", file, url});
        if (!curl.waitForFinished(kToolTimeoutMs)) {
            curl.kill();
            curl.waitForFinished(1000);
            last = QStringLiteral("curl timed out");
        } else if (curl.exitCode() == 0 && QFileInfo(file).size() > 0) {
            return true;
        } else {
            last = QString::fromLocal8Bit(curl.readAllStandardError()).trimmed();
        }
        QThread::msleep(200);
    }
    *why = QStringLiteral("could not fetch %1 from pebble: %2").arg(url, last);
    return false;
}

void PebbleCa::stopPebble()
{
    if (m_pebble)
        m_pebble->stop();
}

bool PebbleCa::pebbleRunning() const { return m_pebble && m_pebble->running(); }

void PebbleCa::stop()
{
    if (m_pebble)
        m_pebble->stop();
    if (m_dns)
        m_dns->stop();
    if (m_responder)
        m_responder->stop();
}

QString PebbleCa::directoryUrl() const { return QStringLiteral("https://127.0.0.1:%1/dir").arg(m_acmePort); }
QString PebbleCa::tlsCertificateFile() const { return m_dir.filePath(QStringLiteral("tls.crt")); }
QString PebbleCa::rootFile() const { return m_dir.filePath(QStringLiteral("root.pem")); }
QString PebbleCa::intermediateFile() const { return m_dir.filePath(QStringLiteral("intermediate.pem")); }

QProcessEnvironment PebbleCa::clientEnvironment() const
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("REQUESTS_CA_BUNDLE"), tlsCertificateFile());
    environment.insert(QStringLiteral("LEGO_CA_CERTIFICATES"), tlsCertificateFile());
    return environment;
}

void PebbleCa::watchDirectory(const QString& dir)
{
    std::lock_guard lock(m_watched->mutex);
    if (!m_watched->dirs.contains(dir))
        m_watched->dirs << dir;
}

AcmeClientRun PebbleCa::runClient(const QString& program, const QStringList& arguments, int timeoutMs) const
{
    AcmeClientRun run;
    const QString path = findServer(program);
    run.command = program + QLatin1Char(' ') + arguments.join(QLatin1Char(' '));
    if (path.isEmpty()) {
        run.notInstalled = true;
        return run;
    }
    QProcess process;
    process.setProcessEnvironment(clientEnvironment());
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(path, arguments);
    if (!process.waitForStarted(5000)) {
        run.output = process.errorString();
        return run;
    }
    if (!process.waitForFinished(timeoutMs)) {
        run.timedOut = true;
        process.kill();
        process.waitForFinished(2000);
    }
    run.output += QString::fromLocal8Bit(process.readAll());
    if (!run.timedOut)
        run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    return run;
}

AcmeClientRun PebbleCa::certbotIssue(const QString& name, const QString& dir, const QStringList& extraArgs)
{
    const QString configDir = dir + QStringLiteral("/letsencrypt");
    watchDirectory(configDir);
    QStringList arguments{"certonly", "-n", "--agree-tos", "--register-unsafely-without-email", "--server",
                          directoryUrl(), "--standalone", "--preferred-challenges", "http", "--http-01-port",
                          QString::number(m_http01Port), "--http-01-address", "127.0.0.1", "--config-dir", configDir,
                          "--work-dir", dir + QStringLiteral("/work"), "--logs-dir", dir + QStringLiteral("/logs"),
                          "-d", name};
    if (!extraArgs.contains(QStringLiteral("--key-type")))
        arguments << "--key-type" << "ecdsa";
    AcmeClientRun run = runClient(QStringLiteral("certbot"), arguments + extraArgs, kClientTimeoutMs);
    run.configDir = configDir;
    run.workDir = dir + QStringLiteral("/work");
    run.logsDir = dir + QStringLiteral("/logs");
    run.lineage = configDir + QStringLiteral("/live/") + name;
    return run;
}

AcmeClientRun PebbleCa::certbotRenew(const QString& name, const QString& dir, const QStringList& extraArgs)
{
    const QString configDir = dir + QStringLiteral("/letsencrypt");
    watchDirectory(configDir);
    AcmeClientRun run = runClient(QStringLiteral("certbot"),
                                  QStringList{"renew", "-n", "--no-random-sleep-on-renew", "--force-renewal",
                                              "--cert-name", name, "--config-dir", configDir, "--work-dir",
                                              dir + QStringLiteral("/work"), "--logs-dir", dir + QStringLiteral("/logs")}
                                      + extraArgs,
                                  kClientTimeoutMs);
    run.configDir = configDir;
    run.workDir = dir + QStringLiteral("/work");
    run.logsDir = dir + QStringLiteral("/logs");
    run.lineage = configDir + QStringLiteral("/live/") + name;
    return run;
}

AcmeClientRun PebbleCa::legoIssue(const QString& name, const QString& dir, const QStringList& extraArgs)
{
    const QString legoPath = dir + QStringLiteral("/lego");
    watchDirectory(legoPath);
    QStringList arguments{"--server", directoryUrl(), "--accept-tos", "--email", "test@example.com", "--domains", name,
                          "--http", "--http.port", QStringLiteral("127.0.0.1:%1").arg(m_http01Port), "--path", legoPath};
    if (!extraArgs.contains(QStringLiteral("--key-type")))
        arguments << "--key-type" << "ec256";
    AcmeClientRun run = runClient(QStringLiteral("lego"), arguments + extraArgs + QStringList{"run"}, kClientTimeoutMs);
    run.lineage = legoPath;
    return run;
}

} // namespace staplescope::test
