// The window's staple refresh end to end against the in-process test responder on 127.0.0.1:
// Refresh Staple plans off the GUI thread, the plan dialog shows what will change and changes
// nothing until Apply; Apply writes the staple, the bundle is evaluated again and the timeline
// shows the new staple beside the replaced one. Cancel changes nothing. A destination the user
// cannot change goes to `pkexec staplescope-cli apply PLAN.json` (the runner is injected, so no
// pkexec runs) or, without pkexec or polkit, to the sudo line. The PKI is made at the pinned clock.

#include "AppSettings.h"
#include "BundleListModel.h"
#include "FindingListModel.h"
#include "MainWindow.h"
#include "RefreshPlanDialog.h"
#include "RefreshResultDialog.h"
#include "SettingsDialog.h"
#include "TestClock.h"
#include "TestPki.h"
#include "TestResponder.h"
#include "TimelineWidget.h"

#include <QAction>
#include <QApplication>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeWidget>

#include <mutex>

using namespace staplescope;
using namespace staplescope::ui;
using namespace staplescope::test;

namespace {

// Planning asks the responder over loopback; applying writes a file and loads the folder again.
constexpr int kJobTimeoutMs = 30000;

QStringList codesOf(const QList<Finding>& findings)
{
    QStringList codes;
    for (const Finding& f : findings)
        codes << f.code;
    return codes;
}

QByteArray readFile(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

const TimelineLane* laneOf(const Timeline& timeline, LaneKind kind)
{
    for (const TimelineLane& lane : timeline.lanes)
        if (lane.kind == kind)
            return &lane;
    return nullptr;
}

// The dialog the window opened (open(), not exec()), once it is there.
template <typename Dialog>
Dialog* waitForDialog(QWidget* parent)
{
    Dialog* found = nullptr;
    const bool shown = QTest::qWaitFor(
        [&] {
            found = parent->findChild<Dialog*>();
            return found && found->isVisible();
        },
        kJobTimeoutMs);
    return shown ? found : nullptr;
}

// Where a test saves what the dialogs look like (STAPLESCOPE_GUI_SHOTS=folder); nothing otherwise.
void saveShot(QWidget* widget, const QString& name)
{
    const QString folder = qEnvironmentVariable("STAPLESCOPE_GUI_SHOTS");
    if (!folder.isEmpty())
        widget->grab().save(QDir(folder).filePath(name));
}

// What an injected process runner saw (it runs on the job's worker thread).
struct RecordedRun {
    std::mutex mutex;
    int calls = 0;
    QString program;
    QStringList arguments;
    bool planFileExisted = false;
    QFileDevice::Permissions planFilePermissions;
    QByteArray planJson;
};

} // namespace

class TestGuiRefresh : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void init();
    void cleanup();

    void refreshReplacesTheStaleStaple_data();
    void refreshReplacesTheStaleStaple();
    void cancelInThePlanDialogChangesNothing();
    void remedyOffersRefreshWhereTheRegistrySaysSo();
    void noResponderDisablesRefresh();
    void unwritableDestinationGoesToPkexecOrSudo_data();
    void unwritableDestinationGoesToPkexecOrSudo();
    void settingsReachThePlan();
    void processRunnerReportsWhatRan();
    void sudoLineQuotesForTheShell();

private:
    // Writes the bundle folder: the responder's leaf with the intermediate, and `staple`.
    void writeFolder(const QByteArray& staple);
    // Loads the folder and selects its bundle.
    void loadFolder();
    RefreshPlanDialog* pressRefreshAndWaitForPlan();

    TestPki m_pki;
    std::unique_ptr<TestResponder> m_responder;
    IssuedCert m_leaf;        // www.example.test, OCSP URL on the responder
    QTemporaryDir m_dir;      // settings, trust anchor
    std::unique_ptr<TestFolder> m_files;
    QString m_stapleFile;
    QString m_rootFile;
    std::unique_ptr<MainWindow> m_window;
    int m_counter = 0;
};

void TestGuiRefresh::initTestCase()
{
    QVERIFY(m_dir.isValid());
    m_rootFile = m_dir.filePath(QStringLiteral("root.pem"));
    QFile root(m_rootFile);
    QVERIFY(root.open(QIODevice::WriteOnly));
    root.write(TestPki::pem(m_pki.root));
    root.close();
    m_responder = std::make_unique<TestResponder>(m_pki);
    QVERIFY(m_responder->start());
    m_leaf = m_responder->issueLeaf();
    QVERIFY(Certificate::fromDer(m_leaf.certDer(), {}).ocspUrls().contains(m_responder->ocspUrl()));
}

void TestGuiRefresh::init()
{
    m_files = std::make_unique<TestFolder>();
    QVERIFY(m_files->isValid());
    const QString ini = m_dir.filePath(QStringLiteral("settings-%1.ini").arg(++m_counter));
    auto settings = std::make_unique<AppSettings>(std::make_unique<QSettings>(ini, QSettings::IniFormat));
    settings->setExtraTrustAnchors({m_rootFile});
    settings->setUseSystemTrust(false);
    m_window = std::make_unique<MainWindow>(std::move(settings));
    m_window->setNonInteractive(true);
    // The responder answers relative to the PKI's time; the window judges at the same moment.
    m_window->setClock(std::make_shared<FixedClock>(m_pki.now()));
    m_window->resize(1300, 850);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    m_responder->clearScenarios();
    m_responder->clearRequests();
}

void TestGuiRefresh::cleanup()
{
    if (m_files)
        QFile::setPermissions(m_files->path(QStringLiteral("www")),
                              QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    m_window.reset();
    m_files.reset();
}

void TestGuiRefresh::writeFolder(const QByteArray& staple)
{
    QVERIFY(!m_files->write(QStringLiteral("www/fullchain.pem"), TestPki::pem({&m_leaf, &m_pki.intermediate})).isEmpty());
    m_stapleFile = m_files->write(QStringLiteral("www/ocsp.der"), staple);
    QVERIFY(!m_stapleFile.isEmpty());
}

void TestGuiRefresh::loadFolder()
{
    QSignalSpy loaded(m_window.get(), &MainWindow::loadFinished);
    m_window->openPaths({m_files->path()});
    QVERIFY(loaded.wait(kJobTimeoutMs));
    const int row = m_window->bundleModel()->rowOfBundle(m_window->report().bundles.value(0).bundle.id);
    QCOMPARE(m_window->report().bundles.size(), 1);
    QVERIFY(m_window->selectBundleRow(row));
}

RefreshPlanDialog* TestGuiRefresh::pressRefreshAndWaitForPlan()
{
    auto* button = m_window->findChild<QPushButton*>(QStringLiteral("refreshStapleButton"));
    if (!button || !button->isEnabled())
        return nullptr;
    QSignalSpy shown(m_window.get(), &MainWindow::refreshPlanShown);
    QTest::mouseClick(button, Qt::LeftButton);
    if (!m_window->isRefreshing() || !shown.wait(kJobTimeoutMs))
        return nullptr;
    return waitForDialog<RefreshPlanDialog>(m_window.get());
}

void TestGuiRefresh::refreshReplacesTheStaleStaple_data()
{
    QTest::addColumn<QString>("staleCode");
    QTest::addColumn<bool>("previousCertificate");
    QTest::newRow("expired staple for this certificate") << QStringLiteral("STAPLE_EXPIRED") << false;
    QTest::newRow("staple for the previous certificate") << QStringLiteral("STAPLE_FOR_OTHER_CERT") << true;
}

void TestGuiRefresh::refreshReplacesTheStaleStaple()
{
    QFETCH(QString, staleCode);
    QFETCH(bool, previousCertificate);
    OcspSpec stale = m_pki.goodStapleSpec();
    if (!previousCertificate) {
        stale.thisUpdate = daysFrom(m_pki.now(), -10);
        stale.nextUpdate = daysFrom(m_pki.now(), -3);
    }
    // The previous certificate's staple: about TestPki's own leaf, which this folder no longer has.
    const QByteArray oldStaple = m_pki.staple(stale, previousCertificate ? &m_pki.leaf : &m_leaf);
    writeFolder(oldStaple);
    loadFolder();
    const QString bundleId = m_window->report().bundles.first().bundle.id;
    QVERIFY2(codesOf(m_window->report().bundles.first().findings).contains(staleCode),
             qPrintable(codesOf(m_window->report().bundles.first().findings).join(QLatin1Char(','))));

    RefreshPlanDialog* dialog = pressRefreshAndWaitForPlan();
    QVERIFY(dialog);
    saveShot(dialog, QStringLiteral("refresh-plan-%1.png").arg(previousCertificate ? QStringLiteral("previous") : QStringLiteral("expired")));
    // The plan: install the fetched staple over the stale one; the dialog says which file.
    QCOMPARE(dialog->plan().bundles.size(), 1);
    // A copy: the dialog deletes itself once closed.
    const BundleRefresh planned = dialog->plan().bundles.first();
    QCOMPARE(planned.outcome, RefreshOutcome::Install);
    QCOMPARE(QFileInfo(planned.destination).canonicalFilePath(), QFileInfo(m_stapleFile).canonicalFilePath());
    QCOMPARE(dialog->list()->topLevelItemCount(), 1);
    QVERIFY(dialog->list()->topLevelItem(0)->text(RefreshPlanDialog::FileColumn).contains(QStringLiteral("ocsp.der")));
    QVERIFY(dialog->applyButton()->isEnabled());
    // One OCSP request for the leaf (counted among this case's requests: init() cleared them).
    int ocspRequests = 0;
    for (const ResponderRequest& request : m_responder->requests())
        ocspRequests += request.ocspRequestDer.isEmpty() ? 0 : 1;
    QCOMPARE(ocspRequests, 1);
    // Nothing changed before Apply.
    QCOMPARE(readFile(m_stapleFile), oldStaple);

    QSignalSpy finished(m_window.get(), &MainWindow::refreshFinished);
    QTest::mouseClick(dialog->applyButton(), Qt::LeftButton);
    QVERIFY(finished.wait(kJobTimeoutMs));

    // On disk: the responder's answer for this leaf, newer than what was there.
    const QByteArray written = readFile(m_stapleFile);
    QVERIFY(written != oldStaple);
    QCOMPARE(written, planned.newStapleDer);
    const OcspStaple::ParseResult parsed = OcspStaple::fromDer(written, {m_stapleFile});
    QVERIFY2(parsed.error.isEmpty(), qPrintable(parsed.error));
    const QList<OcspSingleResponse> responses = parsed.staple.responses();
    QCOMPARE(responses.size(), 1);
    const Certificate leaf = Certificate::fromDer(m_leaf.certDer(), {});
    QVERIFY(responses.first().certId.serialMatches(leaf));
    QCOMPARE(responses.first().status, OcspCertStatus::Good);
    QVERIFY(responses.first().thisUpdate > stale.thisUpdate);

    // Evaluated again: the stale-staple finding is gone, the bundle still selected.
    const BundleReport* bundle = m_window->bundleModel()->bundleAt(m_window->currentBundleRow());
    QVERIFY(bundle);
    QCOMPARE(bundle->bundle.id, bundleId);
    QVERIFY2(!codesOf(bundle->findings).contains(staleCode), qPrintable(codesOf(bundle->findings).join(QLatin1Char(','))));
    QVERIFY(!codesOf(m_window->findingModel()->findings()).contains(staleCode));

    // The timeline: the new staple, and beside it the replaced one with its old window.
    const Timeline& timeline = m_window->timeline()->timeline();
    const TimelineLane* current = laneOf(timeline, LaneKind::Staple);
    const TimelineLane* replaced = laneOf(timeline, LaneKind::ReplacedStaple);
    QVERIFY(current);
    QVERIFY(replaced);
    QCOMPARE(current->start, responses.first().thisUpdate);
    QCOMPARE(current->state, LaneState::Ok);
    QCOMPARE(replaced->start, stale.thisUpdate);
    QCOMPARE(replaced->end, *stale.nextUpdate);
    QVERIFY(replaced->stateText.startsWith(QStringLiteral("replaced")));
    // Listed right after the staple that replaced it, and laid out as a row of the widget.
    const int replacedIndex = int(replaced - timeline.lanes.constData());
    QCOMPARE(replacedIndex, int(current - timeline.lanes.constData()) + 1);
    QVERIFY(!m_window->timeline()->laneRect(replacedIndex).isNull());
    // A re-evaluation ("as of" another time) keeps the history.
    QSignalSpy updated(m_window.get(), &MainWindow::reportUpdated);
    m_window->setAsOf(hoursFrom(m_pki.now(), 2));
    QVERIFY(updated.wait(kJobTimeoutMs));
    QVERIFY(laneOf(m_window->timeline()->timeline(), LaneKind::ReplacedStaple));
    saveShot(m_window.get(), QStringLiteral("refresh-after-%1.png").arg(previousCertificate ? QStringLiteral("previous") : QStringLiteral("expired")));
}

void TestGuiRefresh::cancelInThePlanDialogChangesNothing()
{
    OcspSpec stale = m_pki.goodStapleSpec();
    stale.thisUpdate = daysFrom(m_pki.now(), -10);
    stale.nextUpdate = daysFrom(m_pki.now(), -3);
    const QByteArray oldStaple = m_pki.staple(stale, &m_leaf);
    writeFolder(oldStaple);
    loadFolder();
    const QStringList findingsBefore = codesOf(m_window->report().bundles.first().findings);
    const QStringList filesBefore = QDir(m_files->path(QStringLiteral("www"))).entryList(QDir::Files);

    RefreshPlanDialog* dialog = pressRefreshAndWaitForPlan();
    QVERIFY(dialog);
    QCOMPARE(dialog->plan().bundles.first().outcome, RefreshOutcome::Install);
    QSignalSpy loads(m_window.get(), &MainWindow::loadFinished);
    QSignalSpy finished(m_window.get(), &MainWindow::refreshFinished);
    QTest::mouseClick(dialog->cancelButton(), Qt::LeftButton);
    QCOMPARE(finished.size(), 1);

    QVERIFY(!m_window->isRefreshing());
    QVERIFY(m_window->workspace()->jobs().isEmpty());
    QCOMPARE(readFile(m_stapleFile), oldStaple);
    QCOMPARE(QDir(m_files->path(QStringLiteral("www"))).entryList(QDir::Files), filesBefore);
    QTest::qWait(200); // a reload, had one been started, would have begun by now
    QCOMPARE(loads.size(), 0);
    QCOMPARE(codesOf(m_window->report().bundles.first().findings), findingsBefore);
    QVERIFY(!laneOf(m_window->timeline()->timeline(), LaneKind::ReplacedStaple));
    QVERIFY(m_window->workspace()->replacedStaples(m_window->report().bundles.first().bundle.id).isEmpty());
}

void TestGuiRefresh::remedyOffersRefreshWhereTheRegistrySaysSo()
{
    OcspSpec stale = m_pki.goodStapleSpec();
    stale.thisUpdate = daysFrom(m_pki.now(), -10);
    stale.nextUpdate = daysFrom(m_pki.now(), -3);
    writeFolder(m_pki.staple(stale, &m_leaf));
    loadFolder();
    auto* remedyButton = m_window->findChild<QPushButton*>(QStringLiteral("findingRefreshButton"));
    QVERIFY(remedyButton);
    // Shown exactly under findings whose typed remedy is a staple refresh.
    bool sawRefresh = false, sawOther = false;
    for (int row = 0; row < m_window->findingModel()->rowCount(); ++row) {
        QVERIFY(m_window->selectFindingRow(row));
        const bool refresh = m_window->findingModel()->findingAt(row)->remedy.kind == RemedyKind::RefreshStaple;
        QCOMPARE(remedyButton->isVisibleTo(m_window.get()), refresh);
        sawRefresh |= refresh;
        sawOther |= !refresh;
        if (refresh)
            QVERIFY(remedyButton->isEnabled());
    }
    QVERIFY(sawRefresh);
    Q_UNUSED(sawOther); // an expired staple may come alone

    // Pressing it plans the same refresh as the header's button.
    for (int row = 0; row < m_window->findingModel()->rowCount(); ++row)
        if (m_window->findingModel()->findingAt(row)->remedy.kind == RemedyKind::RefreshStaple) {
            m_window->selectFindingRow(row);
            break;
        }
    QSignalSpy shown(m_window.get(), &MainWindow::refreshPlanShown);
    QTest::mouseClick(remedyButton, Qt::LeftButton);
    QVERIFY(shown.wait(kJobTimeoutMs));
    RefreshPlanDialog* dialog = waitForDialog<RefreshPlanDialog>(m_window.get());
    QVERIFY(dialog);
    QCOMPARE(dialog->plan().bundles.size(), 1);
    QCOMPARE(dialog->plan().bundles.first().bundleId, m_window->report().bundles.first().bundle.id);
    dialog->reject();
}

void TestGuiRefresh::noResponderDisablesRefresh()
{
    // A CA without OCSP (Let's Encrypt since 2025): no AIA OCSP URL, nothing to fetch.
    const IssuedCert noOcsp = m_pki.issueLeaf([](CertSpec& spec) { spec.ocspUrls.clear(); });
    QVERIFY(!m_files->write(QStringLiteral("www/fullchain.pem"), TestPki::pem({&noOcsp, &m_pki.intermediate})).isEmpty());
    QVERIFY(!m_files->write(QStringLiteral("www/ocsp.der"), m_pki.goodStaple()).isEmpty());
    loadFolder();
    auto* button = m_window->findChild<QPushButton*>(QStringLiteral("refreshStapleButton"));
    QVERIFY(button);
    QVERIFY(!button->isEnabled());
    QVERIFY(!m_window->refreshStapleAction()->isEnabled());
    QVERIFY2(button->toolTip().contains(QStringLiteral("no OCSP URL")), qPrintable(button->toolTip()));
    QVERIFY(!m_window->refreshSelectedStaple());
    QVERIFY(!m_window->isRefreshing());
    // Refresh All Due is still offered: the plan says per bundle what it skips and why.
    QVERIFY(m_window->refreshAllDueAction()->isEnabled());
}

void TestGuiRefresh::unwritableDestinationGoesToPkexecOrSudo_data()
{
    QTest::addColumn<bool>("pkexecInstalled");
    QTest::addColumn<int>("pkexecStatus");
    QTest::addColumn<bool>("expectSudoLine");
    QTest::addColumn<bool>("planFileKept");
    QTest::addColumn<bool>("runTheCli"); // the runner runs the real `staplescope-cli apply` as pkexec would
    QTest::newRow("polkit unavailable (pkexec 127)") << true << 127 << true << true << false;
    QTest::newRow("password dialog dismissed (pkexec 126)") << true << 126 << true << true << false;
    QTest::newRow("pkexec succeeded") << true << 0 << false << false << false;
    QTest::newRow("pkexec not installed") << false << -1 << true << true << false;
    QTest::newRow("staplescope-cli apply as administrator") << true << 0 << false << false << true;
}

void TestGuiRefresh::unwritableDestinationGoesToPkexecOrSudo()
{
    QFETCH(bool, pkexecInstalled);
    QFETCH(int, pkexecStatus);
    QFETCH(bool, expectSudoLine);
    QFETCH(bool, planFileKept);
    QFETCH(bool, runTheCli);
    const QString realCli = qEnvironmentVariable("STAPLESCOPE_CLI");
    if (runTheCli && !QFileInfo(realCli).isExecutable())
        QSKIP("STAPLESCOPE_CLI does not name staplescope-cli (ctest sets it)");

    OcspSpec stale = m_pki.goodStapleSpec();
    stale.thisUpdate = daysFrom(m_pki.now(), -10);
    stale.nextUpdate = daysFrom(m_pki.now(), -3);
    const QByteArray oldStaple = m_pki.staple(stale, &m_leaf);
    writeFolder(oldStaple);
    loadFolder();

    // Root-owned /etc for a user: the folder is read-only. Root may write anyway, so the check
    // also reads the folder's mode bits the way a user would meet them.
    const QString folder = m_files->path(QStringLiteral("www"));
    QVERIFY(QFile::setPermissions(folder, QFileDevice::ReadOwner | QFileDevice::ExeOwner));
    m_window->workspace()->setWriteAccessCheck([](const QString& path) {
        const QFileInfo parent(QFileInfo(path).absolutePath());
        return userCanReplace(path) && parent.permissions().testFlag(QFileDevice::WriteOwner);
    });
    const QString cli = runTheCli ? realCli : QStringLiteral("/usr/bin/staplescope-cli");
    const QString pkexec = QStringLiteral("/usr/bin/pkexec");
    m_window->workspace()->setPrivilegedTools(pkexecInstalled ? pkexec : QString(), cli);
    auto recorded = std::make_shared<RecordedRun>();
    m_window->workspace()->setProcessRunner(
        [recorded, pkexecStatus, runTheCli, folder](const QString& program, const QStringList& arguments,
                                                    const std::atomic<bool>* cancel) {
            const std::lock_guard lock(recorded->mutex);
            ++recorded->calls;
            recorded->program = program;
            recorded->arguments = arguments;
            const QString planFile = arguments.value(2);
            recorded->planFileExisted = QFileInfo::exists(planFile);
            recorded->planFilePermissions = QFileInfo(planFile).permissions();
            recorded->planJson = readFile(planFile);
            if (runTheCli) {
                // What pkexec does once authorized: the program, as root, who may write the folder.
                QFile::setPermissions(folder, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
                return runProcess(arguments.value(0), arguments.mid(1), cancel, 60000);
            }
            ProcessRun run;
            run.started = true;
            run.exitCode = pkexecStatus;
            run.output = pkexecStatus == 127 ? QStringLiteral("Error executing command as another user: No authentication agent found.")
                                             : QString();
            return run;
        });

    RefreshPlanDialog* dialog = pressRefreshAndWaitForPlan();
    QVERIFY(dialog);
    // The dialog says the plan needs an administrator before anything happens.
    auto* privilegedLabel = dialog->findChild<QLabel*>(QStringLiteral("refreshPrivilegedLabel"));
    QVERIFY(privilegedLabel && privilegedLabel->isVisibleTo(dialog));
    QVERIFY(privilegedLabel->text().contains(QStringLiteral("ocsp.der")));
    QVERIFY(dialog->applyButton()->text().contains(QStringLiteral("Administrator")));
    saveShot(dialog, QStringLiteral("refresh-plan-privileged.png"));
    const RefreshPlan shownPlan = dialog->plan(); // the dialog deletes itself once closed

    std::optional<RefreshApplyResult> applied;
    connect(m_window->workspace(), &Workspace::refreshApplied, this,
            [&applied](const JobInfo&, const RefreshApplyResult& result) { applied = result; });
    QSignalSpy finished(m_window.get(), &MainWindow::refreshFinished);
    QTest::mouseClick(dialog->applyButton(), Qt::LeftButton);
    QVERIFY(finished.wait(kJobTimeoutMs));
    QVERIFY(applied);
    QVERIFY(applied->privileged());
    QVERIFY(!applied->install); // never in-process
    QVERIFY(!applied->planFile.isEmpty());

    if (pkexecInstalled) {
        QCOMPARE(recorded->calls, 1);
        QCOMPARE(recorded->program, pkexec);
        QCOMPARE(recorded->arguments, (QStringList{cli, QStringLiteral("apply"), applied->planFile}));
        QCOMPARE(applied->command, pkexec + QLatin1Char(' ') + cli + QStringLiteral(" apply ") + applied->planFile);
        // The plan file existed while pkexec ran, private to the user, and is the plan shown.
        QVERIFY(recorded->planFileExisted);
        QCOMPARE(recorded->planFilePermissions & (QFileDevice::ReadGroup | QFileDevice::ReadOther | QFileDevice::WriteGroup |
                                                  QFileDevice::WriteOther),
                 QFileDevice::Permissions());
        QString error;
        const auto plan = RefreshPlan::fromJson(QJsonDocument::fromJson(recorded->planJson).object(), &error);
        QVERIFY2(plan, qPrintable(error));
        QCOMPARE(plan->bundles.size(), 1);
        QCOMPARE(plan->bundles.first().outcome, RefreshOutcome::Install);
        QCOMPARE(plan->bundles.first().destination, shownPlan.bundles.first().destination);
        QCOMPARE(plan->bundles.first().newStapleDer, shownPlan.bundles.first().newStapleDer);
    } else {
        QCOMPARE(recorded->calls, 0);
        QVERIFY(applied->command.isEmpty());
    }

    QCOMPARE(QFileInfo::exists(applied->planFile), planFileKept);
    if (planFileKept) {
        QString error;
        QVERIFY2(RefreshPlan::fromJson(QJsonDocument::fromJson(readFile(applied->planFile)).object(), &error), qPrintable(error));
        QCOMPARE(QFileInfo(applied->planFile).permissions() & (QFileDevice::ReadOther | QFileDevice::ReadGroup),
                 QFileDevice::Permissions());
    }
    if (expectSudoLine) {
        QCOMPARE(applied->sudoLine, QStringLiteral("sudo ") + cli + QStringLiteral(" apply ") + applied->planFile);
        auto* result = waitForDialog<RefreshResultDialog>(m_window.get());
        QVERIFY(result);
        QCOMPARE(result->sudoLine(), applied->sudoLine);
        if (pkexecStatus == 127)
            QVERIFY(result->details().contains(QStringLiteral("No authentication agent found.")));
        saveShot(result, QStringLiteral("refresh-result-sudo-%1.png").arg(pkexecStatus));
        result->reject();
    } else {
        QVERIFY(applied->sudoLine.isEmpty());
        QVERIFY(applied->ok());
    }
    if (runTheCli) {
        // staplescope-cli apply wrote the plan's staple; the window read it back and keeps the old one as history.
        QVERIFY2(applied->run && applied->run->exitCode == 0, qPrintable(applied->run ? applied->run->output : QString()));
        QCOMPARE(readFile(m_stapleFile), shownPlan.bundles.first().newStapleDer);
        QCOMPARE(applied->changedFiles, QStringList{shownPlan.bundles.first().destination});
        QVERIFY(laneOf(m_window->timeline()->timeline(), LaneKind::ReplacedStaple));
        QVERIFY(!codesOf(m_window->report().bundles.first().findings).contains(QStringLiteral("STAPLE_EXPIRED")));
        return;
    }
    // This test's runner changed nothing: the staple is the old one and nothing is history.
    QCOMPARE(readFile(m_stapleFile), oldStaple);
    QVERIFY(applied->changedFiles.isEmpty());
    QVERIFY(!laneOf(m_window->timeline()->timeline(), LaneKind::ReplacedStaple));
    if (planFileKept)
        QFile::remove(applied->planFile);
}

void TestGuiRefresh::settingsReachThePlan()
{
    OcspSpec stale = m_pki.goodStapleSpec();
    stale.thisUpdate = daysFrom(m_pki.now(), -10);
    stale.nextUpdate = daysFrom(m_pki.now(), -3);
    writeFolder(m_pki.staple(stale, &m_leaf));
    {
        // File ▸ Settings…: the two fields, written to AppSettings when accepted.
        SettingsDialog settings(m_window->settings(), m_window.get());
        auto* reload = settings.findChild<QLineEdit*>(QStringLiteral("reloadCommandEdit"));
        auto* socket = settings.findChild<QLineEdit*>(QStringLiteral("haproxySocketEdit"));
        QVERIFY(reload && socket);
        QVERIFY(reload->text().isEmpty());
        reload->setText(QStringLiteral("  true reload-for-test "));
        socket->setText(m_dir.filePath(QStringLiteral("haproxy.sock")));
        settings.show();
        saveShot(&settings, QStringLiteral("settings.png"));
        settings.accept();
    }
    QCOMPARE(m_window->settings().refreshReloadCommand(), QStringLiteral("true reload-for-test"));
    loadFolder();
    const RefreshOptions options = m_window->workspace()->refreshOptions(true);
    QVERIFY(options.ifDue);
    QCOMPARE(options.reloadCommand, QStringLiteral("true reload-for-test"));
    QCOMPARE(options.haproxySocket, m_dir.filePath(QStringLiteral("haproxy.sock")));

    // Refresh All Due: every bundle, due ones only; the dialog names the command and socket.
    QSignalSpy shown(m_window.get(), &MainWindow::refreshPlanShown);
    m_window->refreshAllDueAction()->trigger();
    QVERIFY(shown.wait(kJobTimeoutMs));
    RefreshPlanDialog* dialog = waitForDialog<RefreshPlanDialog>(m_window.get());
    QVERIFY(dialog);
    QCOMPARE(dialog->plan().reloadCommand, QStringLiteral("true reload-for-test"));
    QCOMPARE(dialog->plan().haproxySocket, m_dir.filePath(QStringLiteral("haproxy.sock")));
    QVERIFY(dialog->afterText().contains(QStringLiteral("true reload-for-test")));
    QVERIFY(dialog->afterText().contains(QStringLiteral("haproxy.sock")));
    QCOMPARE(dialog->plan().bundles.size(), 1);
    QCOMPARE(dialog->plan().bundles.first().outcome, RefreshOutcome::Install); // expired: due
    dialog->reject();
}

void TestGuiRefresh::processRunnerReportsWhatRan()
{
    // The runner pkexec goes through, with a shell standing in for it.
    const ProcessRun done = runProcess(QStringLiteral("/bin/sh"),
                                       {QStringLiteral("-c"), QStringLiteral("printf 'applied\\033[31m\\n'; echo oops >&2; exit 2")},
                                       nullptr, 10000);
    QVERIFY(done.started);
    QCOMPARE(done.exitCode, 2);
    QVERIFY2(done.output.contains(QStringLiteral("applied\\x1b[31m")), qPrintable(done.output)); // no raw escape
    QVERIFY(done.output.contains(QStringLiteral("oops")));
    QVERIFY(done.error.isEmpty());

    const ProcessRun missing = runProcess(m_dir.filePath(QStringLiteral("no-such-program")), {}, nullptr, 10000);
    QVERIFY(!missing.started);
    QCOMPARE(missing.exitCode, -1);
    QVERIFY(!missing.error.isEmpty());

    // Cancel stops a process that would wait long (pkexec waiting for a password).
    std::atomic<bool> cancel{true};
    const ProcessRun cancelled = runProcess(QStringLiteral("/bin/sleep"), {QStringLiteral("60")}, &cancel, 120000);
    QVERIFY(cancelled.started);
    QVERIFY(cancelled.cancelled);
    QCOMPARE(cancelled.exitCode, -1);

    const ProcessRun slow = runProcess(QStringLiteral("/bin/sleep"), {QStringLiteral("60")}, nullptr, 300);
    QVERIFY(slow.timedOut);
    QCOMPARE(slow.exitCode, -1);
    QVERIFY(!slow.error.isEmpty());
}

void TestGuiRefresh::sudoLineQuotesForTheShell()
{
    QCOMPARE(sudoApplyLine(QStringLiteral("/usr/bin/staplescope-cli"), QStringLiteral("/tmp/staplescope-plan-ab12.json")),
             QStringLiteral("sudo /usr/bin/staplescope-cli apply /tmp/staplescope-plan-ab12.json"));
    QCOMPARE(sudoApplyLine(QStringLiteral("/opt/my tools/staplescope-cli"), QStringLiteral("/tmp/it's.json")),
             QStringLiteral("sudo '/opt/my tools/staplescope-cli' apply '/tmp/it'\\''s.json'"));
    QCOMPARE(shellQuoted(QStringLiteral("$(reboot)")), QStringLiteral("'$(reboot)'"));
}

QTEST_MAIN(TestGuiRefresh)
#include "tst_gui_refresh.moc"
