// The workspace without any window: loads, re-evaluations and server checks as jobs with progress,
// cancellation and a result applied on the GUI thread; a custom job plugs in the same way; the
// destructor cancels and waits. The PKI is generated at the pinned clock.

#include "AppSettings.h"
#include "LoopbackServer.h"
#include "PkiFactory.h"
#include "TestClock.h"
#include "TestPki.h"
#include "Workspace.h"

#include <QCoreApplication>
#include <QDir>
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>

#include <atomic>
#include <map>

using namespace staplescope;
using namespace staplescope::test;
using namespace staplescope::ui;

namespace {

// What a workspace signalled, in order.
struct Recorder {
    explicit Recorder(Workspace& workspace)
    {
        QObject::connect(&workspace, &Workspace::jobStarted, &workspace,
                         [this](const JobInfo& job) { started << job; });
        QObject::connect(&workspace, &Workspace::jobProgress, &workspace,
                         [this](const JobInfo& job, qint64 done, qint64 total) {
                             progress[job.id] << qMakePair(done, total);
                         });
        QObject::connect(&workspace, &Workspace::jobFinished, &workspace,
                         [this](const JobInfo& job, JobOutcome outcome) { outcomes[job.id] = outcome; });
        QObject::connect(&workspace, &Workspace::jobFailed, &workspace,
                         [this](const JobInfo& job, const QString& error) { errors[job.id] = error; });
        QObject::connect(&workspace, &Workspace::sessionChanged, &workspace, [this] { ++sessionChanges; });
        QObject::connect(&workspace, &Workspace::reportChanged, &workspace,
                         [this](bool fresh) { reports << fresh; });
    }
    bool ended(quint64 id) const { return outcomes.count(id) || errors.count(id); }
    // The job's end, processing events meanwhile.
    bool waitFor(quint64 id, int timeoutMs = 20000)
    {
        return QTest::qWaitFor([&] { return ended(id); }, timeoutMs);
    }

    QList<JobInfo> started;
    std::map<quint64, QList<QPair<qint64, qint64>>> progress;
    std::map<quint64, JobOutcome> outcomes;
    std::map<quint64, QString> errors;
    int sessionChanges = 0;
    QList<bool> reports;
};

QStringList codesOfBundles(const InspectionReport& report)
{
    QStringList codes;
    for (const BundleReport& b : report.bundles)
        for (const Finding& f : b.findings)
            codes << f.code;
    return codes;
}

} // namespace

class TestWorkspace : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void loadShowsTheFolder();
    void reevaluationAsOfAnotherTime();
    void cancelledLoadKeepsThePreviousSession();
    void newerLoadReplacesTheRunningOne();
    void loadAndServerCheckAtOnce();
    void customJobPlugsIn();
    void passwordIsAskedOnTheGuiThread();
    void destroyedDuringALoad();
    void destroyedWhileAWorkerWaitsForAPassword();

private:
    std::unique_ptr<Workspace> makeWorkspace();

    TestPki m_pki;
    TestFolder m_files; // one healthy bundle: leaf + intermediate, staple
    TestFolder m_bulk;  // many bundles: a load that takes a while
    QString m_rootFile;
    QTemporaryDir m_settingsDir;
    std::unique_ptr<AppSettings> m_settings;
    std::unique_ptr<Workspace> m_workspace;
};

void TestWorkspace::initTestCase()
{
    QVERIFY(m_files.isValid() && m_bulk.isValid() && m_settingsDir.isValid());
    m_rootFile = m_settingsDir.filePath(QStringLiteral("root.pem"));
    QFile root(m_rootFile);
    QVERIFY(root.open(QIODevice::WriteOnly));
    root.write(TestPki::pem(m_pki.root));
    root.close();
    QVERIFY(
        !m_files.write(QStringLiteral("www/fullchain.pem"), TestPki::pem({&m_pki.leaf, &m_pki.intermediate}))
             .isEmpty());
    QVERIFY(!m_files.write(QStringLiteral("www/ocsp.der"), m_pki.goodStaple()).isEmpty());
    // 1,500 files, each another leaf's chain: long enough to cancel, to replace and to destroy mid-way.
    const QByteArray chain = TestPki::pem(m_pki.intermediate);
    for (int i = 0; i < 300; ++i) {
        const IssuedCert leaf = m_pki.issueLeaf([i](CertSpec& s) {
            s.commonName = QStringLiteral("host%1.bulk.test").arg(i);
            s.dnsNames = {s.commonName};
        });
        for (int copy = 0; copy < 5; ++copy)
            QVERIFY(
                !m_bulk.write(QStringLiteral("site%1/cert%2.pem").arg(i).arg(copy), leaf.certPem() + chain)
                     .isEmpty());
    }
}

void TestWorkspace::init()
{
    m_settings = std::make_unique<AppSettings>(std::make_unique<QSettings>(
        m_settingsDir.filePath(QStringLiteral("settings-%1.ini").arg(QTest::currentTestFunction())),
        QSettings::IniFormat));
    m_settings->setExtraTrustAnchors({m_rootFile});
    m_settings->setUseSystemTrust(false);
    m_workspace = makeWorkspace();
}

void TestWorkspace::cleanup()
{
    m_workspace.reset();
    m_settings.reset();
}

std::unique_ptr<Workspace> TestWorkspace::makeWorkspace()
{
    auto workspace = std::make_unique<Workspace>(*m_settings);
    workspace->setAsOf(fixedNow()); // nothing loaded: nothing evaluated yet
    return workspace;
}

void TestWorkspace::loadShowsTheFolder()
{
    Recorder recorder(*m_workspace);
    QVERIFY(!m_workspace->session());
    const quint64 id = m_workspace->load({m_files.path()});
    QVERIFY(id);
    QVERIFY(m_workspace->isLoading());
    QCOMPARE(m_workspace->jobs().size(), 1);
    QCOMPARE(m_workspace->jobs().first().kind, JobKind::Load);
    QCOMPARE(recorder.started.size(), 1);
    QCOMPARE(recorder.started.first().id, id);
    QCOMPARE(recorder.started.first().title, QDir::toNativeSeparators(m_files.path()));

    QVERIFY(recorder.waitFor(id));
    QCOMPARE(recorder.outcomes.at(id), JobOutcome::Done);
    QVERIFY(!m_workspace->isLoading());
    QVERIFY(m_workspace->jobs().isEmpty());
    QCOMPARE(recorder.sessionChanges, 1);
    QCOMPARE(recorder.reports, QList<bool>{true});
    // The loader reported its files, the last report being all of them.
    QVERIFY(!recorder.progress[id].isEmpty());
    QCOMPARE(recorder.progress[id].constLast(), qMakePair(qint64(2), qint64(2)));

    const InspectionReport& report = m_workspace->report();
    QCOMPARE(report.at, fixedNow());
    QCOMPARE(report.bundles.size(), 1);
    QCOMPARE(report.bundles.first().bundle.leaf.commonName(), QStringLiteral("www.example.test"));
    QCOMPARE(report.bundles.first().bundle.staples.size(), 1);
    QVERIFY2(report.bundles.first().worst == Severity::Info,
             qPrintable(codesOfBundles(report).join(QLatin1Char(','))));
    QVERIFY(m_workspace->session());
    QVERIFY(m_workspace->hasFileSession());
    QCOMPARE(m_workspace->loadedPaths(), QStringList{m_files.path()});
}

void TestWorkspace::reevaluationAsOfAnotherTime()
{
    Recorder recorder(*m_workspace);
    QVERIFY(recorder.waitFor(m_workspace->load({m_files.path()})));
    QVERIFY(!codesOfBundles(m_workspace->report()).contains(QStringLiteral("CERT_EXPIRED")));
    const auto session = m_workspace->session();

    // Four months on, the 90-day certificate has expired.
    QVERIFY(m_workspace->setAsOf(daysFrom(fixedNow(), 120)));
    QVERIFY(m_workspace->isEvaluating());
    QCOMPARE(recorder.started.constLast().kind, JobKind::Evaluate);
    QVERIFY(!recorder.started.constLast().cancellable);
    QVERIFY(!m_workspace->cancel(recorder.started.constLast().id));
    QVERIFY(recorder.waitFor(recorder.started.constLast().id));
    QCOMPARE(recorder.reports, (QList<bool>{true, false}));
    QCOMPARE(m_workspace->report().at, daysFrom(fixedNow(), 120));
    const QStringList codes = codesOfBundles(m_workspace->report());
    QVERIFY2(codes.contains(QStringLiteral("CERT_EXPIRED")), qPrintable(codes.join(QLatin1Char(','))));
    // Re-evaluation reads nothing again.
    QCOMPARE(m_workspace->session(), session);
    QCOMPARE(recorder.sessionChanges, 1);

    // Requests made while one evaluation runs collapse into one more: the last one wins.
    m_workspace->setAsOf(daysFrom(fixedNow(), 1));
    m_workspace->setAsOf(daysFrom(fixedNow(), 2));
    m_workspace->setAsOf(daysFrom(fixedNow(), 3));
    QTRY_VERIFY_WITH_TIMEOUT(!m_workspace->isEvaluating(), 20000);
    QCOMPARE(m_workspace->report().at, daysFrom(fixedNow(), 3));
    QVERIFY(!codesOfBundles(m_workspace->report()).contains(QStringLiteral("CERT_EXPIRED")));
    QCOMPARE(recorder.started.size(), 4); // the load, 120 days, 1 day, and one for 2 and 3 days
}

void TestWorkspace::cancelledLoadKeepsThePreviousSession()
{
    Recorder recorder(*m_workspace);
    QVERIFY(recorder.waitFor(m_workspace->load({m_files.path()})));
    const auto session = m_workspace->session();
    const QDateTime at = m_workspace->report().at;

    const quint64 bulk = m_workspace->load({m_bulk.path()});
    QVERIFY(m_workspace->cancel(bulk)); // before the worker read more than a file or two
    QVERIFY(!m_workspace->cancel(bulk + 1000));
    QVERIFY(recorder.waitFor(bulk));
    QCOMPARE(recorder.outcomes.at(bulk), JobOutcome::Cancelled);
    QVERIFY(!m_workspace->isLoading());
    // Nothing changed: the same session and report as before.
    QCOMPARE(m_workspace->session(), session);
    QCOMPARE(m_workspace->report().bundles.size(), 1);
    QCOMPARE(m_workspace->report().at, at);
    QCOMPARE(recorder.sessionChanges, 1);
    QCOMPARE(recorder.reports.size(), 1);
    // A cancelled load stops early: it never reported reading every file.
    for (const auto& step : recorder.progress[bulk])
        QVERIFY(step.first < step.second);
}

void TestWorkspace::newerLoadReplacesTheRunningOne()
{
    Recorder recorder(*m_workspace);
    const quint64 first = m_workspace->load({m_bulk.path()});
    const quint64 second = m_workspace->load({m_files.path()});
    QVERIFY(first != second);
    QCOMPARE(m_workspace->jobs().size(), 2); // the first still ends its current file
    QVERIFY(recorder.waitFor(second));
    QVERIFY(recorder.waitFor(first));
    QCOMPARE(recorder.outcomes.at(first), JobOutcome::Replaced);
    QCOMPARE(recorder.outcomes.at(second), JobOutcome::Done);
    QCOMPARE(recorder.reports, QList<bool>{true});
    QCOMPARE(m_workspace->report().bundles.size(), 1);
    QCOMPARE(m_workspace->loadedPaths(), QStringList{m_files.path()});
}

void TestWorkspace::loadAndServerCheckAtOnce()
{
    // A port nothing listens on: the check fails to connect, quickly.
    quint16 port = 0;
    {
        LoopbackServer probe([](Connection&) {});
        port = probe.start();
        QVERIFY(port);
    }
    ServerCheckRequest request;
    request.probe.host = QStringLiteral("127.0.0.1");
    request.probe.port = port;
    request.probe.serverName = QStringLiteral("www.example.test");
    request.probe.startTls = StartTlsProtocol::None;
    request.probe.connectTimeoutMs = request.probe.stepTimeoutMs = 3000;
    request.probe.totalTimeoutMs = 8000;

    Recorder recorder(*m_workspace);
    const quint64 load = m_workspace->load({m_files.path()});
    const quint64 check = m_workspace->checkServer(request);
    QVERIFY(m_workspace->isLoading());
    QVERIFY(m_workspace->isConnecting());
    QCOMPARE(m_workspace->jobs().size(), 2);
    QCOMPARE(recorder.started.at(1).kind, JobKind::ServerCheck);
    QCOMPARE(recorder.started.at(1).title, QStringLiteral("127.0.0.1:%1").arg(port));
    QVERIFY(recorder.waitFor(load));
    QVERIFY(recorder.waitFor(check));
    QCOMPARE(recorder.outcomes.at(load), JobOutcome::Done);
    QCOMPARE(recorder.outcomes.at(check), JobOutcome::Done);
    QTRY_VERIFY_WITH_TIMEOUT(!m_workspace->isEvaluating(), 20000);

    // Both are in the one session, whichever ended first: the files' bundle and the failed check.
    QCOMPARE(m_workspace->servers().size(), 1);
    QCOMPARE(m_workspace->serverIndexOfJob(check), 0);
    QVERIFY(m_workspace->servers().first().bundleIds.isEmpty());
    QVERIFY(m_workspace->hasFileSession());
    const InspectionReport& report = m_workspace->report();
    QCOMPARE(report.bundles.size(), 1);
    QStringList inputCodes;
    for (const Finding& f : report.inputFindings)
        inputCodes << f.code;
    QVERIFY2(inputCodes.contains(QStringLiteral("CONNECT_FAILED")),
             qPrintable(inputCodes.join(QLatin1Char(','))));
    QCOMPARE(report.at, fixedNow());
}

void TestWorkspace::customJobPlugsIn()
{
    Recorder recorder(*m_workspace);
    // Progress, a result applied on the GUI thread.
    Qt::HANDLE appliedOn = nullptr;
    Job counting;
    counting.title = QStringLiteral("count");
    counting.work = [&appliedOn](JobControl& control) {
        for (int i = 0; i <= 4; ++i)
            control.setProgress(i, 4);
        return JobResult{[&appliedOn] { appliedOn = QThread::currentThreadId(); }, {}};
    };
    const quint64 counted = m_workspace->start(std::move(counting));
    // Runs until cancelled: only cancel(id) ends it.
    std::atomic<bool> stopApplied{false};
    Job waiting;
    waiting.title = QStringLiteral("wait");
    waiting.work = [&stopApplied](JobControl& control) {
        while (!control.isCancelled())
            QThread::msleep(5);
        return JobResult{[&stopApplied] { stopApplied = true; }, {}};
    };
    const quint64 waited = m_workspace->start(std::move(waiting));
    // Fails.
    Job failing;
    failing.title = QStringLiteral("fail");
    failing.work = [](JobControl&) { return JobResult::failed(QStringLiteral("the disk is full")); };
    const quint64 failed = m_workspace->start(std::move(failing));

    QVERIFY(recorder.waitFor(counted));
    QCOMPARE(recorder.outcomes.at(counted), JobOutcome::Done);
    QCOMPARE(appliedOn, QThread::currentThreadId());
    QCOMPARE(recorder.progress[counted].constLast(), qMakePair(qint64(4), qint64(4)));
    QVERIFY(recorder.waitFor(failed));
    QCOMPARE(recorder.errors.at(failed), QStringLiteral("the disk is full"));
    QVERIFY(!recorder.outcomes.count(failed));

    QVERIFY(!recorder.ended(waited));
    QCOMPARE(m_workspace->jobs().size(), 1);
    QVERIFY(m_workspace->cancel(waited));
    QVERIFY(recorder.waitFor(waited));
    QCOMPARE(recorder.outcomes.at(waited), JobOutcome::Cancelled);
    QVERIFY2(!stopApplied, "a cancelled job's result is dropped unless it asks otherwise");
    QVERIFY(m_workspace->jobs().isEmpty());
    QCOMPARE(recorder.started.size(), 3);
    QCOMPARE(recorder.sessionChanges, 0);
}

void TestWorkspace::passwordIsAskedOnTheGuiThread()
{
    TestFolder folder;
    QVERIFY(!folder
                 .write(QStringLiteral("site.p12"),
                        PkiFactory::pkcs12(m_pki.leaf, {&m_pki.intermediate}, "s3cret"))
                 .isEmpty());
    QStringList asked;
    bool onGuiThread = true;
    m_workspace->setPasswordPrompt([&](const QString& path) -> std::optional<QString> {
        asked << path;
        onGuiThread = onGuiThread && QThread::currentThread() == qApp->thread();
        return QStringLiteral("s3cret");
    });
    Recorder recorder(*m_workspace);
    QVERIFY(recorder.waitFor(m_workspace->load({folder.path()})));
    QCOMPARE(asked.size(), 1);
    QVERIFY(asked.first().endsWith(QLatin1String("site.p12")));
    QVERIFY(onGuiThread);
    QCOMPARE(m_workspace->report().bundles.size(), 1);
    QVERIFY(!codesOfBundles(m_workspace->report()).contains(QStringLiteral("INPUT_PASSWORD_REQUIRED")));
}

void TestWorkspace::destroyedDuringALoad()
{
    // Neither hangs nor crashes, however far the worker got: right away, and after it has begun.
    for (const int waitMs : {0, 30}) {
        auto workspace = makeWorkspace();
        Recorder recorder(*workspace);
        workspace->load({m_bulk.path()});
        // And a job that only cancellation ends: the destructor must cancel it, not wait forever.
        Job endless;
        endless.work = [](JobControl& control) {
            while (!control.isCancelled())
                QThread::msleep(5);
            return JobResult{};
        };
        workspace->start(std::move(endless));
        if (waitMs)
            QTest::qWait(waitMs);
        workspace.reset();
        // Nothing is signalled once destroyed, and nothing queued arrives later.
        QTest::qWait(50);
        QVERIFY(recorder.outcomes.empty());
    }
}

void TestWorkspace::destroyedWhileAWorkerWaitsForAPassword()
{
    TestFolder folder;
    QVERIFY(!folder
                 .write(QStringLiteral("site.p12"),
                        PkiFactory::pkcs12(m_pki.leaf, {&m_pki.intermediate}, "s3cret"))
                 .isEmpty());
    int asked = 0;
    m_workspace->setPasswordPrompt([&](const QString&) -> std::optional<QString> {
        ++asked;
        return QStringLiteral("s3cret");
    });
    m_workspace->load({folder.path()});
    // No events are processed: the worker asks and waits for the GUI thread, which is busy
    // destroying the workspace. A blocking call to the GUI thread would deadlock here.
    QThread::msleep(300);
    m_workspace.reset();
    QTest::qWait(50);
    QCOMPARE(asked, 0);
}

QTEST_MAIN(TestWorkspace)
#include "tst_gui_workspace.moc"
