// StapleInstaller and `staplescope-cli apply`: the refresh plan as JSON, atomic installs that keep
// mode and owner, refusal when a destination changed since the plan, stale staples moved aside,
// the reload command run once, HAProxy's runtime API against the real HAProxy, and crash safety:
// the CLI killed (SIGKILL) at every fault point leaves the whole old or the whole new staple.

#include "AtomicFile.h"
#include "FindingRegistry.h"
#include "LivePki.h"
#include "RealServers.h"
#include "RefreshPlan.h"
#include "StapleInstaller.h"
#include "TestPki.h"
#include "TlsProbe.h"

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

using namespace staplescope;
using namespace staplescope::test;

namespace {

QByteArray sha256(const QByteArray& bytes) { return QCryptographicHash::hash(bytes, QCryptographicHash::Sha256); }

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool writeBytes(const QString& path, const QByteArray& bytes, mode_t mode = 0644)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(bytes) != bytes.size())
        return false;
    f.close();
    return ::chmod(QFile::encodeName(path).constData(), mode) == 0;
}

mode_t modeOf(const QString& path)
{
    struct stat st = {};
    return ::stat(QFile::encodeName(path).constData(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

// Our temp files (AtomicFile's naming) left in a folder.
QStringList tempFilesIn(const QString& folder)
{
    return QDir(folder).entryList({QStringLiteral(".*.staplescope-*")}, QDir::Files | QDir::Hidden | QDir::System);
}

BundleRefresh installStep(const QString& destination, const QByteArray& oldContent, const QByteArray& newDer,
                          const QString& id = QStringLiteral("cert:leaf"))
{
    BundleRefresh bundle;
    bundle.bundleId = id;
    bundle.name = QStringLiteral("www.example.test");
    bundle.serial = QStringLiteral("01:02");
    bundle.certificatePath = QStringLiteral("/nonexistent/leaf.pem");
    bundle.outcome = RefreshOutcome::Install;
    bundle.reason = QStringLiteral("the responder gave a fresh response");
    bundle.destination = destination;
    bundle.destinationSha256 = oldContent.isNull() ? QByteArray() : sha256(oldContent);
    bundle.newStapleDer = newDer;
    return bundle;
}

BundleRefresh moveAsideStep(const QString& destination, const QByteArray& oldContent)
{
    BundleRefresh bundle = installStep(destination, oldContent, {});
    bundle.outcome = RefreshOutcome::MoveStaleAside;
    bundle.severity = Severity::Error;
    return bundle;
}

RefreshPlan planOf(const QList<BundleRefresh>& bundles)
{
    RefreshPlan plan;
    plan.madeAt = fixedNow();
    plan.bundles = bundles;
    return plan;
}

QString writePlan(const QString& path, const RefreshPlan& plan)
{
    writeBytes(path, QJsonDocument(plan.toJson()).toJson(), 0600);
    return path;
}

// A fake HAProxy runtime API: answers every connection with `answer` and remembers the lines it got.
class FakeRuntimeApi {
public:
    FakeRuntimeApi(const QString& path, QByteArray answer) : m_path(path), m_answer(std::move(answer))
    {
        m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address = {};
        address.sun_family = AF_UNIX;
        const QByteArray name = QFile::encodeName(path);
        std::memcpy(address.sun_path, name.constData(), size_t(name.size()));
        m_listening = ::bind(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && ::listen(m_fd, 8) == 0;
        m_thread = std::thread([this] {
            for (;;) {
                const int client = ::accept(m_fd, nullptr, nullptr);
                if (client < 0 || m_stop)
                    break;
                QByteArray line;
                char c = 0;
                while (::read(client, &c, 1) == 1 && c != '\n')
                    line.append(c);
                {
                    std::lock_guard<std::mutex> lock(m_mutex);
                    m_lines << line;
                }
                (void)!::write(client, m_answer.constData(), size_t(m_answer.size()));
                ::close(client);
            }
        });
    }
    ~FakeRuntimeApi()
    {
        m_stop = true;
        ::shutdown(m_fd, SHUT_RDWR);
        // Wake accept() if shutdown did not.
        const int poke = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address = {};
        address.sun_family = AF_UNIX;
        const QByteArray name = QFile::encodeName(m_path);
        std::memcpy(address.sun_path, name.constData(), size_t(name.size()));
        ::connect(poke, reinterpret_cast<sockaddr*>(&address), sizeof address);
        ::close(poke);
        m_thread.join();
        ::close(m_fd);
        ::unlink(name.constData());
    }
    bool listening() const { return m_listening; }
    QList<QByteArray> lines()
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        return m_lines;
    }

private:
    QString m_path;
    QByteArray m_answer;
    int m_fd = -1;
    bool m_listening = false;
    std::atomic<bool> m_stop{false};
    std::mutex m_mutex;
    QList<QByteArray> m_lines;
    std::thread m_thread;
};

struct CliRun {
    QProcess::ExitStatus exitStatus = QProcess::NormalExit;
    int exitCode = -1;
    QString out, err;
};

} // namespace

class TestInstaller : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();

    void outcomeNamesAndExitCodes();
    void planJsonRoundTrip();
    void planJsonRejectsWhatItCannotUse_data();
    void planJsonRejectsWhatItCannotUse();

    void installsNewFileWithMode0644();
    void replacesKeepingModeAndOwner();
    void refusesWhenDestinationChangedSincePlan();
    void refusesWhenFileAppearedThatMustNotExist();
    void refusesWhatIsNotARegularFile();
    void writesThroughSymbolicLink();
    void movesStaleAsideReplacingOlderStale();
    void rerunOfADonePlanCompletes();
    void reloadRunsOnceAfterChanges();
    void reloadNotRunWhenNothingChanged();
    void reloadOutputIsBoundedAndTimeoutEnforced();
    void lockTimeoutIsBoundedAndExplained();
    void leftoverCleanupTakesOnlyOurDeadTemps();
    void haproxyAnswersOtherThanUpdatedAreFailures();
    void haproxyRuntimeApiServesNewStapleWithoutReload();

    void cliApplyDryRunChangesNothing();
    void cliApplyInstallsAndReportsJson();
    void cliApplyRefusesUnusablePlans();
    void cliApplyAsRootForAnotherUser();
    void crashAtEveryFaultPointLeavesWholeFile_data();
    void crashAtEveryFaultPointLeavesWholeFile();
    void concurrentAppliesOnOneFolder();

private:
    CliRun runCli(const QStringList& arguments, const QProcessEnvironment& environment = QProcessEnvironment::systemEnvironment(),
                  const QByteArray& input = {});
    bool haveCli();

    QTemporaryDir m_dir;
    std::unique_ptr<TestPki> m_pki;
    QByteArray m_oldStaple, m_newStaple, m_otherStaple;
    int m_case = 0;
    QString caseDir()
    {
        const QString path = QDir(m_dir.path()).filePath(QStringLiteral("case%1").arg(++m_case));
        QDir().mkpath(path);
        return path;
    }
};

void TestInstaller::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_pki = std::make_unique<TestPki>();
    OcspSpec older = m_pki->goodStapleSpec();
    older.thisUpdate = fixedNow().addDays(-3);
    older.nextUpdate = fixedNow().addDays(4);
    m_oldStaple = m_pki->staple(older);
    m_newStaple = m_pki->goodStaple();
    OcspSpec other = m_pki->goodStapleSpec();
    other.thisUpdate = fixedNow().addSecs(-3600);
    m_otherStaple = m_pki->staple(other);
    QVERIFY(!m_oldStaple.isEmpty() && !m_newStaple.isEmpty() && m_oldStaple != m_newStaple && m_otherStaple != m_newStaple);
}

bool TestInstaller::haveCli() { return QFileInfo(qEnvironmentVariable("STAPLESCOPE_CLI")).isExecutable(); }

CliRun TestInstaller::runCli(const QStringList& arguments, const QProcessEnvironment& environment, const QByteArray& input)
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.start(qEnvironmentVariable("STAPLESCOPE_CLI"), arguments);
    process.waitForStarted(5000);
    if (!input.isNull()) {
        process.write(input);
    }
    process.closeWriteChannel();
    process.waitForFinished(30000);
    CliRun run;
    run.exitStatus = process.exitStatus();
    run.exitCode = process.exitCode();
    run.out = QString::fromUtf8(process.readAllStandardOutput());
    run.err = QString::fromUtf8(process.readAllStandardError());
    return run;
}

void TestInstaller::outcomeNamesAndExitCodes()
{
    const QList<RefreshOutcome> all{RefreshOutcome::Install, RefreshOutcome::KeepCurrent, RefreshOutcome::NotDue,
                                    RefreshOutcome::Skipped, RefreshOutcome::Failed, RefreshOutcome::MoveStaleAside};
    const QStringList names{"installed", "kept current", "not due", "skipped", "failed", "stale removed"};
    const QStringList keys{"install", "keep-current", "not-due", "skipped", "failed", "move-stale-aside"};
    for (qsizetype i = 0; i < all.size(); ++i) {
        QCOMPARE(refreshOutcomeName(all[i]), names[i]);
        QCOMPARE(refreshOutcomeKey(all[i]), keys[i]);
        QCOMPARE(refreshOutcomeFromKey(keys[i]), std::optional<RefreshOutcome>(all[i]));
    }
    QVERIFY(!refreshOutcomeFromKey(QStringLiteral("installed")));

    BundleRefresh kept;
    kept.outcome = RefreshOutcome::KeepCurrent;
    RefreshPlan plan = planOf({kept});
    QVERIFY(!plan.changesAnything());
    QCOMPARE(plan.worst(), Severity::Info);
    QCOMPARE(plan.exitCode(), 0);
    plan.bundles[0].severity = Severity::Warning;
    QCOMPARE(plan.exitCode(), 1);
    BundleRefresh failed;
    failed.outcome = RefreshOutcome::MoveStaleAside;
    failed.severity = Severity::Critical;
    plan.bundles << failed;
    QVERIFY(plan.changesAnything());
    QCOMPARE(plan.worst(), Severity::Critical);
    QCOMPARE(plan.exitCode(), 2);
    plan.bundles[1].severity = Severity::Error;
    QCOMPARE(plan.exitCode(), 2);
}

void TestInstaller::planJsonRoundTrip()
{
    BundleRefresh install = installStep(QStringLiteral("/etc/exim4/ocsp.der"), m_oldStaple, m_newStaple);
    install.current = {QStringLiteral("01:02"), QStringLiteral("good"), QDateTime(QDate(2026, 11, 1), QTime(8, 0), Qt::UTC),
                       QDateTime(QDate(2026, 11, 8), QTime(8, 0), Qt::UTC)};
    install.fetched = {QStringLiteral("01:02"), QStringLiteral("good"), QDateTime(QDate(2026, 12, 1), QTime(8, 0, 1, 250), Qt::UTC),
                       QDateTime()};
    install.responder = QStringLiteral("http://ocsp.example.test/");
    install.exim = true;
    install.mustStaple = true;
    install.severity = Severity::Warning;
    install.findings << makeFinding(FindingCode::StapleExpired, Severity::Error, QStringLiteral("Staple expired"),
                                    QStringLiteral("/etc/exim4/ocsp.der \u202e\x1b"), QStringLiteral("expired"),
                                    QStringLiteral("fetch a new one"));
    install.findings[0].objectIds = {QStringLiteral("staple:abc"), QStringLiteral("cert:def")};
    install.findings[0].remedy = {RemedyKind::RefreshStaple, QStringLiteral("/etc/exim4/ocsp.der"), QStringLiteral("01:02"),
                                  QStringLiteral("http://ocsp.example.test/")};
    BundleRefresh stale = moveAsideStep(QStringLiteral("/etc/nginx/staple.der"), m_otherStaple);
    BundleRefresh skipped;
    skipped.bundleId = QStringLiteral("cert:none");
    skipped.outcome = RefreshOutcome::Skipped;
    skipped.reason = QStringLiteral("no OCSP URL (CA without OCSP)");

    RefreshPlan plan = planOf({install, stale, skipped});
    plan.madeAt = QDateTime(QDate(2026, 12, 2), QTime(3, 4, 5, 6), Qt::UTC);
    plan.reloadCommand = QStringLiteral("systemctl reload exim4 && echo 'ok'");
    plan.haproxySocket = QStringLiteral("/run/haproxy/admin.sock");
    plan.inputFindings << makeFinding(FindingCode::InputUnreadable, Severity::Error, QStringLiteral("Unreadable"), QStringLiteral("/x"),
                                      QStringLiteral("cannot read"), QStringLiteral("check"));

    const QJsonObject json = plan.toJson();
    QCOMPARE(json.value(QStringLiteral("schema")).toString(), QStringLiteral("staplescope-refresh-plan/1"));
    QCOMPARE(json.value(QStringLiteral("madeAt")).toString(), QStringLiteral("2026-12-02T03:04:05.006Z"));
    const QJsonObject first = json.value(QStringLiteral("bundles")).toArray().at(0).toObject();
    QCOMPARE(first.value(QStringLiteral("newStaple")).toString(), QString::fromLatin1(m_newStaple.toBase64()));
    QCOMPARE(first.value(QStringLiteral("destinationSha256")).toString(), QString::fromLatin1(sha256(m_oldStaple).toHex()));
    QCOMPARE(first.value(QStringLiteral("current")).toObject().value(QStringLiteral("thisUpdate")).toString(), QStringLiteral("2026-11-01T08:00:00Z"));
    QVERIFY(first.value(QStringLiteral("fetched")).toObject().value(QStringLiteral("nextUpdate")).isNull());
    QCOMPARE(first.value(QStringLiteral("findings")).toArray().at(0).toObject().value(QStringLiteral("remedy")).toObject().value(QStringLiteral("kind")).toString(),
             QStringLiteral("refresh-staple"));

    // Through text, as apply reads it.
    QString error;
    const auto back = RefreshPlan::fromJson(QJsonDocument::fromJson(QJsonDocument(json).toJson()).object(), &error);
    QVERIFY2(back, qPrintable(error));
    QCOMPARE(back->toJson(), json);
    QCOMPARE(back->madeAt, plan.madeAt);
    QCOMPARE(back->reloadCommand, plan.reloadCommand);
    QCOMPARE(back->haproxySocket, plan.haproxySocket);
    QCOMPARE(back->inputFindings, plan.inputFindings);
    QCOMPARE(back->bundles.size(), 3);
    const BundleRefresh& b = back->bundles[0];
    QCOMPARE(b.newStapleDer, m_newStaple);
    QCOMPARE(b.destinationSha256, sha256(m_oldStaple));
    QCOMPARE(b.findings, install.findings);
    QCOMPARE(b.fetched.thisUpdate, install.fetched.thisUpdate);
    QCOMPARE(b.fetched.thisUpdate.time().msec(), 250);
    QVERIFY(b.fetched.nextUpdate.isNull());
    QCOMPARE(b.current.nextUpdate, install.current.nextUpdate);
    QCOMPARE(b.current.serial, install.current.serial);
    QVERIFY(b.exim && b.mustStaple);
    QCOMPARE(b.severity, Severity::Warning);
    QCOMPARE(b.responder, install.responder);
    QCOMPARE(back->bundles[1].outcome, RefreshOutcome::MoveStaleAside);
    QCOMPARE(back->bundles[1].destinationSha256, sha256(m_otherStaple));
    QVERIFY(back->bundles[2].current.isNull());
    QCOMPARE(back->bundles[2].reason, skipped.reason);
}

void TestInstaller::planJsonRejectsWhatItCannotUse_data()
{
    QTest::addColumn<QString>("field");
    QTest::addColumn<QString>("value"); // JSON text; empty: remove the field
    QTest::addColumn<QString>("expected");
    QTest::newRow("schema") << "schema" << R"("staplescope-refresh-plan/9")" << "schema: 'staplescope-refresh-plan/9' is not";
    QTest::newRow("no schema") << "schema" << "" << "schema: missing";
    QTest::newRow("madeAt") << "madeAt" << R"("yesterday")" << "madeAt: not an ISO 8601 UTC time";
    QTest::newRow("local time") << "madeAt" << R"("2026-12-01T08:00:00+01:00")" << "madeAt: not an ISO 8601 UTC time";
    QTest::newRow("outcome") << "bundles[0].outcome" << R"("installed")" << "bundles[0].outcome: 'installed' is not an outcome";
    QTest::newRow("base64") << "bundles[0].newStaple" << R"("***")" << "bundles[0].newStaple: not base64";
    QTest::newRow("no staple") << "bundles[0].newStaple" << R"("")" << "bundles[0].newStaple: empty";
    QTest::newRow("relative") << "bundles[0].destination" << R"("ocsp.der")" << "bundles[0].destination: an absolute path is needed";
    QTest::newRow("sha") << "bundles[0].destinationSha256" << R"("abcd")" << "bundles[0].destinationSha256: not 64 hex digits";
    QTest::newRow("severity") << "bundles[0].severity" << R"("fatal")" << "bundles[0].severity: not a severity";
    QTest::newRow("finding") << "bundles[0].findings" << R"([{"code":"X","severity":"info"}])" << "bundles[0].findings[0].title: missing";
    QTest::newRow("remedy") << "bundles[0].findings" << R"([{"code":"X","severity":"info","title":"t","remedy":{"kind":"pray"}}])"
                            << "bundles[0].findings[0].remedy.kind: 'pray' is not a remedy kind";
    QTest::newRow("socket") << "haproxySocket" << R"("admin.sock")" << "haproxySocket: not an absolute path";
    QTest::newRow("bundles") << "bundles" << R"({})" << "bundles: not an array";
    QTest::newRow("twice") << "bundles[1]" << "" << "bundles[1].destination: changed by an earlier bundle";
}

void TestInstaller::planJsonRejectsWhatItCannotUse()
{
    QFETCH(QString, field);
    QFETCH(QString, value);
    QFETCH(QString, expected);
    RefreshPlan plan = planOf({installStep(QStringLiteral("/srv/a/ocsp.der"), m_oldStaple, m_newStaple),
                               installStep(QStringLiteral("/srv/a/ocsp.der"), m_oldStaple, m_newStaple, QStringLiteral("cert:two"))});
    QJsonObject json = plan.toJson();
    const QJsonValue parsed = value.isEmpty() ? QJsonValue() : QJsonDocument::fromJson("[" + value.toUtf8() + "]").array().at(0);
    if (field == QLatin1String("bundles[1]")) {
        // the duplicate destination is the plan as made; nothing to change
    } else if (field.startsWith(QLatin1String("bundles[0]."))) {
        QJsonArray bundles = json.value(QStringLiteral("bundles")).toArray();
        QJsonObject bundle = bundles.at(0).toObject();
        bundle.insert(field.mid(11), parsed);
        bundles.replace(0, bundle);
        json.insert(QStringLiteral("bundles"), bundles);
    } else if (value.isEmpty()) {
        json.remove(field);
    } else {
        json.insert(field, parsed);
    }
    if (field != QLatin1String("bundles[1]")) {
        // Only one problem at a time: the duplicate goes.
        QJsonArray bundles = json.value(QStringLiteral("bundles")).toArray();
        if (!bundles.isEmpty())
            bundles.removeAt(1);
        if (json.value(QStringLiteral("bundles")).isArray())
            json.insert(QStringLiteral("bundles"), bundles);
    }
    QString error;
    QVERIFY(!RefreshPlan::fromJson(json, &error));
    QVERIFY2(error.startsWith(expected), qPrintable(error));
}

void TestInstaller::installsNewFileWithMode0644()
{
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    const mode_t oldMask = ::umask(077); // the mode must not depend on the umask
    const InstallResult result = executeRefreshPlan(planOf({installStep(destination, {}, m_newStaple)}));
    ::umask(oldMask);
    QCOMPARE(result.steps.size(), 1);
    QVERIFY2(result.steps[0].done, qPrintable(result.steps[0].message));
    QVERIFY(result.ok());
    QCOMPARE(readAll(destination), m_newStaple);
    QCOMPARE(modeOf(destination), mode_t(0644));
    QVERIFY(!result.reload);
    QVERIFY(result.haproxy.isEmpty());
    QVERIFY(tempFilesIn(dir).isEmpty());
}

void TestInstaller::replacesKeepingModeAndOwner()
{
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/staple.der");
    QVERIFY(writeBytes(destination, m_oldStaple, 0640));
    const bool root = ::geteuid() == 0;
    if (root)
        QCOMPARE(::chown(QFile::encodeName(destination).constData(), 4321, 8765), 0);
    const InstallResult result = executeRefreshPlan(planOf({installStep(destination, m_oldStaple, m_newStaple)}));
    QVERIFY2(result.ok(), qPrintable(result.steps.value(0).message));
    QCOMPARE(readAll(destination), m_newStaple);
    QCOMPARE(modeOf(destination), mode_t(0640));
    if (root) {
        struct stat st = {};
        QCOMPARE(::stat(QFile::encodeName(destination).constData(), &st), 0);
        QCOMPARE(st.st_uid, uid_t(4321));
        QCOMPARE(st.st_gid, gid_t(8765));
    }
    QVERIFY(tempFilesIn(dir).isEmpty());
}

void TestInstaller::refusesWhenDestinationChangedSincePlan()
{
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    QVERIFY(writeBytes(destination, m_oldStaple));
    const RefreshPlan plan = planOf({installStep(destination, m_oldStaple, m_newStaple)});
    QVERIFY(writeBytes(destination, m_otherStaple)); // someone else refreshed it meanwhile
    const InstallResult result = executeRefreshPlan(plan);
    QCOMPARE(result.steps.size(), 1);
    QVERIFY(!result.steps[0].done);
    QVERIFY(!result.ok());
    QVERIFY2(result.steps[0].message.contains(QLatin1String("changed since the plan was made")), qPrintable(result.steps[0].message));
    QVERIFY(result.steps[0].message.endsWith(QLatin1String(": nothing written")));
    QCOMPARE(readAll(destination), m_otherStaple);

    // Gone since the plan: refused too, nothing created.
    QVERIFY(QFile::remove(destination));
    const InstallResult gone = executeRefreshPlan(plan);
    QVERIFY(!gone.steps[0].done);
    QVERIFY2(gone.steps[0].message.contains(QLatin1String("no longer exists")), qPrintable(gone.steps[0].message));
    QVERIFY(!QFileInfo::exists(destination));
}

void TestInstaller::refusesWhenFileAppearedThatMustNotExist()
{
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    const RefreshPlan plan = planOf({installStep(destination, {}, m_newStaple)});
    QVERIFY(writeBytes(destination, m_otherStaple));
    const InstallResult result = executeRefreshPlan(plan);
    QVERIFY(!result.steps[0].done);
    QVERIFY2(result.steps[0].message.contains(QLatin1String("expected no file there")), qPrintable(result.steps[0].message));
    QCOMPARE(readAll(destination), m_otherStaple);
}

void TestInstaller::refusesWhatIsNotARegularFile()
{
    const QString dir = caseDir();
    const QString folderInTheWay = dir + QStringLiteral("/ocsp.der");
    QVERIFY(QDir().mkpath(folderInTheWay));
    const InstallResult result = executeRefreshPlan(planOf({installStep(folderInTheWay, m_oldStaple, m_newStaple)}));
    QVERIFY(!result.steps[0].done);
    QVERIFY2(result.steps[0].message.contains(QLatin1String("not a regular file")), qPrintable(result.steps[0].message));
    QVERIFY(QFileInfo(folderInTheWay).isDir());

    const InstallResult noFolder = executeRefreshPlan(planOf({installStep(dir + QStringLiteral("/missing/ocsp.der"), {}, m_newStaple)}));
    QVERIFY(!noFolder.steps[0].done);
    QVERIFY2(noFolder.steps[0].message.contains(QLatin1String("No such file")), qPrintable(noFolder.steps[0].message));
    QVERIFY(!QFileInfo::exists(dir + QStringLiteral("/missing")));
}

void TestInstaller::writesThroughSymbolicLink()
{
    // certbot-style: the name the server reads is a link into another folder.
    const QString dir = caseDir();
    QVERIFY(QDir().mkpath(dir + QStringLiteral("/archive")));
    const QString target = dir + QStringLiteral("/archive/ocsp1.der");
    const QString link = dir + QStringLiteral("/ocsp.der");
    QVERIFY(writeBytes(target, m_oldStaple, 0640));
    QVERIFY(QFile::link(QStringLiteral("archive/ocsp1.der"), link));
    const InstallResult result = executeRefreshPlan(planOf({installStep(link, m_oldStaple, m_newStaple)}));
    QVERIFY2(result.ok(), qPrintable(result.steps.value(0).message));
    QVERIFY(QFileInfo(link).isSymLink());
    QCOMPARE(readAll(target), m_newStaple);
    QCOMPARE(modeOf(target), mode_t(0640));
    QVERIFY(tempFilesIn(dir).isEmpty() && tempFilesIn(dir + QStringLiteral("/archive")).isEmpty());
}

void TestInstaller::movesStaleAsideReplacingOlderStale()
{
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    QVERIFY(writeBytes(destination, m_oldStaple));
    QVERIFY(writeBytes(destination + QStringLiteral(".stale"), m_otherStaple));
    const InstallResult result = executeRefreshPlan(planOf({moveAsideStep(destination, m_oldStaple)}));
    QVERIFY2(result.ok(), qPrintable(result.steps.value(0).message));
    QVERIFY(!QFileInfo::exists(destination));
    QCOMPARE(readAll(destination + QStringLiteral(".stale")), m_oldStaple);
    QVERIFY(result.steps[0].message.contains(QLatin1String("moved the stale staple")));

    // A changed file is not moved.
    QVERIFY(writeBytes(destination, m_newStaple));
    const InstallResult changed = executeRefreshPlan(planOf({moveAsideStep(destination, m_otherStaple)}));
    QVERIFY(!changed.steps[0].done);
    QCOMPARE(readAll(destination), m_newStaple);
    QCOMPARE(readAll(destination + QStringLiteral(".stale")), m_oldStaple);
}

void TestInstaller::rerunOfADonePlanCompletes()
{
    // After a crash between the change and the reload, the same plan runs again: it sees its own
    // change, counts the step as done and still tells the server.
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    const QString stale = dir + QStringLiteral("/other.der");
    QVERIFY(writeBytes(destination, m_oldStaple));
    QVERIFY(writeBytes(stale, m_otherStaple));
    RefreshPlan plan = planOf({installStep(destination, m_oldStaple, m_newStaple), moveAsideStep(stale, m_otherStaple)});
    plan.reloadCommand = QStringLiteral("echo x >> '%1/reloads'").arg(dir);
    QVERIFY(executeRefreshPlan(plan).ok());
    const InstallResult again = executeRefreshPlan(plan);
    QVERIFY(again.ok());
    QVERIFY2(again.steps[0].message.contains(QLatin1String("already holds the new staple")), qPrintable(again.steps[0].message));
    QVERIFY2(again.steps[1].message.contains(QLatin1String("already moved aside")), qPrintable(again.steps[1].message));
    QCOMPARE(readAll(dir + QStringLiteral("/reloads")), QByteArray("x\nx\n"));
}

void TestInstaller::reloadRunsOnceAfterChanges()
{
    const QString dir = caseDir();
    const QString a = dir + QStringLiteral("/a.der"), b = dir + QStringLiteral("/b.der");
    QVERIFY(writeBytes(b, m_oldStaple));
    RefreshPlan plan = planOf({installStep(a, {}, m_newStaple, QStringLiteral("cert:a")), installStep(b, m_oldStaple, m_newStaple, QStringLiteral("cert:b"))});
    BundleRefresh kept;
    kept.bundleId = QStringLiteral("cert:kept");
    kept.outcome = RefreshOutcome::KeepCurrent;
    plan.bundles << kept;
    plan.reloadCommand = QStringLiteral("echo ran >> '%1/count'; echo 'hello from reload'; printf '\\033[31mred\\n' >&2; exit 3").arg(dir);
    const InstallResult result = executeRefreshPlan(plan);
    QCOMPARE(result.steps.size(), 2); // the kept bundle has no step
    QVERIFY(result.steps[0].done && result.steps[1].done);
    QVERIFY(result.reload);
    QVERIFY(result.reload->ran);
    QCOMPARE(result.reload->exitStatus, 3);
    QVERIFY(!result.reload->timedOut);
    QVERIFY2(result.reload->output.contains(QLatin1String("hello from reload")), qPrintable(result.reload->output));
    QVERIFY2(result.reload->output.contains(QLatin1String("\\x1b[31mred")), qPrintable(result.reload->output)); // escaped
    QVERIFY(!result.reload->output.contains(QChar(0x1b)));
    QVERIFY(!result.ok()); // the reload failed
    QCOMPARE(readAll(dir + QStringLiteral("/count")), QByteArray("ran\n"));
    const QJsonObject json = installResultToJson(result);
    QCOMPARE(json.value(QStringLiteral("reload")).toObject().value(QStringLiteral("exitStatus")).toInt(), 3);
    QCOMPARE(json.value(QStringLiteral("ok")).toBool(), false);
    QCOMPARE(json.value(QStringLiteral("steps")).toArray().size(), 2);
}

void TestInstaller::reloadNotRunWhenNothingChanged()
{
    const QString dir = caseDir();
    const QString a = dir + QStringLiteral("/a.der");
    QVERIFY(writeBytes(a, m_otherStaple));
    BundleRefresh kept;
    kept.outcome = RefreshOutcome::KeepCurrent;
    // Only a kept bundle, and an install refused because the file changed: nothing changed.
    RefreshPlan plan = planOf({kept, installStep(a, m_oldStaple, m_newStaple)});
    plan.reloadCommand = QStringLiteral("echo ran >> '%1/count'").arg(dir);
    const InstallResult result = executeRefreshPlan(plan);
    QVERIFY(!result.reload);
    QVERIFY(!QFileInfo::exists(dir + QStringLiteral("/count")));
    QVERIFY(!result.ok());
    const InstallResult none = executeRefreshPlan(planOf({kept}));
    QVERIFY(none.steps.isEmpty() && !none.reload && none.ok());
}

void TestInstaller::reloadOutputIsBoundedAndTimeoutEnforced()
{
    const CommandRun chatty = runShellCommand(QStringLiteral("head -c 200000 /dev/zero | tr '\\0' a"), 10000);
    QCOMPARE(chatty.exitStatus, 0);
    QVERIFY(chatty.output.size() < 17 * 1024);
    QVERIFY2(chatty.output.contains(QLatin1String("[output cut at 16 KiB]")), qPrintable(chatty.output.right(100)));

    const QString dir = caseDir();
    // The command and what it started are stopped: the background sleep would touch the file.
    const CommandRun slow = runShellCommand(QStringLiteral("(sleep 2; touch '%1/late') & sleep 30").arg(dir), 300);
    QVERIFY(slow.ran);
    QVERIFY(slow.timedOut);
    QCOMPARE(slow.exitStatus, -1);
    QVERIFY(slow.output.contains(QLatin1String("took too long")));
    QThread::msleep(2300);
    QVERIFY(!QFileInfo::exists(dir + QStringLiteral("/late")));
}

void TestInstaller::lockTimeoutIsBoundedAndExplained()
{
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    QVERIFY(writeBytes(destination, m_oldStaple));
    const int held = ::open(QFile::encodeName(dir).constData(), O_RDONLY | O_DIRECTORY);
    QVERIFY(held >= 0);
    QCOMPARE(::flock(held, LOCK_EX), 0); // another run holding the folder
    InstallOptions options;
    options.lockTimeoutMs = 200;
    const InstallResult result = executeRefreshPlan(planOf({installStep(destination, m_oldStaple, m_newStaple)}), options);
    ::close(held);
    QVERIFY(!result.steps[0].done);
    QVERIFY2(result.steps[0].message.contains(QLatin1String("another run is installing into")), qPrintable(result.steps[0].message));
    QVERIFY(result.steps[0].message.endsWith(QLatin1String("nothing written")));
    QCOMPARE(readAll(destination), m_oldStaple);
    // Released: the same plan goes through, and the lock left nothing in the folder.
    QVERIFY(executeRefreshPlan(planOf({installStep(destination, m_oldStaple, m_newStaple)}), options).ok());
    QCOMPARE(QDir(dir).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot), QStringList{QStringLiteral("ocsp.der")});
}

void TestInstaller::leftoverCleanupTakesOnlyOurDeadTemps()
{
    const QString dir = caseDir();
    const QString dead = dir + QStringLiteral("/.ocsp.der.staplescope-Ab3xYz");
    const QString shortName = dir + QStringLiteral("/.ocsp.der.staplescope-Ab3xY");
    const QString otherFile = dir + QStringLiteral("/.other.der.staplescope-Ab3xYz");
    const QString noDot = dir + QStringLiteral("/ocsp.der.staplescope-Ab3xYz");
    const QString live = dir + QStringLiteral("/.ocsp.der.staplescope-LIVE01");
    const QString link = dir + QStringLiteral("/.ocsp.der.staplescope-link01");
    const QString victim = dir + QStringLiteral("/victim");
    for (const QString& path : {dead, shortName, otherFile, noDot, live, victim})
        QVERIFY(writeBytes(path, "x"));
    QVERIFY(QFile::link(victim, link));
    const int liveFd = ::open(QFile::encodeName(live).constData(), O_RDONLY);
    QCOMPARE(::flock(liveFd, LOCK_EX), 0); // a writer still working on it
    QCOMPARE(tempFilePrefix(QStringLiteral("ocsp.der")), QStringLiteral(".ocsp.der.staplescope-"));
    const QStringList removed = removeLeftoverTempFiles(dir, QStringLiteral("ocsp.der"));
    ::close(liveFd);
    QCOMPARE(removed, QStringList{dead});
    for (const QString& path : {shortName, otherFile, noDot, live, link, victim})
        QVERIFY2(QFileInfo(path).exists() || QFileInfo(path).isSymLink(), qPrintable(path));
    QCOMPARE(readAll(victim), QByteArray("x"));
}

void TestInstaller::haproxyAnswersOtherThanUpdatedAreFailures()
{
    const QString dir = caseDir();
    const HaproxyUpdate missing = sendHaproxyOcspResponse(dir + QStringLiteral("/none.sock"), m_newStaple, 1000);
    QVERIFY(!missing.ok);
    QVERIFY2(missing.answer.contains(QLatin1String("no socket at")), qPrintable(missing.answer));

    FakeRuntimeApi api(dir + QStringLiteral("/api.sock"), "Permission denied\x1b[2J\n\n");
    QVERIFY(api.listening());
    const HaproxyUpdate refused = sendHaproxyOcspResponse(dir + QStringLiteral("/api.sock"), m_newStaple, 2000);
    QVERIFY(!refused.ok);
    QCOMPARE(refused.answer, QStringLiteral("HAProxy answered \"Permission denied\\x1b[2J\""));
    QCOMPARE(api.lines().value(0), "set ssl ocsp-response " + m_newStaple.toBase64());

    FakeRuntimeApi good(dir + QStringLiteral("/good.sock"), "OCSP Response updated!\n\n");
    const HaproxyUpdate updated = sendHaproxyOcspResponse(dir + QStringLiteral("/good.sock"), m_newStaple, 2000);
    QVERIFY(updated.ok);
    QCOMPARE(updated.answer, QStringLiteral("OCSP Response updated!"));
}

void TestInstaller::haproxyRuntimeApiServesNewStapleWithoutReload()
{
    // HAProxy judges staples by the real clock.
    QDateTime now = QDateTime::currentDateTimeUtc();
    now.setTime(QTime(now.time().hour(), now.time().minute(), now.time().second()));
    const LivePki pki = makeLivePki(now);
    const QString dir = caseDir();
    ::chmod(QFile::encodeName(dir).constData(), 0755);
    const QString crt = LivePki::write(dir, "site.pem", pki.fullchainPem(pki.leaf) + LivePki::keyPem(pki.leaf));
    const QString staple = LivePki::write(dir, "site.pem.ocsp", pki.olderLeafStaple);
    const QString socket = dir + QStringLiteral("/admin.sock");
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

    ProbeOptions options;
    options.host = QStringLiteral("127.0.0.1");
    options.port = port;
    options.serverName = pki.hostName;
    options.requestStatus = true;
    options.stepTimeoutMs = 3000;
    const QList<ProbeResult> before = probe(options);
    QVERIFY(before.value(0).tlsEstablished);
    QCOMPARE(before[0].stapleDer, pki.olderLeafStaple);

    RefreshPlan plan = planOf({installStep(staple, pki.olderLeafStaple, pki.leafStaple)});
    plan.haproxySocket = socket;
    const InstallResult result = executeRefreshPlan(plan);
    QVERIFY2(result.steps.value(0).done, qPrintable(result.steps.value(0).message));
    QCOMPARE(result.haproxy.size(), 1);
    QVERIFY2(result.haproxy[0].ok, qPrintable(result.haproxy[0].answer));
    QCOMPARE(result.haproxy[0].answer, QStringLiteral("OCSP Response updated!"));
    QCOMPARE(result.haproxy[0].bundleId, QStringLiteral("cert:leaf"));
    QVERIFY(result.ok());
    QCOMPARE(readAll(staple), pki.leafStaple);

    const QList<ProbeResult> after = probe(options);
    QVERIFY(after.value(0).tlsEstablished);
    QCOMPARE(after[0].stapleDer, pki.leafStaple); // served at once, no reload
    QVERIFY(started.process->running());

    // A response HAProxy cannot use is reported with its answer, escaped.
    const HaproxyUpdate garbage = sendHaproxyOcspResponse(socket, QByteArray("not an OCSP response"), 3000);
    QVERIFY(!garbage.ok);
    QVERIFY2(garbage.answer.startsWith(QLatin1String("HAProxy answered \"")), qPrintable(garbage.answer));
    QCOMPARE(probe(options).value(0).stapleDer, pki.leafStaple);
}

void TestInstaller::cliApplyDryRunChangesNothing()
{
    if (!haveCli())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    const QString changed = dir + QStringLiteral("/changed.der");
    QVERIFY(writeBytes(destination, m_oldStaple));
    QVERIFY(writeBytes(changed, m_otherStaple));
    BundleRefresh install = installStep(destination, m_oldStaple, m_newStaple);
    install.current = {QStringLiteral("01:02"), QStringLiteral("good"), QDateTime(QDate(2026, 11, 1), QTime(8, 0), Qt::UTC),
                       QDateTime(QDate(2026, 11, 8), QTime(8, 0), Qt::UTC)};
    install.fetched = {QStringLiteral("01:02"), QStringLiteral("good"), QDateTime(QDate(2026, 12, 1), QTime(8, 0), Qt::UTC),
                       QDateTime(QDate(2026, 12, 8), QTime(8, 0), Qt::UTC)};
    RefreshPlan plan = planOf({install});
    plan.reloadCommand = QStringLiteral("touch '%1/reloaded'").arg(dir);
    const QString planFile = writePlan(dir + QStringLiteral("/plan.json"), plan);
    const CliRun run = runCli({QStringLiteral("apply"), QStringLiteral("--dry-run"), planFile});
    QCOMPARE(run.exitCode, 0);
    QVERIFY2(run.out.contains(QStringLiteral("installed      www.example.test  %1  2026-11-01T08:00:00Z … 2026-11-08T08:00:00Z → "
                                             "2026-12-01T08:00:00Z … 2026-12-08T08:00:00Z").arg(destination)),
             qPrintable(run.out));
    QVERIFY(run.out.contains(QStringLiteral("would install: %1 is as the plan saw it").arg(destination)));
    QVERIFY(run.out.contains(QLatin1String("Reload command")));
    QVERIFY(run.out.contains(QLatin1String("Dry run: nothing changed.")));
    QCOMPARE(readAll(destination), m_oldStaple);
    QVERIFY(!QFileInfo::exists(dir + QStringLiteral("/reloaded")));

    // From standard input, with a destination that changed: the dry run says it would refuse.
    const QByteArray stale = QJsonDocument(planOf({installStep(changed, m_oldStaple, m_newStaple)}).toJson()).toJson();
    const CliRun refused = runCli({QStringLiteral("apply"), QStringLiteral("--dry-run"), QStringLiteral("-")},
                                  QProcessEnvironment::systemEnvironment(), stale);
    QCOMPARE(refused.exitCode, 2);
    QVERIFY2(refused.out.contains(QLatin1String("would refuse:")) && refused.out.contains(QLatin1String("changed since the plan was made")),
             qPrintable(refused.out));
    QCOMPARE(readAll(changed), m_otherStaple);
}

void TestInstaller::cliApplyInstallsAndReportsJson()
{
    if (!haveCli())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    const QString stale = dir + QStringLiteral("/stale.der");
    QVERIFY(writeBytes(destination, m_oldStaple, 0600));
    QVERIFY(writeBytes(stale, m_otherStaple));
    RefreshPlan plan = planOf({installStep(destination, m_oldStaple, m_newStaple), moveAsideStep(stale, m_otherStaple)});
    plan.reloadCommand = QStringLiteral("echo reloaded; echo >> '%1/count'").arg(dir);
    const QString planFile = writePlan(dir + QStringLiteral("/plan.json"), plan);

    const CliRun text = runCli({QStringLiteral("apply"), planFile});
    QVERIFY2(text.exitCode == 0, qPrintable(text.out + text.err));
    QVERIFY(text.out.contains(QStringLiteral("done    wrote the new staple to %1").arg(destination)));
    QVERIFY(text.out.contains(QStringLiteral("done    moved the stale staple %1 aside to %1.stale").arg(stale)));
    QVERIFY2(text.out.contains(QLatin1String("Reload command exited with status 0")), qPrintable(text.out));
    QVERIFY(text.out.contains(QLatin1String("    reloaded\n")));
    QCOMPARE(readAll(destination), m_newStaple);
    QCOMPARE(modeOf(destination), mode_t(0600));
    QCOMPARE(readAll(stale + QStringLiteral(".stale")), m_otherStaple);

    // A plan whose destination changed meanwhile: exit 2, as JSON.
    QVERIFY(writeBytes(destination, m_oldStaple));
    const QString planFile2 = writePlan(dir + QStringLiteral("/plan2.json"), planOf({installStep(destination, m_otherStaple, m_newStaple)}));
    const CliRun json = runCli({QStringLiteral("apply"), QStringLiteral("--json"), planFile2});
    QCOMPARE(json.exitCode, 2);
    const QJsonObject report = QJsonDocument::fromJson(json.out.toUtf8()).object();
    QCOMPARE(report.value(QStringLiteral("schema")).toString(), QStringLiteral("staplescope-apply/1"));
    QCOMPARE(report.value(QStringLiteral("exitCode")).toInt(), 2);
    QCOMPARE(report.value(QStringLiteral("plan")).toObject().value(QStringLiteral("schema")).toString(), QStringLiteral("staplescope-refresh-plan/1"));
    const QJsonObject step = report.value(QStringLiteral("result")).toObject().value(QStringLiteral("steps")).toArray().at(0).toObject();
    QCOMPARE(step.value(QStringLiteral("done")).toBool(), false);
    QVERIFY(step.value(QStringLiteral("message")).toString().contains(QLatin1String("changed since the plan was made")));
    QCOMPARE(readAll(destination), m_oldStaple);
    QCOMPARE(readAll(dir + QStringLiteral("/count")), QByteArray("\n")); // the reload ran once, for the first plan only
}

void TestInstaller::cliApplyRefusesUnusablePlans()
{
    if (!haveCli())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const QString dir = caseDir();
    QVERIFY(writeBytes(dir + QStringLiteral("/broken.json"), "{\"schema\": "));
    const CliRun broken = runCli({QStringLiteral("apply"), dir + QStringLiteral("/broken.json")});
    QCOMPARE(broken.exitCode, 3);
    QVERIFY2(broken.err.contains(QLatin1String("is not a JSON object")), qPrintable(broken.err));
    QJsonObject invalid = planOf({installStep(dir + QStringLiteral("/x.der"), {}, m_newStaple)}).toJson();
    invalid.insert(QStringLiteral("madeAt"), 5);
    QVERIFY(writeBytes(dir + QStringLiteral("/invalid.json"), QJsonDocument(invalid).toJson()));
    const CliRun bad = runCli({QStringLiteral("apply"), dir + QStringLiteral("/invalid.json")});
    QCOMPARE(bad.exitCode, 3);
    QVERIFY2(bad.err.contains(QLatin1String("is not valid: madeAt: not an ISO 8601 UTC time")), qPrintable(bad.err));
    QVERIFY(!QFileInfo::exists(dir + QStringLiteral("/x.der")));
    const CliRun folder = runCli({QStringLiteral("apply"), dir});
    QCOMPARE(folder.exitCode, 3);
    QVERIFY2(folder.err.contains(QLatin1String("is not a regular file")), qPrintable(folder.err));
    QCOMPARE(runCli({QStringLiteral("apply")}).exitCode, 3);
    QCOMPARE(runCli({QStringLiteral("apply"), QStringLiteral("--lock-timeout"), QStringLiteral("soon"), dir + QStringLiteral("/invalid.json")}).exitCode, 3);
}

void TestInstaller::cliApplyAsRootForAnotherUser()
{
    if (!haveCli())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    if (::geteuid() != 0)
        QSKIP("needs root (apply checks ownership only when root acts for another user)");
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    QVERIFY(writeBytes(destination, m_oldStaple));
    QProcessEnvironment pkexec = QProcessEnvironment::systemEnvironment();
    pkexec.insert(QStringLiteral("PKEXEC_UID"), QStringLiteral("4242"));
    const RefreshPlan plan = planOf({installStep(destination, m_oldStaple, m_newStaple)});

    // A plan of a third user, or one others may write: refused before anything is read from it.
    const QString foreign = writePlan(dir + QStringLiteral("/foreign.json"), plan);
    QCOMPARE(::chown(QFile::encodeName(foreign).constData(), 1111, 1111), 0);
    const CliRun third = runCli({QStringLiteral("apply"), foreign}, pkexec);
    QCOMPARE(third.exitCode, 3);
    QVERIFY2(third.err.contains(QLatin1String("belongs to uid 1111, neither you (uid 4242) nor root")), qPrintable(third.err));
    const QString open = writePlan(dir + QStringLiteral("/open.json"), plan);
    QCOMPARE(::chown(QFile::encodeName(open).constData(), 4242, 4242), 0);
    QCOMPARE(::chmod(QFile::encodeName(open).constData(), 0666), 0);
    const CliRun writable = runCli({QStringLiteral("apply"), open}, pkexec);
    QCOMPARE(writable.exitCode, 3);
    QVERIFY2(writable.err.contains(QLatin1String("may be changed by other users (mode 0666)")), qPrintable(writable.err));

    // The user's own plan, but the destination lies under /tmp (writable by everyone): that user
    // could swap a folder for a link while root writes, so root refuses.
    const QString own = writePlan(dir + QStringLiteral("/own.json"), plan);
    QCOMPARE(::chown(QFile::encodeName(own).constData(), 4242, 4242), 0);
    const CliRun risky = runCli({QStringLiteral("apply"), own}, pkexec);
    QCOMPARE(risky.exitCode, 2);
    QVERIFY2(risky.out.contains(QLatin1String("refused to write")) && risky.out.contains(QLatin1String("writable by users other than root")),
             qPrintable(risky.out));
    QCOMPARE(readAll(destination), m_oldStaple);
    // Root acting for itself writes there.
    const CliRun itself = runCli({QStringLiteral("apply"), own});
    QVERIFY2(itself.exitCode == 0, qPrintable(itself.out));
    QCOMPARE(readAll(destination), m_newStaple);
}

void TestInstaller::crashAtEveryFaultPointLeavesWholeFile_data()
{
    QTest::addColumn<QString>("point");
    for (const QString& point : installFaultPoints())
        QTest::newRow(qPrintable(point)) << point;
}

void TestInstaller::crashAtEveryFaultPointLeavesWholeFile()
{
    QFETCH(QString, point);
    if (!haveCli())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    QVERIFY(writeBytes(destination, m_oldStaple, 0640));
    // As root, the file belongs to someone else: the temp of a killed run then does too.
    const bool root = ::geteuid() == 0;
    if (root)
        QCOMPARE(::chown(QFile::encodeName(destination).constData(), 4321, 8765), 0);
    const bool moveAside = point == QLatin1String("stale-renamed");
    RefreshPlan plan = planOf({moveAside ? moveAsideStep(destination, m_oldStaple) : installStep(destination, m_oldStaple, m_newStaple)});
    plan.reloadCommand = QStringLiteral("echo >> '%1/reloads'").arg(dir);
    std::unique_ptr<FakeRuntimeApi> api;
    if (point == QLatin1String("haproxy-sent")) {
        plan.haproxySocket = dir + QStringLiteral("/api.sock");
        api = std::make_unique<FakeRuntimeApi>(plan.haproxySocket, "OCSP Response updated!\n");
        QVERIFY(api->listening());
    }
    const QString planFile = writePlan(m_dir.path() + QStringLiteral("/plan-%1.json").arg(point), plan);

    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("STAPLESCOPE_FAULT_POINT"), point);
    const CliRun crashed = runCli({QStringLiteral("apply"), planFile}, environment);
    QCOMPARE(crashed.exitStatus, QProcess::CrashExit);

    const QStringList changedBy{QStringLiteral("renamed"), QStringLiteral("folder-synced"), QStringLiteral("stale-renamed"),
                                QStringLiteral("before-reload"), QStringLiteral("after-reload"), QStringLiteral("haproxy-sent")};
    const bool changed = changedBy.contains(point);
    if (moveAside) {
        QVERIFY(!QFileInfo::exists(destination));
        QCOMPARE(readAll(destination + QStringLiteral(".stale")), m_oldStaple);
    } else {
        // The whole old or the whole new staple, never a mix, never missing.
        QCOMPARE(readAll(destination), changed ? m_newStaple : m_oldStaple);
        QCOMPARE(modeOf(destination), mode_t(0640));
        struct stat st = {};
        QCOMPARE(::stat(QFile::encodeName(destination).constData(), &st), 0);
        if (root)
            QCOMPARE(st.st_uid, uid_t(4321));
    }
    // A temp written before the crash stays until the next run into the folder.
    if (point == QLatin1String("temp-written") || point == QLatin1String("temp-synced"))
        QCOMPARE(tempFilesIn(dir).size(), 1);
    const QByteArray reloadsBefore = readAll(dir + QStringLiteral("/reloads"));
    QCOMPARE(reloadsBefore.isEmpty(), point != QLatin1String("after-reload") && point != QLatin1String("haproxy-sent"));

    // Run again without the fault: it completes (or sees its own change), tells the server, and
    // leaves no temp behind.
    const CliRun rerun = runCli({QStringLiteral("apply"), planFile});
    QCOMPARE(rerun.exitStatus, QProcess::NormalExit);
    QVERIFY2(rerun.exitCode == 0, qPrintable(rerun.out + rerun.err));
    if (moveAside)
        QCOMPARE(readAll(destination + QStringLiteral(".stale")), m_oldStaple);
    else
        QCOMPARE(readAll(destination), m_newStaple);
    QVERIFY2(tempFilesIn(dir).isEmpty(), qPrintable(tempFilesIn(dir).join(QLatin1Char(' '))));
    QCOMPARE(readAll(dir + QStringLiteral("/reloads")), reloadsBefore + "\n");
    if (point == QLatin1String("temp-written"))
        QVERIFY2(rerun.out.contains(QLatin1String("removed 1 temporary file(s) a killed run left")), qPrintable(rerun.out));
    if (api) {
        QCOMPARE(api->lines().size(), 2);
        QVERIFY2(rerun.out.contains(QLatin1String("HAProxy updated for www.example.test: OCSP Response updated!")), qPrintable(rerun.out));
    }
}

void TestInstaller::concurrentAppliesOnOneFolder()
{
    if (!haveCli())
        QSKIP("STAPLESCOPE_CLI does not name the built staplescope-cli (run through ctest)");
    const QString dir = caseDir();
    const QString destination = dir + QStringLiteral("/ocsp.der");
    QVERIFY(writeBytes(destination, m_oldStaple));
    // Two plans made from the same state, with different responses; each also writes a file of
    // its own in the folder.
    const QString planA = writePlan(m_dir.path() + QStringLiteral("/concurrent-a.json"),
                                    planOf({installStep(destination, m_oldStaple, m_newStaple),
                                            installStep(dir + QStringLiteral("/a-only.der"), {}, m_newStaple, QStringLiteral("cert:a"))}));
    const QString planB = writePlan(m_dir.path() + QStringLiteral("/concurrent-b.json"),
                                    planOf({installStep(destination, m_oldStaple, m_otherStaple),
                                            installStep(dir + QStringLiteral("/b-only.der"), {}, m_otherStaple, QStringLiteral("cert:b"))}));
    QProcess a, b;
    a.start(qEnvironmentVariable("STAPLESCOPE_CLI"), {QStringLiteral("apply"), planA});
    b.start(qEnvironmentVariable("STAPLESCOPE_CLI"), {QStringLiteral("apply"), planB});
    QVERIFY(a.waitForFinished(30000));
    QVERIFY(b.waitForFinished(30000));
    QCOMPARE(a.exitStatus(), QProcess::NormalExit);
    QCOMPARE(b.exitStatus(), QProcess::NormalExit);
    // Exactly one wins the shared file; the other sees it changed and refuses that step (exit 2).
    QCOMPARE(QList<int>({a.exitCode(), b.exitCode()}).count(0), 1);
    QCOMPARE(QList<int>({a.exitCode(), b.exitCode()}).count(2), 1);
    const QByteArray content = readAll(destination);
    QCOMPARE(content, a.exitCode() == 0 ? m_newStaple : m_otherStaple);
    const QString loser = QString::fromUtf8(a.exitCode() == 0 ? b.readAllStandardOutput() : a.readAllStandardOutput());
    QVERIFY2(loser.contains(QLatin1String("changed since the plan was made")) && loser.contains(QLatin1String(": nothing written")),
             qPrintable(loser));
    QCOMPARE(readAll(dir + QStringLiteral("/a-only.der")), m_newStaple);
    QCOMPARE(readAll(dir + QStringLiteral("/b-only.der")), m_otherStaple);
    QVERIFY(tempFilesIn(dir).isEmpty());
}

QTEST_GUILESS_MAIN(TestInstaller)
#include "tst_installer.moc"
