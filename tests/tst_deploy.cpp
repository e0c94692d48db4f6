// Deployer and `staplescope-cli deploy`: a certificate's files with a fresh staple into a new
// generation, gated, made current by one symlink flip; idempotence, --keep, must-staple refusal,
// deploy without a staple, clear errors for unusable sources, rollback after a failed reload,
// --rollback, --list, --dry-run, JSON without key material, `refresh` on a destination, two
// deploys at once, and crash safety: the CLI killed (SIGKILL) at every fault point.

#include "Command.h"
#include "Deployer.h"
#include "FindingRegistry.h"
#include "Inspection.h"
#include "RealServers.h"
#include "TestClock.h"
#include "TestPki.h"
#include "TestResponder.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QElapsedTimer>
#include <QTest>
#include <QThread>

#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace staplescope;
using namespace staplescope::cli;
using namespace staplescope::test;

namespace {

struct CliRun {
    int exitCode = -1;
    QString out, err;
    QString all() const { return out + err; }
};

QByteArray readFile(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

mode_t modeOf(const QString& path)
{
    struct stat st = {};
    return ::stat(QFile::encodeName(path).constData(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

gid_t groupOf(const QString& path)
{
    struct stat st = {};
    return ::stat(QFile::encodeName(path).constData(), &st) == 0 ? st.st_gid : gid_t(-1);
}

QString currentName(const QString& destination)
{
    const QFileInfo link(QDir(destination).filePath(QStringLiteral("current")));
    return link.isSymLink() ? QFileInfo(link.symLinkTarget()).fileName() : QString();
}

QStringList generationNames(const QString& destination)
{
    return QDir(QDir(destination).filePath(QStringLiteral("generations"))).entryList(QDir::Dirs | QDir::NoDotAndDotDot | QDir::Hidden, QDir::Name);
}

QString serialOf(const IssuedCert& cert) { return Certificate::fromDer(cert.certDer(), {}).serialHex(); }

// The serial of the certificate in DEST/generations/NAME.
QString generationSerial(const QString& destination, const QString& name)
{
    const QDir folder(QDir(destination).filePath(QStringLiteral("generations/") + name));
    const QString file = folder.filePath(QFileInfo::exists(folder.filePath(QStringLiteral("cert.pem"))) ? QStringLiteral("cert.pem")
                                                                                                       : QStringLiteral("haproxy.pem"));
    const LoadedInputs loaded = Loader().loadFile(file);
    return loaded.certificates.isEmpty() ? QString() : loaded.certificates.first().serialHex();
}

} // namespace

class TestDeploy : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void namesAndLayouts();
    void deploysCertbotLineageThenIsIdempotent();
    void plainFolderKeepsPreviousKeyGroupAndModeAndPrunes();
    void mustStapleWithResponderDownIsRefused();
    void withoutMustStapleResponderDownDeploysWithoutStaple();
    void certificateWithoutOcspUrlDeploysWithoutStaple();
    void unusableSourcesAreClearErrors();
    void legoAndAcmeShSources();
    void failingReloadRollsBack();
    void rollbackAndList();
    void dryRunChangesNothing();
    void jsonHoldsNoKeyMaterial();
    void refreshOnDestinationDeploysNewGeneration();
    void deployDestinationOfPaths();
    void destinationsServingNameTheCertificatesDestination();
    void twoDeploysAtOnceBothEndWell();
    void lockHeldByAnotherRunIsBoundedAndExplained();
    void haproxyRuntimeApiSwapsCertificateAndVerifyRollsBack();
    void crashAtEveryFaultPointLeavesCompleteGeneration_data();
    void crashAtEveryFaultPointLeavesCompleteGeneration();

private:
    CliRun cli(const QString& command, const QStringList& arguments);
    QStringList commonArguments() const;
    // A certbot-shaped lineage: live/NAME/*.pem symlinks into archive/NAME/*N.pem.
    QString certbotLineage(const IssuedCert& leaf, int version = 1);
    QString plainFolder(const QString& name, const IssuedCert& leaf);
    // The generation is complete (its files for the layout all there) and passes the gate.
    QString generationProblem(const QString& folder);
    bool haveCli() const { return QFileInfo(qEnvironmentVariable("STAPLESCOPE_CLI")).isExecutable(); }
    QProcess::ExitStatus runProcess(const QStringList& arguments, const QProcessEnvironment& environment, int* exitCode, QString* output);

    std::unique_ptr<TestPki> m_pki;
    std::unique_ptr<TestResponder> m_responder;
    std::unique_ptr<TestFolder> m_folder;
    IssuedCert m_leaf, m_renewed;
    QString m_rootFile;
    QString m_dest;
};

void TestDeploy::initTestCase()
{
    for (const char* name : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "RENEWED_LINEAGE"})
        qunsetenv(name);
}

void TestDeploy::init()
{
    m_pki = std::make_unique<TestPki>();
    m_responder = std::make_unique<TestResponder>(*m_pki);
    QVERIFY(m_responder->start());
    m_leaf = m_responder->issueLeaf();
    // Its renewal: same names, same CA, a new key, issued a day later.
    m_renewed = m_responder->issueLeaf([&](CertSpec& spec) {
        spec.notBefore = daysFrom(m_pki->now(), -1);
        spec.notAfter = daysFrom(m_pki->now(), 89);
    });
    m_folder = std::make_unique<TestFolder>();
    QVERIFY(m_folder->isValid());
    m_rootFile = m_folder->write(QStringLiteral("trust/root.pem"), m_pki->root.certPem());
    m_dest = m_folder->path(QStringLiteral("dest"));
}

void TestDeploy::cleanup()
{
    m_responder.reset();
    m_folder.reset();
}

QStringList TestDeploy::commonArguments() const
{
    return {QStringLiteral("--no-system-trust"), QStringLiteral("--ca-file"), m_rootFile, QStringLiteral("--timeout"), QStringLiteral("3")};
}

CliRun TestDeploy::cli(const QString& command, const QStringList& arguments)
{
    CliRun run;
    QTextStream out(&run.out);
    QTextStream err(&run.err);
    CommandStreams streams{out, err, false, false};
    const auto clock = std::make_shared<FixedClock>(m_pki->now());
    run.exitCode = runCli(QStringList{QStringLiteral("staplescope-cli"), command} + commonArguments() + arguments, streams, clock);
    out.flush();
    err.flush();
    return run;
}

QString TestDeploy::certbotLineage(const IssuedCert& leaf, int version)
{
    const QString archive = QStringLiteral("le/archive/example");
    const QString n = QString::number(version);
    m_folder->write(archive + QStringLiteral("/cert%1.pem").arg(n), leaf.certPem());
    m_folder->write(archive + QStringLiteral("/chain%1.pem").arg(n), m_pki->intermediate.certPem());
    m_folder->write(archive + QStringLiteral("/fullchain%1.pem").arg(n), leaf.certPem() + m_pki->intermediate.certPem());
    const QString key = m_folder->write(archive + QStringLiteral("/privkey%1.pem").arg(n), m_pki->keyPem(leaf));
    ::chmod(QFile::encodeName(key).constData(), 0600);
    const QString live = m_folder->mkdir(QStringLiteral("le/live/example"));
    for (const QString& name : {QStringLiteral("cert"), QStringLiteral("chain"), QStringLiteral("fullchain"), QStringLiteral("privkey")}) {
        const QString link = QDir(live).filePath(name + QStringLiteral(".pem"));
        QFile::remove(link);
        QFile::link(QStringLiteral("../../archive/example/%1%2.pem").arg(name, n), link);
    }
    return live;
}

QString TestDeploy::plainFolder(const QString& name, const IssuedCert& leaf)
{
    m_folder->write(name + QStringLiteral("/site.crt"), leaf.certPem());
    m_folder->write(name + QStringLiteral("/intermediate.pem"), m_pki->intermediate.certPem());
    m_folder->write(name + QStringLiteral("/site.key"), m_pki->keyPem(leaf));
    return m_folder->path(name);
}

QString TestDeploy::generationProblem(const QString& folder)
{
    const QDir dir(folder);
    const bool staple = QFileInfo::exists(dir.filePath(QStringLiteral("ocsp.der")));
    for (const QString& file : generationFileNames(DeployLayout::All, staple))
        if (!QFileInfo(dir.filePath(file)).isFile())
            return QStringLiteral("%1 is missing").arg(file);
    // The generation names itself, so a server reading `current/path` once per connection opens
    // every file of that one generation.
    QFile pathFile(dir.filePath(generationPathFileName()));
    if (!pathFile.open(QIODevice::ReadOnly))
        return QStringLiteral("%1 is missing").arg(generationPathFileName());
    const QString named = QString::fromUtf8(pathFile.readAll());
    if (!QFileInfo(named).isAbsolute() || QFileInfo(named).canonicalFilePath() != QFileInfo(folder).canonicalFilePath())
        return QStringLiteral("%1 names %2, not this generation").arg(generationPathFileName(), named);
    InspectRequest request;
    request.files.certFiles = {dir.filePath(QStringLiteral("fullchain.pem"))};
    request.files.keyFiles = {dir.filePath(QStringLiteral("privkey.pem"))};
    if (staple)
        request.files.stapleFiles = {dir.filePath(QStringLiteral("ocsp.der"))};
    request.caFiles = {m_rootFile};
    request.useSystemTrust = false;
    request.analysis.at = m_pki->now();
    const InspectionReport report = inspect(request);
    if (report.bundles.size() != 1)
        return QStringLiteral("%1 bundles").arg(report.bundles.size());
    if (report.bundles.first().bundle.keyStatus != KeyStatus::Matches)
        return QStringLiteral("the key does not match");
    for (const Finding& f : report.allFindings())
        if (f.severity >= Severity::Error)
            return f.code + QStringLiteral(": ") + f.message;
    return {};
}

QProcess::ExitStatus TestDeploy::runProcess(const QStringList& arguments, const QProcessEnvironment& environment, int* exitCode,
                                            QString* output)
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(qEnvironmentVariable("STAPLESCOPE_CLI"), arguments);
    process.waitForFinished(30000);
    *exitCode = process.exitCode();
    *output = QString::fromUtf8(process.readAll());
    return process.exitStatus();
}

void TestDeploy::namesAndLayouts()
{
    for (DeployLayout layout : {DeployLayout::All, DeployLayout::Nginx, DeployLayout::Exim, DeployLayout::Haproxy})
        QCOMPARE(deployLayoutFromKey(deployLayoutKey(layout)), std::optional<DeployLayout>(layout));
    QVERIFY(!deployLayoutFromKey(QStringLiteral("apache")));
    QCOMPARE(generationFileNames(DeployLayout::Nginx, true),
             (QStringList{"fullchain.pem", "chain.pem", "cert.pem", "privkey.pem", "ocsp.der"}));
    QCOMPARE(generationFileNames(DeployLayout::Haproxy, false), QStringList{"haproxy.pem"});
    QCOMPARE(generationFileNames(DeployLayout::All, true).size(), 7);
    QCOMPARE(deployActionKey(DeployAction::UpToDate), QStringLiteral("up-to-date"));
    QCOMPARE(deployFaultPoints().size(), 12);
}

void TestDeploy::deploysCertbotLineageThenIsIdempotent()
{
    const QString lineage = certbotLineage(m_leaf);
    const CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), lineage, QStringLiteral("--to"), m_dest});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("(certbot lineage)")), qPrintable(run.out));
    const QString current = currentName(m_dest);
    QVERIFY2(current.endsWith(serialOf(m_leaf).remove(QLatin1Char(':'))), qPrintable(current));
    QVERIFY2(run.out.contains(QStringLiteral(": deploy ") + current), qPrintable(run.out));
    const QString generation = QDir(m_dest).filePath(QStringLiteral("generations/") + current);
    QCOMPARE(QFileInfo(QDir(m_dest).filePath(QStringLiteral("current"))).symLinkTarget(), generation);
    QCOMPARE(generationProblem(generation), QString());
    // What each file holds, and its mode.
    QCOMPARE(readFile(generation + QStringLiteral("/cert.pem")), m_leaf.certPem());
    QCOMPARE(readFile(generation + QStringLiteral("/chain.pem")), m_pki->intermediate.certPem());
    QCOMPARE(readFile(generation + QStringLiteral("/fullchain.pem")), m_leaf.certPem() + m_pki->intermediate.certPem());
    QVERIFY(readFile(generation + QStringLiteral("/privkey.pem")).contains("-----BEGIN PRIVATE KEY-----"));
    QVERIFY(readFile(generation + QStringLiteral("/haproxy.pem")).startsWith(m_leaf.certPem() + m_pki->intermediate.certPem()));
    QVERIFY(readFile(generation + QStringLiteral("/haproxy.pem")).contains("PRIVATE KEY"));
    QCOMPARE(modeOf(generation + QStringLiteral("/privkey.pem")), mode_t(0600));
    QCOMPARE(modeOf(generation + QStringLiteral("/haproxy.pem")), mode_t(0600));
    QCOMPARE(modeOf(generation + QStringLiteral("/fullchain.pem")), mode_t(0644));
    QCOMPARE(modeOf(generation + QStringLiteral("/ocsp.der")), mode_t(0644));
    const QByteArray staple = readFile(generation + QStringLiteral("/ocsp.der"));
    QCOMPARE(readFile(generation + QStringLiteral("/haproxy.pem.ocsp")), staple);
    const OcspStaple parsed = OcspStaple::fromDer(staple, {}).staple;
    QVERIFY(!parsed.isNull());
    QCOMPARE(parsed.responses().first().certId.serialHex(), serialOf(m_leaf));
    QCOMPARE(parsed.responses().first().status, OcspCertStatus::Good);
    QCOMPARE(m_responder->ocspRequestCount(), 1);

    // The same again: up to date, nothing written, nothing asked.
    const CliRun again = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), lineage, QStringLiteral("--to"), m_dest});
    QVERIFY2(again.exitCode == 0, qPrintable(again.all()));
    QVERIFY2(again.out.contains(QStringLiteral(": up to date")), qPrintable(again.out));
    QCOMPARE(generationNames(m_dest), QStringList{current});
    QCOMPARE(currentName(m_dest), current);
    QCOMPARE(m_responder->ocspRequestCount(), 1);

    // certbot renews: the lineage's links move to the new files; the hook deploys the new certificate.
    const QString renewed = certbotLineage(m_renewed, 2);
    qputenv("RENEWED_LINEAGE", renewed.toUtf8());
    const CliRun hook = cli(QStringLiteral("deploy"), {QStringLiteral("--to"), m_dest});
    qunsetenv("RENEWED_LINEAGE");
    QVERIFY2(hook.exitCode == 0, qPrintable(hook.all()));
    QVERIFY(currentName(m_dest).endsWith(serialOf(m_renewed).remove(QLatin1Char(':'))));
    QCOMPARE(generationNames(m_dest).size(), 2);
    const QString newGeneration = QDir(m_dest).filePath(QStringLiteral("generations/") + currentName(m_dest));
    QCOMPARE(OcspStaple::fromDer(readFile(newGeneration + QStringLiteral("/ocsp.der")), {}).staple.responses().first().certId.serialHex(),
             serialOf(m_renewed));
}

void TestDeploy::plainFolderKeepsPreviousKeyGroupAndModeAndPrunes()
{
    const QString source = plainFolder(QStringLiteral("src1"), m_leaf);
    CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), source, QStringLiteral("--to"), m_dest, QStringLiteral("--keep"), QStringLiteral("2")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("(folder)")), qPrintable(run.out));
    const QString first = currentName(m_dest);
    // The admin lets the server's group read the key.
    const QString key = QDir(m_dest).filePath(QStringLiteral("generations/%1/privkey.pem").arg(first));
    gid_t group = ::getegid();
    if (::geteuid() == 0)
        group = 8765;
    QCOMPARE(::chown(QFile::encodeName(key).constData(), uid_t(-1), group), 0);
    QCOMPARE(::chmod(QFile::encodeName(key).constData(), 0640), 0);

    run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src2"), m_renewed), QStringLiteral("--to"), m_dest,
                                         QStringLiteral("--keep"), QStringLiteral("2")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    const QString second = currentName(m_dest);
    QVERIFY(second != first);
    const QString newKey = QDir(m_dest).filePath(QStringLiteral("generations/%1/privkey.pem").arg(second));
    QCOMPARE(modeOf(newKey), mode_t(0640));
    QCOMPARE(groupOf(newKey), group);
    QCOMPARE(modeOf(QDir(m_dest).filePath(QStringLiteral("generations/%1/haproxy.pem").arg(second))), mode_t(0640));

    // A third certificate with --keep 2: the oldest goes, the current and the one before stay.
    const IssuedCert third = m_responder->issueLeaf();
    run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src3"), third), QStringLiteral("--to"), m_dest,
                                         QStringLiteral("--keep"), QStringLiteral("2")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    const QStringList left = generationNames(m_dest);
    QCOMPARE(left.size(), 2);
    QVERIFY(!left.contains(first));
    QVERIFY(left.contains(second));
    QVERIFY(currentName(m_dest).endsWith(serialOf(third).remove(QLatin1Char(':'))));
    QVERIFY2(run.out.contains(QStringLiteral("removed old generations: ") + first), qPrintable(run.out));
}

void TestDeploy::mustStapleWithResponderDownIsRefused()
{
    CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src1"), m_leaf), QStringLiteral("--to"), m_dest});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    const QString before = currentName(m_dest);
    const IssuedCert mustStaple = m_responder->issueLeaf([](CertSpec& spec) { spec.mustStaple = true; });
    m_responder->setDefaultScenario(ResponderScenario::TryLater);
    run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src2"), mustStaple), QStringLiteral("--to"), m_dest});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.out.contains(QStringLiteral("refused")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("critical DEPLOY_REFUSED")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("must-staple")), qPrintable(run.out));
    // It names when the generation still served runs out.
    QVERIFY2(run.out.contains(formatTime(Certificate::fromDer(m_leaf.certDer(), {}).notAfter())), qPrintable(run.out));
    QCOMPARE(currentName(m_dest), before);
    QCOMPARE(generationNames(m_dest), QStringList{before});
    if (qEnvironmentVariableIsSet("STAPLESCOPE_PRINT_EXAMPLES"))
        qInfo().noquote() << run.out;
}

void TestDeploy::withoutMustStapleResponderDownDeploysWithoutStaple()
{
    CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src1"), m_leaf), QStringLiteral("--to"), m_dest});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    const QString before = currentName(m_dest);
    m_responder->stop();
    run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src2"), m_renewed), QStringLiteral("--to"), m_dest});
    QVERIFY2(run.exitCode == 1, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("without")), qPrintable(run.out));
    const QString after = currentName(m_dest);
    QVERIFY(after != before);
    const QString generation = QDir(m_dest).filePath(QStringLiteral("generations/") + after);
    // No staple at all rather than the previous certificate's.
    QVERIFY(!QFileInfo::exists(generation + QStringLiteral("/ocsp.der")));
    QVERIFY(!QFileInfo::exists(generation + QStringLiteral("/haproxy.pem.ocsp")));
    QCOMPARE(generationProblem(generation), QString());
    // A staple refresh while the responder is still down has nothing better: no new generation.
    run = cli(QStringLiteral("refresh"), {m_dest});
    QVERIFY2(run.exitCode == 1 && run.out.contains(QStringLiteral("kept current — deploy destination")), qPrintable(run.all()));
    QCOMPARE(generationNames(m_dest).size(), 2);
    QCOMPARE(currentName(m_dest), after);
}

void TestDeploy::certificateWithoutOcspUrlDeploysWithoutStaple()
{
    const IssuedCert noOcsp = m_responder->issueLeaf([](CertSpec& spec) { spec.ocspUrls.clear(); });
    const CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src"), noOcsp), QStringLiteral("--to"), m_dest});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("names no OCSP responder")), qPrintable(run.out));
    QCOMPARE(m_responder->ocspRequestCount(), 0);
    QVERIFY(!QFileInfo::exists(QDir(m_dest).filePath(QStringLiteral("current/ocsp.der"))));
    // Up to date the second time: no staple is needed.
    const CliRun again = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), m_folder->path(QStringLiteral("src")), QStringLiteral("--to"), m_dest});
    QVERIFY2(again.exitCode == 0 && again.out.contains(QStringLiteral("up to date")), qPrintable(again.all()));
}

void TestDeploy::unusableSourcesAreClearErrors()
{
    // Two certificates with their keys in one folder.
    m_folder->write(QStringLiteral("two/a.crt"), m_leaf.certPem());
    m_folder->write(QStringLiteral("two/a.key"), m_pki->keyPem(m_leaf));
    const IssuedCert other = m_responder->issueLeaf([](CertSpec& spec) {
        spec.commonName = QStringLiteral("other.example.test");
        spec.dnsNames = {QStringLiteral("other.example.test")};
    });
    m_folder->write(QStringLiteral("two/b.crt"), other.certPem());
    m_folder->write(QStringLiteral("two/b.key"), m_pki->keyPem(other));
    CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), m_folder->path(QStringLiteral("two")), QStringLiteral("--to"), m_dest});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.out.contains(QStringLiteral("holds 2 current certificates")), qPrintable(run.out));
    QVERIFY(!QFileInfo::exists(m_dest));

    // certbot names, but the key belongs to another certificate.
    m_folder->write(QStringLiteral("mismatch/cert.pem"), m_leaf.certPem());
    m_folder->write(QStringLiteral("mismatch/fullchain.pem"), m_leaf.certPem() + m_pki->intermediate.certPem());
    m_folder->write(QStringLiteral("mismatch/privkey.pem"), m_pki->keyPem(other));
    run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), m_folder->path(QStringLiteral("mismatch")), QStringLiteral("--to"), m_dest});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.out.contains(QStringLiteral("does not belong to the certificate")), qPrintable(run.out));
    QVERIFY(!QFileInfo::exists(m_dest));

    // No key at all; a path that does not exist.
    m_folder->write(QStringLiteral("nokey/site.crt"), m_leaf.certPem());
    run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), m_folder->path(QStringLiteral("nokey")), QStringLiteral("--to"), m_dest});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.out.contains(QStringLiteral("no private key")), qPrintable(run.out));
    run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), m_folder->path(QStringLiteral("nothing")), QStringLiteral("--to"), m_dest});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.out.contains(QStringLiteral("does not exist")), qPrintable(run.out));
    QVERIFY(!QFileInfo::exists(m_dest));

    // Usage errors.
    QCOMPARE(cli(QStringLiteral("deploy"), {QStringLiteral("--from"), m_folder->path(QStringLiteral("two"))}).exitCode, 3);
    QCOMPARE(cli(QStringLiteral("deploy"), {QStringLiteral("--to"), m_dest, QStringLiteral("--layout"), QStringLiteral("iis"),
                                            QStringLiteral("--from"), QStringLiteral("x")})
                 .exitCode,
             3);
    QCOMPARE(cli(QStringLiteral("deploy"), {QStringLiteral("--to"), m_dest}).exitCode, 3);
}

void TestDeploy::legoAndAcmeShSources()
{
    m_folder->write(QStringLiteral("lego/certificates/example.test.crt"), m_leaf.certPem() + m_pki->intermediate.certPem());
    m_folder->write(QStringLiteral("lego/certificates/example.test.issuer.crt"), m_pki->intermediate.certPem());
    m_folder->write(QStringLiteral("lego/certificates/example.test.key"), m_pki->keyPem(m_leaf));
    m_folder->write(QStringLiteral("lego/certificates/example.test.json"), "{}");
    const std::optional<DeploySource> lego = readDeploySource(m_folder->path(QStringLiteral("lego")), nullptr);
    QVERIFY(lego);
    QCOMPARE(lego->kind, DeploySourceKind::Lego);
    QCOMPARE(lego->name, QStringLiteral("example.test"));
    CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), m_folder->path(QStringLiteral("lego/certificates/example.test.crt")),
                                                QStringLiteral("--to"), m_dest, QStringLiteral("--layout"), QStringLiteral("nginx")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("(lego)")), qPrintable(run.out));
    QVERIFY(!QFileInfo::exists(QDir(m_dest).filePath(QStringLiteral("current/haproxy.pem"))));
    QVERIFY(QFileInfo::exists(QDir(m_dest).filePath(QStringLiteral("current/ocsp.der"))));

    m_folder->write(QStringLiteral("acme/example.test/example.test.cer"), m_renewed.certPem());
    m_folder->write(QStringLiteral("acme/example.test/example.test.key"), m_pki->keyPem(m_renewed));
    m_folder->write(QStringLiteral("acme/example.test/ca.cer"), m_pki->intermediate.certPem());
    m_folder->write(QStringLiteral("acme/example.test/fullchain.cer"), m_renewed.certPem() + m_pki->intermediate.certPem());
    const std::optional<DeploySource> acme = readDeploySource(m_folder->path(QStringLiteral("acme/example.test")), nullptr);
    QVERIFY(acme);
    QCOMPARE(acme->kind, DeploySourceKind::AcmeSh);
    run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), m_folder->path(QStringLiteral("acme/example.test")), QStringLiteral("--to"), m_dest,
                                         QStringLiteral("--layout"), QStringLiteral("haproxy")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY(QFileInfo::exists(QDir(m_dest).filePath(QStringLiteral("current/haproxy.pem.ocsp"))));
    QVERIFY(!QFileInfo::exists(QDir(m_dest).filePath(QStringLiteral("current/privkey.pem"))));
    // A staple refresh of a HAProxy-only destination keeps its layout.
    const QString haproxyGeneration = currentName(m_dest);
    const QByteArray haproxyStaple = readFile(QDir(m_dest).filePath(QStringLiteral("current/haproxy.pem.ocsp")));
    m_responder->setNow(m_pki->now().addSecs(3600));
    run = cli(QStringLiteral("refresh"), {QDir(m_dest).filePath(QStringLiteral("current/haproxy.pem"))});
    QVERIFY2(run.exitCode == 0 && run.out.contains(QStringLiteral("deployed new generation")), qPrintable(run.all()));
    QVERIFY(currentName(m_dest) != haproxyGeneration);
    QVERIFY(readFile(QDir(m_dest).filePath(QStringLiteral("current/haproxy.pem.ocsp"))) != haproxyStaple);
    QVERIFY(!QFileInfo::exists(QDir(m_dest).filePath(QStringLiteral("current/privkey.pem"))));
    QCOMPARE(generationSerial(m_dest, currentName(m_dest)), serialOf(m_renewed));

    // Two lego certificates in one folder: name one.
    m_folder->write(QStringLiteral("lego/certificates/second.test.crt"), m_renewed.certPem());
    m_folder->write(QStringLiteral("lego/certificates/second.test.key"), m_pki->keyPem(m_renewed));
    QString why;
    QVERIFY(!readDeploySource(m_folder->path(QStringLiteral("lego")), &why));
    QVERIFY2(why.contains(QStringLiteral("2 lego certificates")), qPrintable(why));
}

void TestDeploy::failingReloadRollsBack()
{
    CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src1"), m_leaf), QStringLiteral("--to"), m_dest});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    const QString before = currentName(m_dest);
    const QString reloads = m_folder->path(QStringLiteral("reloads"));
    // The reload fails while the new generation is current (the server cannot load it), and works after the rollback.
    const QString command = QStringLiteral("echo \"$(readlink '%1/current')\" >> '%2'; readlink '%1/current' | grep -q '%3'")
                                .arg(m_dest, reloads, before);
    run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src2"), m_renewed), QStringLiteral("--to"), m_dest,
                                         QStringLiteral("--reload-command"), command});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.out.contains(QStringLiteral("critical DEPLOY_ROLLED_BACK")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("rolled back to ") + before), qPrintable(run.out));
    QCOMPARE(currentName(m_dest), before);
    const QStringList lines = QString::fromUtf8(readFile(reloads)).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 2);
    QVERIFY(!lines[0].endsWith(before));
    QVERIFY(lines[1].endsWith(before));
    QVERIFY2(run.out.contains(QStringLiteral("reload command after rollback exited 0")), qPrintable(run.out));
}

void TestDeploy::rollbackAndList()
{
    QVERIFY(cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src1"), m_leaf), QStringLiteral("--to"), m_dest}).exitCode == 0);
    const QString first = currentName(m_dest);
    QVERIFY(cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src2"), m_renewed), QStringLiteral("--to"), m_dest}).exitCode == 0);
    const QString second = currentName(m_dest);
    QVERIFY(first != second);

    CliRun list = cli(QStringLiteral("deploy"), {QStringLiteral("--list"), QStringLiteral("--to"), m_dest});
    QCOMPARE(list.exitCode, 0);
    QVERIFY2(list.out.contains(QStringLiteral("* ") + second), qPrintable(list.out));
    QVERIFY2(list.out.contains(QStringLiteral("  ") + first), qPrintable(list.out));
    QVERIFY2(list.out.contains(QStringLiteral("staple: good for serial ") + serialOf(m_leaf)), qPrintable(list.out));
    // Newest first.
    QVERIFY(list.out.indexOf(second) < list.out.indexOf(first));

    const CliRun back = cli(QStringLiteral("deploy"), {QStringLiteral("--rollback"), QStringLiteral("--to"), m_dest});
    QVERIFY2(back.exitCode == 0, qPrintable(back.all()));
    QCOMPARE(currentName(m_dest), first);
    QVERIFY2(back.out.contains(QStringLiteral("rolled back: %1 is current again").arg(first)), qPrintable(back.out));

    const CliRun forward = cli(QStringLiteral("deploy"), {QStringLiteral("--rollback"), QStringLiteral("--to"), m_dest, QStringLiteral("--generation"), second});
    QVERIFY2(forward.exitCode == 0, qPrintable(forward.all()));
    QCOMPARE(currentName(m_dest), second);
    const CliRun same = cli(QStringLiteral("deploy"), {QStringLiteral("--rollback"), QStringLiteral("--to"), m_dest, QStringLiteral("--generation"), second});
    QVERIFY2(same.exitCode == 0 && same.out.contains(QStringLiteral("already current")), qPrintable(same.all()));
    QCOMPARE(cli(QStringLiteral("deploy"), {QStringLiteral("--rollback"), QStringLiteral("--to"), m_dest, QStringLiteral("--generation"),
                                            QStringLiteral("nope")})
                 .exitCode,
             2);
    QCOMPARE(currentName(m_dest), second);

    list = cli(QStringLiteral("deploy"), {QStringLiteral("--list"), QStringLiteral("--to"), m_dest, QStringLiteral("--json")});
    const QJsonArray generations = QJsonDocument::fromJson(list.out.toUtf8()).object().value(QStringLiteral("generations")).toArray();
    QCOMPARE(generations.size(), 2);
    QCOMPARE(generations.at(0).toObject().value(QStringLiteral("name")).toString(), second);
    QVERIFY(generations.at(0).toObject().value(QStringLiteral("current")).toBool());
    QCOMPARE(generations.at(1).toObject().value(QStringLiteral("staple")).toObject().value(QStringLiteral("status")).toString(), QStringLiteral("good"));

    QCOMPARE(cli(QStringLiteral("deploy"), {QStringLiteral("--list"), QStringLiteral("--to"), m_folder->path(QStringLiteral("src1"))}).exitCode, 2);
}

void TestDeploy::dryRunChangesNothing()
{
    const CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src"), m_leaf), QStringLiteral("--to"), m_dest,
                                                      QStringLiteral("--dry-run")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("would deploy")), qPrintable(run.out));
    QVERIFY(!QFileInfo::exists(m_dest));
}

void TestDeploy::jsonHoldsNoKeyMaterial()
{
    const CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), certbotLineage(m_leaf), QStringLiteral("--to"), m_dest,
                                                      QStringLiteral("--json")});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    const QJsonObject json = QJsonDocument::fromJson(run.out.toUtf8()).object();
    if (qEnvironmentVariableIsSet("STAPLESCOPE_PRINT_EXAMPLES"))
        qInfo().noquote() << run.out;
    QCOMPARE(json.value(QStringLiteral("schema")).toString(), QStringLiteral("staplescope-deploy-plan/1"));
    QCOMPARE(json.value(QStringLiteral("action")).toString(), QStringLiteral("deploy"));
    QCOMPARE(json.value(QStringLiteral("source")).toObject().value(QStringLiteral("kind")).toString(), QStringLiteral("certbot lineage"));
    QVERIFY(json.value(QStringLiteral("result")).toObject().value(QStringLiteral("flipped")).toBool());
    QCOMPARE(json.value(QStringLiteral("result")).toObject().value(QStringLiteral("currentGeneration")).toString(), currentName(m_dest));
    QVERIFY(!run.out.contains(QStringLiteral("PRIVATE KEY")));
    // Not a line of the key's base64 either.
    const QStringList keyLines = QString::fromLatin1(m_pki->keyPem(m_leaf)).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    for (const QString& line : keyLines)
        if (!line.startsWith(QLatin1String("-----")))
            QVERIFY(!run.out.contains(line.left(32)));
    const QString generationKey = QString::fromLatin1(readFile(QDir(m_dest).filePath(QStringLiteral("current/privkey.pem"))));
    for (const QString& line : generationKey.split(QLatin1Char('\n'), Qt::SkipEmptyParts))
        if (!line.startsWith(QLatin1String("-----")))
            QVERIFY(!run.out.contains(line.left(32)));
}

void TestDeploy::refreshOnDestinationDeploysNewGeneration()
{
    QVERIFY(cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src"), m_leaf), QStringLiteral("--to"), m_dest}).exitCode == 0);
    const QString before = currentName(m_dest);
    const QByteArray oldStaple = readFile(QDir(m_dest).filePath(QStringLiteral("current/ocsp.der")));
    // The same response again: kept.
    CliRun run = cli(QStringLiteral("refresh"), {QDir(m_dest).filePath(QStringLiteral("current/fullchain.pem"))});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("kept current — deploy destination")), qPrintable(run.out));
    QCOMPARE(currentName(m_dest), before);

    // An hour later the responder signs a newer one: a new generation with it, same certificate.
    m_responder->setNow(m_pki->now().addSecs(3600));
    run = cli(QStringLiteral("refresh"), {m_dest});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("deployed new generation")), qPrintable(run.out));
    const QString after = currentName(m_dest);
    QVERIFY(after != before);
    QCOMPARE(readFile(QDir(m_dest).filePath(QStringLiteral("current/cert.pem"))), m_leaf.certPem());
    QVERIFY(readFile(QDir(m_dest).filePath(QStringLiteral("current/ocsp.der"))) != oldStaple);
    // The generation that was in use was not written into.
    QCOMPARE(readFile(QDir(m_dest).filePath(QStringLiteral("generations/%1/ocsp.der").arg(before))), oldStaple);
    QCOMPARE(generationProblem(QDir(m_dest).filePath(QStringLiteral("generations/") + after)), QString());
}

void TestDeploy::deployDestinationOfPaths()
{
    QVERIFY(cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src"), m_leaf), QStringLiteral("--to"), m_dest}).exitCode == 0);
    const QString dest = QFileInfo(m_dest).absoluteFilePath();
    QCOMPARE(deployDestinationOf(m_dest), dest);
    QCOMPARE(deployDestinationOf(m_dest + QStringLiteral("/current")), dest);
    QCOMPARE(deployDestinationOf(m_dest + QStringLiteral("/current/ocsp.der")), dest);
    QCOMPARE(deployDestinationOf(m_dest + QStringLiteral("/generations/") + currentName(m_dest) + QStringLiteral("/cert.pem")), dest);
    QCOMPARE(deployDestinationOf(m_folder->path(QStringLiteral("src/site.crt"))), QString());
}

void TestDeploy::destinationsServingNameTheCertificatesDestination()
{
    const Certificate renewed = Certificate::fromDer(m_renewed.certDer(), {});
    const QString other = m_folder->path(QStringLiteral("other-dest"));
    // Nothing deployed yet: no destination serves it.
    QCOMPARE(destinationsServing(renewed, {m_dest, other}), QStringList());
    QVERIFY(cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src"), m_leaf), QStringLiteral("--to"), m_dest}).exitCode == 0);
    // The renewal (same names) belongs where the old certificate is current; a destination serving
    // another name does not take it.
    const IssuedCert stranger = m_responder->issueLeaf([](CertSpec& spec) {
        spec.commonName = QStringLiteral("mail.other.test");
        spec.dnsNames = {QStringLiteral("mail.other.test")};
    });
    QVERIFY(cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src-other"), stranger), QStringLiteral("--to"), other}).exitCode == 0);
    QCOMPARE(destinationsServing(renewed, {m_dest, other, m_dest, QString()}), QStringList{m_dest});
    QCOMPARE(destinationsServing(Certificate::fromDer(stranger.certDer(), {}), {m_dest, other}), QStringList{other});
}

void TestDeploy::twoDeploysAtOnceBothEndWell()
{
    if (!haveCli())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const QString source = plainFolder(QStringLiteral("src"), m_leaf);
    m_responder->setLatencyMs(50);
    const QStringList arguments = QStringList{QStringLiteral("deploy")} + commonArguments() +
                                  QStringList{QStringLiteral("--at"), m_pki->now().toString(Qt::ISODate), QStringLiteral("--from"), source,
                                              QStringLiteral("--to"), m_dest};
    QProcess first, second;
    first.setProcessChannelMode(QProcess::MergedChannels);
    second.setProcessChannelMode(QProcess::MergedChannels);
    first.start(qEnvironmentVariable("STAPLESCOPE_CLI"), arguments);
    second.start(qEnvironmentVariable("STAPLESCOPE_CLI"), arguments);
    QVERIFY(first.waitForFinished(30000));
    QVERIFY(second.waitForFinished(30000));
    QVERIFY2(first.exitStatus() == QProcess::NormalExit && first.exitCode() == 0, first.readAll().constData());
    QVERIFY2(second.exitStatus() == QProcess::NormalExit && second.exitCode() == 0, second.readAll().constData());
    // One of them deployed, the other found it done.
    QCOMPARE(generationNames(m_dest).size(), 1);
    QCOMPARE(generationProblem(QDir(m_dest).filePath(QStringLiteral("generations/") + currentName(m_dest))), QString());
}

// Another run holds DEST's lock: the deploy waits at most lockTimeoutMs, says so, changes nothing.
void TestDeploy::lockHeldByAnotherRunIsBoundedAndExplained()
{
    DeployOptions options;
    options.from = plainFolder(QStringLiteral("src"), m_leaf);
    options.to = m_dest;
    options.caFiles = {m_rootFile};
    options.useSystemTrust = false;
    options.lockTimeoutMs = 300;
    const DeployPlan plan = planDeploy(options, m_pki->now());
    QCOMPARE(plan.action, DeployAction::Deploy);
    QVERIFY(QDir().mkpath(m_dest));
    const int fd = ::open(QFile::encodeName(m_dest + QStringLiteral("/.staplescope-deploy.lock")).constData(), O_RDWR | O_CREAT, 0600);
    QVERIFY(fd >= 0);
    QCOMPARE(::flock(fd, LOCK_EX), 0);
    const DeployResult blocked = executeDeploy(plan, options);
    QVERIFY(!blocked.ok());
    QVERIFY(!blocked.flipped);
    QVERIFY2(blocked.message.contains(QStringLiteral("still held its lock")), qPrintable(blocked.message));
    QVERIFY(currentName(m_dest).isEmpty());
    QVERIFY(generationNames(m_dest).isEmpty());
    ::close(fd);
    // Released: the same plan goes through.
    const DeployResult done = executeDeploy(plan, options);
    QVERIFY2(done.ok() && done.flipped, qPrintable(done.message));
    QCOMPARE(currentName(m_dest), done.generation);
    QCOMPARE(done.exitCode(), 0);
}

// The real HAProxy 2.6: `set ssl cert` + `commit ssl cert` (with the staple in the transaction)
// serves the new generation without a reload, --verify sees it; a deploy whose certificate never
// reaches HAProxy fails its verify and is rolled back.
void TestDeploy::haproxyRuntimeApiSwapsCertificateAndVerifyRollsBack()
{
    // HAProxy judges staples by the real clock: a PKI and responder at the real time.
    QDateTime now = QDateTime::currentDateTimeUtc();
    now.setTime(QTime(now.time().hour(), now.time().minute(), now.time().second()));
    m_responder.reset();
    m_pki = std::make_unique<TestPki>(now);
    m_responder = std::make_unique<TestResponder>(*m_pki);
    QVERIFY(m_responder->start());
    m_rootFile = m_folder->write(QStringLiteral("trust/root.pem"), m_pki->root.certPem());
    const IssuedCert first = m_responder->issueLeaf();
    const IssuedCert second = m_responder->issueLeaf();
    const IssuedCert third = m_responder->issueLeaf();
    QVERIFY(cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src1"), first), QStringLiteral("--to"), m_dest,
                                           QStringLiteral("--layout"), QStringLiteral("haproxy")})
                .exitCode == 0);
    const QString dir = m_folder->mkdir(QStringLiteral("haproxy"));
    const QString socket = dir + QStringLiteral("/admin.sock");
    const QString crt = QFileInfo(m_dest).absoluteFilePath() + QStringLiteral("/current/haproxy.pem");
    const quint16 port = freePort();
    RealServers servers;
    const ServerStart started = servers.startHaproxy({dir, port, crt, socket});
    if (started.notInstalled())
        QSKIP("haproxy is not installed");
    QVERIFY2(started.started(), qPrintable(started.problem));
    QElapsedTimer waited;
    waited.start();
    while (!QFileInfo::exists(socket) && waited.elapsed() < 8000)
        QThread::msleep(20);

    const QString target = QStringLiteral("127.0.0.1:%1").arg(port);
    CliRun run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src2"), second), QStringLiteral("--to"), m_dest,
                                                QStringLiteral("--layout"), QStringLiteral("haproxy"), QStringLiteral("--haproxy-socket"), socket,
                                                QStringLiteral("--verify"), target});
    QVERIFY2(run.exitCode == 0, qPrintable(run.all()));
    QVERIFY2(run.out.contains(QStringLiteral("HAProxy set ssl cert: ok (Transaction created")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("HAProxy commit ssl cert: ok")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("verify %1: ok").arg(target)), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("served serial %1 with a staple for serial %1").arg(serialOf(second))), qPrintable(run.out));
    const QString secondGeneration = currentName(m_dest);
    QCOMPARE(generationSerial(m_dest, secondGeneration), serialOf(second));

    // HAProxy is not told this time: it keeps serving the second certificate, the verify sees that,
    // and DEST/current goes back to the generation HAProxy serves.
    run = cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src3"), third), QStringLiteral("--to"), m_dest,
                                         QStringLiteral("--layout"), QStringLiteral("haproxy"), QStringLiteral("--verify"), target});
    QCOMPARE(run.exitCode, 2);
    QVERIFY2(run.out.contains(QStringLiteral("critical DEPLOY_ROLLED_BACK")), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("served serial %1 (expected %2)").arg(serialOf(second), serialOf(third))), qPrintable(run.out));
    QVERIFY2(run.out.contains(QStringLiteral("verify after rollback %1: ok").arg(target)), qPrintable(run.out));
    QCOMPARE(currentName(m_dest), secondGeneration);
    if (qEnvironmentVariableIsSet("STAPLESCOPE_PRINT_EXAMPLES"))
        qInfo().noquote() << run.out;
    servers.stopAll();
}

void TestDeploy::crashAtEveryFaultPointLeavesCompleteGeneration_data()
{
    QTest::addColumn<QString>("point");
    for (const QString& point : deployFaultPoints())
        QTest::newRow(qPrintable(point)) << point;
}

void TestDeploy::crashAtEveryFaultPointLeavesCompleteGeneration()
{
    QFETCH(QString, point);
    if (!haveCli())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    QVERIFY(cli(QStringLiteral("deploy"), {QStringLiteral("--from"), plainFolder(QStringLiteral("src1"), m_leaf), QStringLiteral("--to"), m_dest}).exitCode == 0);
    const QString before = currentName(m_dest);
    const QString reloads = m_folder->path(QStringLiteral("reloads"));
    // "verified" and "rolled-back" are passed when a verify fails: nothing listens on that port.
    const bool verifying = point == QLatin1String("verified") || point == QLatin1String("rolled-back");
    QStringList arguments = QStringList{QStringLiteral("deploy")} + commonArguments() +
                            QStringList{QStringLiteral("--at"), m_pki->now().toString(Qt::ISODate), QStringLiteral("--from"),
                                        plainFolder(QStringLiteral("src2"), m_renewed), QStringLiteral("--to"), m_dest,
                                        QStringLiteral("--reload-command"), QStringLiteral("echo >> '%1'").arg(reloads)};
    if (verifying)
        arguments << QStringLiteral("--verify") << QStringLiteral("127.0.0.1:1");
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("STAPLESCOPE_FAULT_POINT"), point);
    int exitCode = -1;
    QString output;
    QCOMPARE(runProcess(arguments, environment, &exitCode, &output), QProcess::CrashExit);

    // DEST/current names a complete generation that passes the gate: the old one or the new one.
    const QString afterCrash = currentName(m_dest);
    QVERIFY(!afterCrash.isEmpty());
    QCOMPARE(generationProblem(QDir(m_dest).filePath(QStringLiteral("generations/") + afterCrash)), QString());
    const QStringList beforeFlip{QStringLiteral("deploy-locked"), QStringLiteral("generation-written"), QStringLiteral("generation-synced"),
                                 QStringLiteral("generation-renamed"), QStringLiteral("gate-passed"), QStringLiteral("link-created")};
    if (beforeFlip.contains(point) || point == QLatin1String("rolled-back"))
        QCOMPARE(afterCrash, before);
    else
        QCOMPARE(generationSerial(m_dest, afterCrash), serialOf(m_renewed));

    // Run again without the fault: it completes, and nothing of the killed run is left over.
    environment.remove(QStringLiteral("STAPLESCOPE_FAULT_POINT"));
    QCOMPARE(runProcess(arguments, environment, &exitCode, &output), QProcess::NormalExit);
    const QString final = currentName(m_dest);
    QCOMPARE(generationProblem(QDir(m_dest).filePath(QStringLiteral("generations/") + final)), QString());
    if (verifying) {
        // The verify fails every time: rolled back to the old generation.
        QVERIFY2(exitCode == 2 && output.contains(QStringLiteral("DEPLOY_ROLLED_BACK")), qPrintable(output));
        QCOMPARE(final, before);
    } else {
        QVERIFY2(exitCode == 0, qPrintable(output));
        QCOMPARE(generationSerial(m_dest, final), serialOf(m_renewed));
        // The servers were told about the new generation, also when the killed run had flipped already.
        QVERIFY(!readFile(reloads).isEmpty());
    }
    QStringList leftovers = generationNames(m_dest).filter(QStringLiteral(".tmp-"));
    leftovers << QDir(m_dest).entryList({QStringLiteral(".current.tmp-*")}, QDir::System | QDir::Hidden);
    QVERIFY2(leftovers.isEmpty(), qPrintable(leftovers.join(QLatin1Char(' '))));
    QVERIFY(!QFileInfo::exists(QDir(m_dest).filePath(QStringLiteral(".staplescope-deploy-pending"))));
}

QTEST_GUILESS_MAIN(TestDeploy)
#include "tst_deploy.moc"
